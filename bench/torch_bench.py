# SPDX-License-Identifier: MIT
# PyTorch's side of `make bench`: the issue-4 models on the same Fashion-MNIST tensors as
# modlab (the .f32 files ml_bench prep writes), with the same repetitions and output lines.
#   torch_bench.py run --model mlp|cnn --threads N --reps R --data DIR
#   torch_bench.py accuracy --model mlp --epochs E --threads N --seed S --data DIR
# Exit status 3 (and one line) when torch is not importable.
import argparse
import os
import resource
import statistics
import sys
import time

try:
    import numpy as np
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError as e:
    print(f"skip: PyTorch is not available to {sys.executable} ({e}); "
          "install Debian's python3-torch", flush=True)
    sys.exit(3)

TRAIN, TEST, PIXELS = 60000, 10000, 784
# name: (batch, steps per repetition (0 = one epoch), inference batch, batches per repetition)
SPECS = {"mlp": (128, 0, 1000, 10), "cnn": (64, 40, 1000, 2)}


def build(name):
    if name == "mlp":
        return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                             nn.Linear(128, 10))
    return nn.Sequential(
        nn.Conv2d(1, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(7 * 7 * 64, 1024), nn.ReLU(), nn.Linear(1024, 10))


def optimizer(name, model):
    if name == "mlp":
        return torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    return torch.optim.Adam(model.parameters(), lr=1e-3)


def load(data, split, n, name):
    x = np.fromfile(os.path.join(data, f"{split}_x.f32"), dtype=np.float32)
    y = np.fromfile(os.path.join(data, f"{split}_y.f32"), dtype=np.float32)
    assert x.size == n * PIXELS and y.size == n, f"{split} tensors have the wrong size"
    x = torch.from_numpy(x).view(n, PIXELS)
    if name == "cnn":
        x = x.view(n, 1, 28, 28)
    return x, torch.from_numpy(y).long()


class Runner:
    def __init__(self, a):
        torch.set_num_threads(a.threads)
        torch.manual_seed(a.seed)
        self.name, self.threads = a.model, a.threads
        self.batch, self.steps, self.ibatch, self.ibatches = SPECS[a.model]
        self.x, self.y = load(a.data, "train", TRAIN, a.model)
        self.tx, self.ty = load(a.data, "test", TEST, a.model)
        self.model = build(a.model)
        self.opt = optimizer(a.model, self.model)
        self.gen = torch.Generator().manual_seed(a.seed)
        self.order, self.pos = None, TRAIN
        self.loss_sum, self.seen = 0.0, 0

    def step(self):
        """One optimizer step on the next batch of the shuffled order; returns its size."""
        if self.pos >= TRAIN:
            self.order, self.pos = torch.randperm(TRAIN, generator=self.gen), 0
        idx = self.order[self.pos:self.pos + self.batch]
        self.pos += len(idx)
        xb, yb = self.x[idx], self.y[idx]   # the gather a DataLoader would do
        self.model.train()
        self.opt.zero_grad()
        loss = F.cross_entropy(self.model(xb), yb)
        loss.backward()
        self.opt.step()
        self.loss_sum += loss.item() * len(idx)
        self.seen += len(idx)
        return len(idx)

    def infer(self, batches, first):
        self.model.eval()
        correct = 0
        with torch.no_grad():
            for b in range(batches):
                s = (first + b * self.ibatch) % TEST
                out = self.model(self.tx[s:s + self.ibatch])
                correct += int((out.argmax(1) == self.ty[s:s + self.ibatch]).sum())
        return correct


def run(a):
    r = Runner(a)
    steps = r.steps or (TRAIN + r.batch - 1) // r.batch
    for _ in range(5):
        r.step()
    r.infer(1, 0)
    train, infer, cpu = [], [], []
    for rep in range(a.reps):
        if not r.steps:
            r.pos = TRAIN   # a repetition is exactly one fresh epoch
        n, t0, c0 = 0, time.perf_counter(), time.process_time()
        for _ in range(steps):
            n += r.step()
        train.append(n / (time.perf_counter() - t0))
        cpu.append(n / (time.process_time() - c0))
        t0 = time.perf_counter()
        r.infer(r.ibatches, rep * r.ibatches * r.ibatch)
        infer.append(r.ibatches * r.ibatch / (time.perf_counter() - t0))
        print(f"rep side=torch model={r.name} threads={r.threads} rep={rep + 1} "
              f"train_sps={train[-1]:.0f} infer_sps={infer[-1]:.0f} "
              f"train_cpu_sps={cpu[-1]:.0f}", flush=True)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"result side=torch model={r.name} threads={r.threads} "
          f"train_reps={','.join(f'{v:.0f}' for v in train)} "
          f"infer_reps={','.join(f'{v:.0f}' for v in infer)} "
          f"train_sps={statistics.median(train):.0f} infer_sps={statistics.median(infer):.0f} "
          f"rss_kb={rss} loss={r.loss_sum / max(r.seen, 1):.4f} "
          f"train_cpu_sps={statistics.median(cpu):.0f}", flush=True)


def accuracy(a):
    r = Runner(a)
    t0 = time.perf_counter()
    for _ in range(a.epochs * ((TRAIN + r.batch - 1) // r.batch)):
        r.step()
    secs = time.perf_counter() - t0
    correct = r.infer(TEST // r.ibatch, 0)
    print(f"accuracy side=torch model={r.name} epochs={a.epochs} seed={a.seed} "
          f"test_acc={correct / TEST:.4f} train_s={secs:.1f}", flush=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("cmd", choices=["run", "accuracy", "check"])
    p.add_argument("--model", default="mlp", choices=sorted(SPECS))
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--data", default="bench/out/data")
    a = p.parse_args()
    if a.cmd == "check":   # the imports above succeeded
        print(f"torch {torch.__version__}")
    elif a.cmd == "run":
        run(a)
    else:
        accuracy(a)


if __name__ == "__main__":
    main()
