#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Independent safetensors reader (standard library + numpy only), for compatibility tests.
# Prints "meta KEY = VALUE" and "tensor NAME [dims] v0 v1 ..." lines (values as %.9g), the
# format test_safetensors / test_checkpoint --write print, so the two can be diffed.
#   read_safetensors.py FILE            dump with this reader
#   read_safetensors.py --library FILE  dump with the `safetensors` package (numpy backend)
#   read_safetensors.py --write FILE    write a file the way other tools may (header keys not
#                                       in data order, no padding, __metadata__ last), dump it
import json
import struct
import sys

import numpy as np


def fmt_meta(value):
    return "".join(chr(b) if 0x20 <= b < 0x7f else "\\x%02x" % b for b in value.encode())


def fmt_tensor(name, arr):
    dims = ", ".join(str(d) for d in arr.shape)
    vals = "".join(" %.9g" % float(v) for v in arr.reshape(-1))
    return "tensor %s [%s]%s" % (name, dims, vals)


def read(path):
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError("%s: too short" % path)
    (n,) = struct.unpack("<Q", raw[:8])
    if n > len(raw) - 8:
        raise ValueError("%s: header length %d beyond the file" % (path, n))
    header = json.loads(raw[8:8 + n].decode("utf-8"), object_pairs_hook=lambda kv: kv)
    data = raw[8 + n:]
    meta, tensors, spans = [], [], []
    for name, info in header:
        if name == "__metadata__":
            meta = info
            continue
        info = dict(info)
        if info["dtype"] != "F32":
            raise ValueError("%s: %s has dtype %s" % (path, name, info["dtype"]))
        b, e = info["data_offsets"]
        shape = info["shape"]
        if not 0 <= b <= e <= len(data) or e - b != 4 * int(np.prod(shape, dtype=np.int64)):
            raise ValueError("%s: bad offsets for %s" % (path, name))
        spans.append((b, e))
        tensors.append((name, np.frombuffer(data[b:e], dtype="<f4").reshape(shape)))
    end = 0
    for b, e in sorted(spans):
        if b != end:
            raise ValueError("%s: tensors overlap or leave a gap at byte %d" % (path, end))
        end = e
    if end != len(data):
        raise ValueError("%s: %d data bytes, tensors cover %d" % (path, len(data), end))
    return meta, tensors


def write(path):
    """A file laid out unlike modlab's own: header order differs from data order."""
    arrays = [
        ("z.first_in_data", np.arange(6, dtype="<f4").reshape(2, 3) * np.float32(0.1)),
        ("a.cube", (np.arange(24, dtype="<f4") - 12).reshape(2, 3, 4) / np.float32(7)),
        ("m.scalar", np.array(-2.5, dtype="<f4")),
        ("e.empty", np.zeros((0, 3), dtype="<f4")),
    ]
    header, blobs, off = {}, [], 0
    for name, arr in arrays:
        blob = arr.tobytes()
        header[name] = {"data_offsets": [off, off + len(blob)], "shape": list(arr.shape),
                        "dtype": "F32"}
        blobs.append(blob)
        off += len(blob)
    order = sorted(header)   # alphabetical, as serde_json writes a map
    text = "{" + ", ".join(json.dumps(k) + ": " + json.dumps(header[k]) for k in order)
    text += ', "__metadata__": {"format": "np", "by": "caf\u00e9"}}'
    raw = text.encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)) + raw + b"".join(blobs))


def main(argv):
    if len(argv) == 3 and argv[1] == "--write":
        write(argv[2])
        meta, tensors = read(argv[2])
    elif len(argv) == 3 and argv[1] == "--library":
        from safetensors import safe_open
        with safe_open(argv[2], framework="numpy") as f:
            meta = sorted((f.metadata() or {}).items())
            tensors = [(k, f.get_tensor(k)) for k in f.keys()]
    elif len(argv) == 2:
        meta, tensors = read(argv[1])
    else:
        sys.stderr.write("usage: read_safetensors.py [--library | --write] FILE\n")
        return 2
    for key, value in meta:
        print("meta %s = %s" % (key, fmt_meta(value)))
    for name, arr in tensors:
        print(fmt_tensor(name, arr))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
