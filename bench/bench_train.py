"""Milliseconds per training step: the numpy trainer vs. PyTorch CPU (if installed).

    python bench/bench_train.py [--steps 30] [--batch 16] [--layers 3] [--embd 96] [--torch-python PY]

Model L3/C96/H4, context 128, batch 16, vocab 512, random tokens; both use
AdamW and gradient clipping; both on 2 threads (numpy: once with BLAS's own 2
threads, once with 2 data-parallel workers, train.DataParallel). Also checks that both
compute the same gradients from the same weights.

PyTorch is not a project dependency. If `torch` is not importable here, pass
--torch-python with an interpreter that has it (and numpy), e.g. a throwaway
venv: python3 -m venv /tmp/torchvenv && /tmp/torchvenv/bin/pip install numpy torch
(the CPU wheel is enough). Each figure is the median step time; the machine
should be otherwise idle (2 cores shared with other work give meaningless numbers).
"""

import argparse
import os
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "2")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import numpy as np

from model_export import model, train


def bench_numpy(cfg, batch, steps, workers=1, warmup=5):
    tc = train.TrainConfig(steps=steps + warmup, batch_size=batch, workers=workers)
    params = model.init_params(cfg, seed=0)
    tokens = np.random.default_rng(0).integers(0, cfg.vocab_size, size=200_000)
    times = []

    def next_batch(step, rng):
        times.append(time.perf_counter())
        x, y = train.sample_batch(tokens, batch, cfg.block_size, rng)
        return x, y, train.mean_weights(y)

    train.train(params, cfg, tc, next_batch, log=None)
    times.append(time.perf_counter())
    return 1000 * np.diff(times[warmup:])


def bench_torch(cfg, batch, steps, warmup=5):
    import torch
    from torch_reference import TorchGPT
    torch.set_num_threads(2)
    torch.manual_seed(0)
    m = TorchGPT(model.init_params(cfg, seed=0), cfg)
    opt = torch.optim.AdamW(m.parameters(), lr=1e-3, betas=(0.9, 0.99), weight_decay=0.1)
    tokens = torch.randint(0, cfg.vocab_size, (200_000,))
    times = []
    for _ in range(steps + warmup):
        times.append(time.perf_counter())
        starts = torch.randint(0, len(tokens) - cfg.block_size - 1, (batch,))
        w = torch.stack([tokens[s:s + cfg.block_size + 1] for s in starts])
        loss = m(w[:, :-1], w[:, 1:])
        opt.zero_grad(set_to_none=False)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
        opt.step()
    times.append(time.perf_counter())
    return 1000 * np.diff(times[warmup:])


def check_same_gradients(cfg):
    import torch
    from torch_reference import TorchGPT
    params = model.init_params(cfg, seed=1)
    rng = np.random.default_rng(0)
    x = rng.integers(0, cfg.vocab_size, size=(4, cfg.block_size))
    y = rng.integers(0, cfg.vocab_size, size=(4, cfg.block_size))
    tm = TorchGPT(params, cfg)
    tm(torch.tensor(x), torch.tensor(y)).backward()
    tg = tm.grads()
    out = model.forward(params, cfg, x, y)
    gflat = np.zeros_like(model.flat_of(params))
    grads = model.views(gflat, cfg)
    model.backward(params, cfg, out["cache"], grads)
    return max(float(np.abs(grads[k] - tg[k.replace(".", "_")]).max() / (np.abs(tg[k.replace(".", "_")]).max() + 1e-12))
               for k in grads)


def summary(ms):
    return f"median {np.median(ms):7.1f}  best {np.min(ms):7.1f} ms/step"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--layers", type=int, default=3)
    ap.add_argument("--embd", type=int, default=96)
    ap.add_argument("--rounds", type=int, default=2, help="alternate numpy and torch runs this many times")
    ap.add_argument("--torch-python", help="an interpreter with torch, to run the PyTorch half in")
    ap.add_argument("--only", choices=["numpy", "torch"], help=argparse.SUPPRESS)
    a = ap.parse_args()
    cfg = model.GPTConfig(vocab_size=512, n_layer=a.layers, n_embd=a.embd, n_head=4, block_size=128)
    if a.only == "torch":
        sys.path.insert(0, os.path.dirname(__file__))
        print(" ".join(f"{t:.3f}" for t in bench_torch(cfg, a.batch, a.steps)), f"{check_same_gradients(cfg):.3e}")
        return
    print(f"config {cfg}, batch {a.batch}, {model.num_params(cfg):,} parameters, numpy {np.__version__}")
    try:
        import torch  # noqa: F401
        python = sys.executable
    except ImportError:
        python = a.torch_python
    if python is None:
        print("torch not importable (try --torch-python): skipping the PyTorch comparison")
    np1, np2, pt, grad_diff = [], [], [], None
    for _ in range(a.rounds):  # interleaved, so that a busy moment hurts every contender alike
        np1 = np.r_[np1, bench_numpy(cfg, a.batch, a.steps, workers=1)]
        np2 = np.r_[np2, bench_numpy(cfg, a.batch, a.steps, workers=2)]
        if python:
            import subprocess
            out = subprocess.run([python, __file__, "--only", "torch", "--steps", str(a.steps), "--batch", str(a.batch),
                                  "--layers", str(a.layers), "--embd", str(a.embd)],
                                 capture_output=True, text=True, check=True).stdout.split()
            pt, grad_diff = np.r_[pt, [float(t) for t in out[:-1]]], float(out[-1])
    print(f"numpy, BLAS on 2 threads:      {summary(np1)}")
    print(f"numpy, 2 data-parallel workers: {summary(np2)}  (the trainer's setting)")
    if python:
        print(f"pytorch, 2 threads:            {summary(pt)}")
        print(f"ratio numpy (2 workers) / pytorch: median {np.median(np2) / np.median(pt):.2f}, "
              f"best {np.min(np2) / np.min(pt):.2f}")
        print(f"max relative gradient difference, numpy vs pytorch (float32): {grad_diff:.1e}")


if __name__ == "__main__":
    main()
