#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# Independent numpy references for test_transforms_ref.c: random_affine (a forward matrix,
# inverted by numpy) and gaussian_noise (Box-Muller), from the raw 64-bit values of the
# example's stream, interpreted as the plugin's header comments document the draws.
#   tf_ref.py IN OUT   (exit 77 without numpy)
import math
import sys

try:
    import numpy as np
except ImportError:
    sys.exit(77)

f32 = np.float32


def uniform(u, lo, hi):
    # host->rng_uniform: lo + (hi - lo) * (top 24 bits / 2^24), in float32.
    x = f32((u >> 40) / 16777216.0)
    return f32(f32(lo) + (f32(hi) - f32(lo)) * x)


def round_half_away(v):
    return math.copysign(math.floor(abs(v) + 0.5), v)


def affine(head, vals):
    c, h, w, degrees, shift, fill = (int(head[0]), int(head[1]), int(head[2]),
                                     f32(head[3]), f32(head[4]), int(head[5]))
    r = [int(t) for t in head[6:9]]
    angle = float(uniform(r[0], -degrees, degrees)) * (math.pi / 180.0)
    tx = round_half_away(float(uniform(r[1], -(shift * f32(w)), shift * f32(w))))
    ty = round_half_away(float(uniform(r[2], -(shift * f32(h)), shift * f32(h))))
    img = np.array(vals, dtype=np.int64).reshape(c, h, w)
    cx, cy = (w - 1) / 2.0, (h - 1) / 2.0
    # Forward, as displayed (x right, y down): turn counter-clockwise about the centre,
    # then shift; the output samples the inverse of that map.
    ca, sa = math.cos(angle), math.sin(angle)
    fwd = (np.array([[1, 0, cx + tx], [0, 1, cy + ty], [0, 0, 1]]) @
           np.array([[ca, sa, 0], [-sa, ca, 0], [0, 0, 1]]) @
           np.array([[1, 0, -cx], [0, 1, -cy], [0, 0, 1]]))
    inv = np.linalg.inv(fwd)
    jj, ii = np.meshgrid(np.arange(w), np.arange(h))
    src = inv @ np.stack([jj.ravel(), ii.ravel(), np.ones(h * w)])
    xs, ys = src[0], src[1]
    # A source coordinate within 1e-9 of a half lands either way under rounding: "*".
    tie = (np.abs(xs - np.floor(xs) - 0.5) < 1e-9) | (np.abs(ys - np.floor(ys) - 0.5) < 1e-9)
    xi, yi = np.floor(xs + 0.5).astype(np.int64), np.floor(ys + 0.5).astype(np.int64)
    inside = (xi >= 0) & (xi < w) & (yi >= 0) & (yi < h)
    out = []
    for ch in range(c):
        plane = np.full(h * w, fill, dtype=np.int64)
        plane[inside] = img[ch][yi[inside], xi[inside]]
        out += ["*" if t else str(v) for v, t in zip(plane, tie)]
    return out


def noise(head, vals):
    n, std = int(head[0]), float(f32(head[1]))
    r = [int(t) for t in head[2:]]
    z = np.zeros(n, dtype=np.float32)
    for i in range(0, n, 2):
        u1 = ((r[i] >> 11) + 1.0) * (1.0 / 9007199254740992.0)
        u2 = (r[i + 1] >> 11) * (1.0 / 9007199254740992.0)
        rad, th = math.sqrt(-2.0 * math.log(u1)), 2.0 * math.pi * u2
        z[i] = f32(0.0 + std * rad * math.cos(th))
        if i + 1 < n:
            z[i + 1] = f32(0.0 + std * rad * math.sin(th))
    x = np.array([float(v) for v in vals], dtype=np.float32)
    return ["%.9g" % v for v in (x + z)]


def main():
    lines = open(sys.argv[1]).read().split("\n")
    out = []
    for k in range(0, len(lines) - 1, 2):
        head, vals = lines[k].split(), lines[k + 1].split()
        out.append(" ".join(affine(head[1:], vals) if head[0] == "affine"
                            else noise(head[1:], vals)))
    open(sys.argv[2], "w").write("\n".join(out) + "\n")


main()
