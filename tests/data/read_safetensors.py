#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Independent safetensors reader (standard library + numpy only), for compatibility tests.
# Prints "meta KEY = VALUE" and "tensor NAME [dims] v0 v1 ..." lines (values as %.9g), the
# format test_safetensors / test_checkpoint --write print, so the two can be diffed.
#   read_safetensors.py FILE            dump with this reader
#   read_safetensors.py --library FILE  dump with the `safetensors` package (numpy backend)
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
    meta, tensors, end = [], [], 0
    for name, info in header:
        if name == "__metadata__":
            meta = info
            continue
        info = dict(info)
        if info["dtype"] != "F32":
            raise ValueError("%s: %s has dtype %s" % (path, name, info["dtype"]))
        b, e = info["data_offsets"]
        shape = info["shape"]
        if b != end or e - b != 4 * int(np.prod(shape, dtype=np.int64)) or e > len(data):
            raise ValueError("%s: bad offsets for %s" % (path, name))
        end = e
        tensors.append((name, np.frombuffer(data[b:e], dtype="<f4").reshape(shape)))
    if end != len(data):
        raise ValueError("%s: %d data bytes, tensors cover %d" % (path, len(data), end))
    return meta, tensors


def main(argv):
    if len(argv) == 3 and argv[1] == "--library":
        from safetensors import safe_open
        with safe_open(argv[2], framework="numpy") as f:
            meta = sorted((f.metadata() or {}).items())
            tensors = [(k, f.get_tensor(k)) for k in f.keys()]
    elif len(argv) == 2:
        meta, tensors = read(argv[1])
    else:
        sys.stderr.write("usage: read_safetensors.py [--library] FILE\n")
        return 2
    for key, value in meta:
        print("meta %s = %s" % (key, fmt_meta(value)))
    for name, arr in tensors:
        print(fmt_tensor(name, arr))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
