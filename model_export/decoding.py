"""decoding.py: choosing the next token, and the generation loop.

Every part of the build that generates text comes here: evaluation (greedy),
preference and RL sampling, the agent, schema-constrained decoding. The same
sampler, draw for draw, lives in docs/javascripts/sampling.js (the page's demos)
and, as its own compact copy, in run.py (the file a reader downloads), so one
seed gives one answer in all three (tests/test_sampling_twins.py checks it).

The sampler, for one row of logits:
  1. temperature <= 0 is greedy: the first token with the highest logit.
  2. probabilities = softmax(logits / temperature), in float64;
  3. token ids ranked by probability, highest first, ties by the lower id;
  4. top-k keeps the first k of them (0 = all); top-p then keeps the shortest
     prefix whose share of what top-k kept reaches top_p;
  5. the kept probabilities are renormalised and laid end to end in that order
     on [0, 1); a coin in [0, 1) picks the slice it falls in.
Sums run one term at a time, in the order the JavaScript loops add them, so the
two agree to the last bit except where numpy's exp and the browser's Math.exp
round differently (by about one ulp: a token could change only if a coin landed
that close to a slice's edge, or two probabilities tied that closely).
"""

from typing import NamedTuple

import numpy as np

from model_export import model

MASK64 = (1 << 64) - 1


class XorShift:
    """llama2.c's random number generator: xorshift64* (Vigna, 2016, "An
    experimental exploration of Marsaglia's xorshift generators, scrambled").

    Three shift-and-xor steps scramble a 64-bit state; the multiplication by an
    odd constant mixes its bits, and the top 32 bits of the product are the
    output. It is tiny, fast and easy to write with the same result in any
    language, which is what a demo that must replay the build needs; it is not
    for cryptography.

    The state must never be 0 (0 shifts and xors to 0 forever), so seed s
    starts the state at s + 1: every seed in [0, 2**64 - 1) works, 0 included.
    """

    def __init__(self, seed: int = 0):
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < MASK64:
            raise ValueError(f"seed must be an integer from 0 to 2**64 - 2, got {seed!r}")
        self.state = int(seed) + 1

    def next_u32(self) -> int:
        s = self.state
        s ^= s >> 12
        s ^= (s << 25) & MASK64
        s ^= s >> 27
        self.state = s
        return ((s * 0x2545F4914F6CDD1D) & MASK64) >> 32

    def random(self) -> float:
        """A float in [0, 1): the top 24 bits, exactly representable in float32 too."""
        return (self.next_u32() >> 8) / 16777216.0

    def randoms(self, n: int) -> np.ndarray:
        return np.array([self.random() for _ in range(n)], dtype=np.float64)


# ---------------------------------------------------------------------------
# The sampler. The batched helpers work on (rows, vocab) arrays; one row is a
# batch of one, so `sample` and `sample_rows` cannot disagree.


class Distribution(NamedTuple):
    """What is left to choose from: token ids in walk order and their renormalised
    probabilities. A greedy one holds the argmax with probability 1."""
    ids: np.ndarray
    probs: np.ndarray
    greedy: bool


def _check(top_k, top_p):
    if int(top_k) != top_k or top_k < 0:
        raise ValueError(f"top_k must be a whole number >= 0 (0 = all tokens), got {top_k!r}")
    if not 0 < top_p <= 1:
        raise ValueError(f"top_p must be in (0, 1], got {top_p!r}")


def _ranked(logits: np.ndarray, temperature: float):
    """Softmax of logits / temperature per row, and the ids ranked by it.
    Returns (order, probabilities in that order), both (rows, vocab)."""
    z = np.asarray(logits, dtype=np.float64)
    top = z.max(axis=-1, keepdims=True)
    if not np.isfinite(top).all():
        raise ValueError("every token is masked out (or a logit is not finite): nothing to choose from")
    e = np.exp((z - top) / temperature)                 # minus the max: no overflow
    probs = e / np.cumsum(e, axis=-1)[:, -1:]            # cumsum: added in id order, as the JS loop does
    # Equal probabilities must keep the lower id first (a stable sort). The
    # unstable sort is three times faster and gives the same order when a row
    # has no ties, so only rows with ties are sorted again, stably.
    order = np.argsort(-probs, axis=-1)
    ranked = np.take_along_axis(probs, order, axis=-1)
    tied = (ranked[:, 1:] == ranked[:, :-1]).any(axis=-1)
    if tied.any():
        order[tied] = np.argsort(-probs[tied], axis=-1, kind="stable")
        ranked[tied] = np.take_along_axis(probs[tied], order[tied], axis=-1)
    return order, ranked


def _cut(ranked_probs: np.ndarray, top_k: int, top_p: float):
    """How many ranked ids each row keeps, n (rows,), and the kept probabilities
    renormalised, (rows, k): only the first n of each row count."""
    V = ranked_probs.shape[-1]
    k = int(top_k) if 0 < top_k < V else V
    head = ranked_probs[:, :k]
    running = np.cumsum(head, axis=-1)                   # sequential sums, in rank order
    share = np.cumsum(head / running[:, -1:], axis=-1)   # each one's share of what top-k kept, accumulated
    reached = share >= top_p
    n = np.where(reached.any(axis=-1), reached.argmax(axis=-1) + 1, k)
    total = np.take_along_axis(running, (n - 1)[:, None], axis=-1)
    return n, head / total


def _walk(final: np.ndarray, n: np.ndarray, coins: np.ndarray) -> np.ndarray:
    """The rank, per row, of the slice each coin falls in: the first i < n with
    coin < final[0] + ... + final[i]. If rounding leaves the coin above the last
    edge, the last token with a nonzero probability (a masked or underflowed
    token can never be chosen)."""
    cols = np.arange(final.shape[-1])
    inside = cols[None, :] < n[:, None]
    edges = np.cumsum(final, axis=-1)                    # lo + p, one at a time, as choose() in JS
    below = ((edges <= coins[:, None]) & inside).sum(axis=-1)
    positive = ((final > 0) & inside).sum(axis=-1)       # ranked by probability: the nonzero ones come first
    return np.minimum(below, positive - 1)


def distribution(logits, temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0) -> Distribution:
    """The kept tokens of one row of logits, in the order a coin walks them (sampling.js's distribution)."""
    _check(top_k, top_p)
    logits = np.asarray(logits)
    if not temperature > 0:
        return Distribution(np.array([int(np.argmax(logits))]), np.ones(1), True)
    order, ranked = _ranked(logits[None], temperature)
    n, final = _cut(ranked, top_k, top_p)
    return Distribution(order[0, :n[0]], final[0, :n[0]], False)


def choose(dist: Distribution, coin: float) -> int:
    """The token whose slice of [0, 1) holds the coin (sampling.js's choose)."""
    if dist.greedy:
        return int(dist.ids[0])
    rank = _walk(dist.probs[None], np.array([len(dist.ids)]), np.array([coin], dtype=np.float64))
    return int(dist.ids[rank[0]])


def sample(logits, rng, temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0) -> int:
    """One token from one row of logits. rng: an XorShift (or anything whose
    random() returns a float in [0, 1)); greedy draws no coin."""
    dist = distribution(logits, temperature, top_k, top_p)
    return choose(dist, 0.0 if dist.greedy else rng.random())


def sample_rows(logits, rng, temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0) -> np.ndarray:
    """sample() on each row of logits (rows, vocab), coins drawn in row order:
    the same tokens as calling sample row by row, in a few array operations."""
    _check(top_k, top_p)
    logits = np.asarray(logits)
    if not temperature > 0:
        return logits.argmax(axis=-1)
    order, ranked = _ranked(logits, temperature)
    n, final = _cut(ranked, top_k, top_p)
    coins = np.array([rng.random() for _ in range(len(logits))], dtype=np.float64)
    rank = _walk(final, n, coins)
    return order[np.arange(len(logits)), rank]


def log_softmax(logits) -> np.ndarray:
    """log p of every token under the model itself (no temperature, no cut), in float64."""
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


# ---------------------------------------------------------------------------
# The generation loop


def generate(params, config: model.GPTConfig, prompts: list[list[int]], max_new_tokens: int, stop_id: int | None,
             *, temperature: float = 0.0, top_k: int = 0, top_p: float = 1.0, rng=None, mask_fn=None,
             with_logprobs: bool = False, keep_stop: bool = False, batch: int = 128):
    """Continue every prompt (a list of token ids) with the KV cache.

    Greedy when temperature <= 0; otherwise sample() with rng (an XorShift, say
    XorShift(seed)), one coin per token still being written, rows in prompt
    order. Prompts of equal length run as one batch: the model has no padding
    mask, so prompts of different lengths cannot share one. A batch stops when
    every row has produced stop_id, after max_new_tokens, or when the context
    window is full (at most block_size - len(prompt) new tokens).

    mask_fn(i, ids) -> boolean array over the vocabulary: the tokens prompt i
    may produce next, given the ids it has produced so far (constrained
    decoding); the rest are never chosen.
    with_logprobs: also return, for each produced token, its log-probability
    under the model's own distribution (before temperature, top-k, top-p and
    the mask): what a policy-gradient update needs.
    keep_stop: include stop_id at the end of an answer that produced it.

    Returns a list of token-id lists (and a parallel list of float lists with
    with_logprobs)."""
    if temperature > 0 and rng is None:
        raise ValueError("sampling (temperature > 0) needs an rng, e.g. decoding.XorShift(seed)")
    _check(top_k, top_p)
    for p in prompts:
        if not 0 < len(p) <= config.block_size:
            raise ValueError(f"a prompt must have 1 to {config.block_size} tokens, got {len(p)}")
    outs: list = [None] * len(prompts)
    logps: list = [None] * len(prompts)
    by_len: dict[int, list[int]] = {}
    for i, p in enumerate(prompts):
        by_len.setdefault(len(p), []).append(i)
    settings = {"temperature": temperature, "top_k": top_k, "top_p": top_p, "rng": rng, "mask_fn": mask_fn,
                "with_logprobs": with_logprobs, "keep_stop": keep_stop}
    for length in sorted(by_len):
        for s in range(0, len(by_len[length]), batch):
            chunk = by_len[length][s:s + batch]
            ids, lps = _generate_equal(params, config, prompts, chunk, max_new_tokens, stop_id, **settings)
            for i, o, lp in zip(chunk, ids, lps):
                outs[i], logps[i] = o, lp
    return (outs, logps) if with_logprobs else outs


def _generate_equal(params, config, prompts, chunk, max_new_tokens, stop_id, *, temperature, top_k, top_p, rng,
                    mask_fn, with_logprobs, keep_stop):
    """generate() for the prompts numbered `chunk`, all of one length: one batch."""
    B, P = len(chunk), len(prompts[chunk[0]])
    max_new_tokens = min(max_new_tokens, config.block_size - P)
    logits, kv = model.forward_step(params, config, np.array([prompts[i] for i in chunk], dtype=np.int64),
                                    model.empty_kv(config, B, params["wte"].dtype))
    logits = logits[:, -1]
    outs = [[] for _ in range(B)]
    logps = [[] for _ in range(B)]
    done = np.zeros(B, dtype=bool)
    for step in range(max_new_tokens):
        live = np.flatnonzero(~done)
        choice = logits
        if mask_fn is not None:
            allowed = np.ones(logits.shape, dtype=bool)
            for b in live:
                allowed[b] = mask_fn(chunk[b], outs[b])
                if not allowed[b].any():
                    raise ValueError(f"mask_fn allows no token for prompt {chunk[b]} after {outs[b]}")
            choice = np.where(allowed, logits, -np.inf)
        # finished rows are still fed a token (the batch moves together) but draw no coin
        nxt = choice.argmax(axis=-1)
        if temperature > 0:
            nxt[live] = sample_rows(choice[live], rng, temperature, top_k, top_p)
        logp = log_softmax(logits) if with_logprobs else None
        for b in live:
            t = int(nxt[b])
            done[b] = t == stop_id
            if t != stop_id or keep_stop:
                outs[b].append(t)
                if with_logprobs:
                    logps[b].append(float(logp[b, t]))
        if done.all() or step == max_new_tokens - 1:
            break
        logits, kv = model.forward_step(params, config, nxt[:, None].astype(np.int64), kv)
        logits = logits[:, -1]
    return outs, logps
