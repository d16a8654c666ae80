"""Training: AdamW, learning-rate schedule, gradient clipping, the loop.

Every stage (pre-training, instruction tuning, reward model, RL) uses the same
pieces: a flat parameter buffer, a flat gradient buffer of the same layout, a
function that fills the gradient buffer and returns the loss, and `AdamW.step`.
Pre-training's function is `lm_loss_and_grads`; later stages pass their own
(loss masks, scalar heads, advantage-weighted log-likelihood) to `train`.

Determinism: all randomness comes from seeded numpy Generators, and the order
of floating-point operations is fixed, so the same inputs give bit-identical
weights on the same machine (BLAS with the same thread count).
"""

from __future__ import annotations

import ctypes
import math
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np

from model_export import model


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 1000
    batch_size: int = 16
    lr: float = 3e-3            # peak learning rate (tiny models tolerate a large one)
    min_lr_ratio: float = 0.1   # cosine decays to lr * min_lr_ratio
    warmup_steps: int = 50
    weight_decay: float = 0.1
    beta1: float = 0.9
    beta2: float = 0.99
    eps: float = 1e-8
    grad_clip: float = 1.0      # global L2 norm; 0 disables
    seed: int = 0
    eval_every: int = 100
    eval_batches: int = 8
    workers: int = 1            # data parallelism: threads that each take a slice of the batch

    def to_dict(self) -> dict:
        return asdict(self)


def lr_at(step: int, tc: TrainConfig) -> float:
    """Linear warm-up from ~0 to lr (a random init's first gradients are large
    and unreliable), then cosine decay to lr * min_lr_ratio at the last step."""
    if step < tc.warmup_steps:
        return tc.lr * (step + 1) / tc.warmup_steps
    progress = (step - tc.warmup_steps) / max(1, tc.steps - tc.warmup_steps)
    cosine = 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))
    return tc.lr * (tc.min_lr_ratio + (1.0 - tc.min_lr_ratio) * cosine)


def clip_grad_norm_(grad: np.ndarray, max_norm: float) -> float:
    """Scale the whole gradient down when its global L2 norm exceeds max_norm
    (one bad batch cannot throw the weights far). Returns the norm before clipping."""
    norm = float(np.sqrt(np.dot(grad, grad)))
    if max_norm > 0 and norm > max_norm:
        grad *= max_norm / (norm + 1e-6)
    return norm


class AdamW:
    """Adam with decoupled weight decay (Loshchilov & Hutter), over flat arrays.

    m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
    p -= lr * (m_hat / (sqrt(v_hat) + eps) + wd * mask * p)

    `decay_mask` holds 1 where weight decay applies (matrices, embeddings) and 0
    elsewhere (LayerNorm gains, biases): see model.decay_mask."""

    def __init__(self, flat: np.ndarray, decay_mask: np.ndarray, tc: TrainConfig):
        self.flat, self.tc = flat, tc
        self.decay = (decay_mask * tc.weight_decay).astype(flat.dtype)
        self.m = np.zeros_like(flat)
        self.v = np.zeros_like(flat)
        self.t = 0
        self._tmp = np.empty_like(flat)

    def step(self, grad: np.ndarray, lr: float) -> None:
        tc, m, v, tmp = self.tc, self.m, self.v, self._tmp
        self.t += 1
        m *= tc.beta1
        m += (1 - tc.beta1) * grad
        v *= tc.beta2
        np.multiply(grad, grad, out=tmp)
        tmp *= 1 - tc.beta2
        v += tmp
        # bias corrections folded into two scalars
        step_size = lr / (1 - tc.beta1 ** self.t)
        v_scale = 1.0 / math.sqrt(1 - tc.beta2 ** self.t)
        np.sqrt(v, out=tmp)
        tmp *= v_scale
        tmp += tc.eps
        np.divide(m, tmp, out=tmp)
        tmp *= step_size
        self.flat -= lr * self.decay * self.flat  # decoupled: not mixed into m and v
        self.flat -= tmp

    def state_dict(self) -> dict:
        return {"m": self.m, "v": self.v, "t": self.t}


def speed_up_malloc() -> bool:
    """Keep glibc from returning every large temporary to the OS with munmap
    and faulting it back in on the next step (a large share of a small model's
    step time):
    raise the mmap threshold to its maximum and the trim threshold far above
    the working set. A no-op off glibc."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
    ok = libc.mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024)
    ok &= libc.mallopt(M_TRIM_THRESHOLD, 1024 * 1024 * 1024)
    return bool(ok)


def blas_threads_for_this_thread(n: int) -> int | None:
    """Ask numpy's OpenBLAS to use n threads for calls made from the calling
    thread only (OpenBLAS >= 0.3.27). Returns the previous setting, or None
    where that is unavailable (then nothing changes)."""
    import glob
    import os
    libs = glob.glob(os.path.join(os.path.dirname(np.__file__), os.pardir, "numpy.libs", "*openblas*.so*"))
    try:
        fn = ctypes.CDLL(libs[0]).openblas_set_num_threads_local
    except (IndexError, OSError, AttributeError):
        return None
    return fn(n)


class DataParallel:
    """Data parallelism, as large models are trained on many GPUs, here on CPU threads.

    Each worker computes the loss and gradients of one slice of the batch with
    the same weights; the gradients are then added. numpy releases Python's
    GIL inside its loops and BLAS calls, so two threads keep two cores busy
    even in the elementwise work (GELU, softmax, LayerNorm) that one numpy call
    runs on one core. Each worker's BLAS runs single-threaded.

    The batch is a tuple of arrays sliced along axis 0, and loss_and_grads must
    be additive over slices: a weighted sum over tokens whose weights are
    normalised over the whole batch (as lm_loss_and_grads does). Slices and
    the order of the sum are fixed, so results stay bit-reproducible."""

    def __init__(self, workers: int, grad_flat: np.ndarray, config):
        from concurrent.futures import ThreadPoolExecutor
        self.workers, self.config = workers, config
        self.pool = ThreadPoolExecutor(workers, initializer=blas_threads_for_this_thread, initargs=(1,))
        self.buffers = [np.zeros_like(grad_flat) for _ in range(workers)]
        # The calling thread too (it runs evaluations between steps): two BLAS
        # threads per call while the cores are shared can be far slower than one.
        self.caller_blas_threads = blas_threads_for_this_thread(1)

    def __call__(self, loss_and_grads, params, grads_flat, batch) -> float:
        n = len(batch[0])
        bounds = [n * i // self.workers for i in range(self.workers + 1)]
        jobs = [self.pool.submit(loss_and_grads, params, self.config, model.views(buf, self.config),
                                 tuple(a[lo:hi] for a in batch))
                for buf, lo, hi in zip(self.buffers, bounds, bounds[1:])]
        losses = [job.result() for job in jobs]
        np.copyto(grads_flat, self.buffers[0])
        for buf in self.buffers[1:]:
            grads_flat += buf
        return float(sum(losses))

    def close(self):
        self.pool.shutdown()
        if self.caller_blas_threads:
            blas_threads_for_this_thread(self.caller_blas_threads)


# ----------------------------------------------------------------------------
# Data: windows of a token stream


def sample_batch(tokens: np.ndarray, batch_size: int, block_size: int, rng: np.random.Generator):
    """Random windows of the stream: inputs x and targets y = x shifted by one."""
    starts = rng.integers(0, len(tokens) - block_size - 1, size=batch_size)
    offsets = starts[:, None] + np.arange(block_size + 1)[None, :]
    window = tokens[offsets]
    return window[:, :-1], window[:, 1:]


def lm_loss_and_grads(params, config, grads, batch) -> float:
    """Next-token prediction: batch = (x, y) or (x, y, weights)."""
    out = model.forward(params, config, *batch)
    model.backward(params, config, out["cache"], grads)
    return out["loss"]


def mean_weights(targets, dtype=np.float32):
    """Loss weights that make the weighted sum the mean over all tokens of the
    batch; explicit, so that slices of the batch (DataParallel) add up to it."""
    return np.full(targets.shape, 1.0 / targets.size, dtype=dtype)


def lm_eval_loss(params, config, batches) -> float:
    return float(np.mean([model.forward(params, config, x, y)["loss"] for x, y in batches]))


def fixed_batches(tokens, n_batches, batch_size, block_size, seed):
    """The same evaluation windows every time (comparable across steps and runs)."""
    rng = np.random.default_rng(seed)
    return [sample_batch(tokens, batch_size, block_size, rng) for _ in range(n_batches)]


# ----------------------------------------------------------------------------
# The loop


@dataclass
class History:
    step: list = field(default_factory=list)       # steps at which train_loss was recorded
    train_loss: list = field(default_factory=list)
    lr: list = field(default_factory=list)
    eval_step: list = field(default_factory=list)  # steps at which evaluations ran
    eval: list = field(default_factory=list)       # dicts of named evaluation results
    probe_step: list = field(default_factory=list)  # steps at which probe ran (pretrain's abilities)
    probe: list = field(default_factory=list)
    ms_per_step: float = 0.0  # mean time of one training step (batch, forward, backward, update)
    seconds: float = 0.0      # the whole loop, evaluations included
    probe_seconds: float = 0.0  # of which the probe's calls


def time_left(seconds: float) -> str:
    """ ~ 3 min 20 s left: the time the rest of a loop should take at its pace so far."""
    m, sec = divmod(int(round(seconds)), 60)
    return f" ~{m} min {sec:02d} s left" if m else f" ~{sec} s left"


def train(params, config: model.GPTConfig, tc: TrainConfig, next_batch: Callable, loss_and_grads=lm_loss_and_grads,
          evaluate: Callable | None = None, log=sys.stderr, label="train",
          probe: Callable | None = None, probe_every: int = 0, decay_mask: np.ndarray | None = None) -> History:
    """Run tc.steps optimizer steps on params (updated in place).

    next_batch(step, rng) -> batch; loss_and_grads(params, config, grads, batch)
    -> loss fills `grads`; evaluate(step) -> dict, called every tc.eval_every
    steps and after the last one; probe(step) -> dict likewise every probe_every
    steps (a second, denser schedule; it must only read params). decay_mask:
    where weight decay applies, over the whole flat buffer (default
    model.decay_mask; the reward model's buffer also holds its head)."""
    speed_up_malloc()
    flat = model.flat_of(params)
    grad_flat = np.zeros_like(flat)
    grads = model.views(grad_flat, config)
    parallel = DataParallel(tc.workers, grad_flat, config) if tc.workers > 1 else None  # see DataParallel
    opt = AdamW(flat, model.decay_mask(config, flat.dtype) if decay_mask is None else decay_mask, tc)
    rng = np.random.default_rng(tc.seed)
    hist = History()
    t_start = time.perf_counter()
    smooth, step_seconds = None, 0.0
    for step in range(tc.steps):
        t0 = time.perf_counter()
        batch = next_batch(step, rng)
        if parallel:
            loss = parallel(loss_and_grads, params, grad_flat, batch)
        else:
            loss = loss_and_grads(params, config, grads, batch)
        norm = clip_grad_norm_(grad_flat, tc.grad_clip)
        lr = lr_at(step, tc)
        opt.step(grad_flat, lr)
        dt = time.perf_counter() - t0
        step_seconds += dt
        hist.step.append(step)
        hist.train_loss.append(loss)
        hist.lr.append(lr)
        smooth = loss if smooth is None else 0.9 * smooth + 0.1 * loss
        last = step == tc.steps - 1
        if evaluate is not None and (step % tc.eval_every == 0 or last):
            hist.eval_step.append(step)
            hist.eval.append(evaluate(step))
        if probe is not None and probe_every and (step % probe_every == 0 or last):
            t_probe = time.perf_counter()
            hist.probe_step.append(step)
            hist.probe.append(probe(step))
            hist.probe_seconds += time.perf_counter() - t_probe
        if log is not None:
            # a live line on a terminal (\r rewrites it), one line per eval_every steps in a file
            live = getattr(log, "isatty", lambda: False)()
            if last or (live and step % 10 == 0) or step % tc.eval_every == 0:
                ev = " ".join(f"{k} {v:.4f}" for k, v in hist.eval[-1].items()) if hist.eval else ""
                left = "" if last else time_left((time.perf_counter() - t_start) / (step + 1) * (tc.steps - step - 1))
                print(f"{label} step {step + 1}/{tc.steps} loss {smooth:.4f} lr {lr:.2e} |g| {norm:.2f} "
                      f"{dt * 1000:.0f} ms/step {ev}{left}", end="\r" if live and not last else "\n", file=log, flush=True)
    if parallel:
        parallel.close()
    hist.seconds = time.perf_counter() - t_start
    hist.ms_per_step = 1000 * step_seconds / max(1, tc.steps)  # optimizer steps only, evaluations excluded
    return hist


def pretrain(config: model.GPTConfig, tc: TrainConfig, train_tokens: np.ndarray, val_tokens: np.ndarray,
             log=sys.stderr, measure: Callable | None = None, measure_every: int = 0):
    """Pre-training from a seeded init on a token stream, evaluating train and
    held-out val loss on fixed windows. measure(params) -> dict (abilities.py)
    runs every measure_every steps, with the val loss beside it, into
    hist.probe. Returns (params, History)."""
    params = model.init_params(config, seed=tc.seed)
    T = config.block_size
    train_eval = fixed_batches(train_tokens, tc.eval_batches, tc.batch_size, T, seed=tc.seed + 1)
    val_eval = fixed_batches(val_tokens, tc.eval_batches, tc.batch_size, T, seed=tc.seed + 2)

    def next_batch(step, rng):
        x, y = sample_batch(train_tokens, tc.batch_size, T, rng)
        return x, y, mean_weights(y)

    val_at = {}  # step -> val loss, so that a probe at an evaluation step does not measure it twice

    def evaluate(step):
        val_at[step] = lm_eval_loss(params, config, val_eval)
        return {"train": lm_eval_loss(params, config, train_eval), "val": val_at[step]}

    def probe(step):
        val = val_at[step] if step in val_at else lm_eval_loss(params, config, val_eval)
        return {"val_loss": val, **measure(params)}

    hist = train(params, config, tc, next_batch, evaluate=evaluate, log=log, label="pretrain",
                 probe=probe if measure else None, probe_every=measure_every)
    return params, hist
