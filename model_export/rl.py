"""Reinforcement learning against the reward model, with a KL penalty to the tuned model.

The policy (a copy of the tuned model) samples answers; the reward model
scores them; a KL penalty keeps the policy close to the tuned model:
reward = r - beta * sum over the answer's tokens of (log pi(token) - log pi_tuned(token)).
The update is REINFORCE with a leave-one-out baseline (RLOO; Ahmadian et al.,
2024, "Back to Basics: Revisiting REINFORCE Style Optimization for Learning
from Human Feedback in LLMs"): each prompt gets several samples, and each
sample's advantage is its reward minus the mean reward of the others. The
gradient is the model's own weighted cross-entropy backward pass, with the
advantage as each answer token's weight.
"""

from __future__ import annotations

import sys
import time
from dataclasses import asdict, dataclass

import numpy as np

from model_export import decoding, model, train
from model_export.chat import encode_prompt
from model_export.reward import rewards
from model_export.rubric import Rubric
from model_export.questions import QA


@dataclass(frozen=True)
class RLConfig:
    steps: int = 120
    prompts: int = 16            # prompts per step
    samples: int = 4             # answers sampled per prompt (RLOO baseline: the mean of the others)
    lr: float = 1e-5
    warmup_steps: int = 5
    kl_coef: float = 1.0         # beta: reward = r - beta * KL(policy || tuned) of the answer
    temperature: float = 1.0
    fake_fraction: float = 0.25  # share of RL questions about things that do not exist
    request_fraction: float = 0.25  # share of RL prompts that are requests to decline (questions.REQUESTS)
    seed: int = 0

    def to_dict(self) -> dict:
        return asdict(self)



class RL:
    """REINFORCE with a leave-one-out baseline and a KL penalty, one batch per step.

    reward_fn(questions, replies) -> array of scores (the reward model in
    the rl stage; anything in tests). Each step samples `samples` answers to
    each of `prompts` questions of equal token length, scores them, subtracts
    kl_coef * KL(policy || ref) of each answer (the sum over its tokens of
    log pi - log pi_ref, an unbiased estimate), and takes one AdamW step on
    the weighted cross-entropy whose weights are the advantages."""

    def __init__(self, policy, ref, config, tok, reward_fn, rc: RLConfig, max_new_tokens: int, workers: int = 1):
        self.policy, self.ref, self.config, self.tok, self.reward_fn = policy, ref, config, tok, reward_fn
        self.rc, self.max_new_tokens = rc, max_new_tokens
        self.flat = model.flat_of(policy)
        self.grad_flat = np.zeros_like(self.flat)
        self.grads = model.views(self.grad_flat, config)
        self.tc = train.TrainConfig(steps=rc.steps, lr=rc.lr, warmup_steps=rc.warmup_steps, weight_decay=0.0,
                                    min_lr_ratio=1.0)
        self.opt = train.AdamW(self.flat, model.decay_mask(config, self.flat.dtype), self.tc)
        self.parallel = train.DataParallel(workers, self.grad_flat, config) if workers > 1 else None
        self.rng = decoding.XorShift(rc.seed)  # the answers' tokens: the sampler every generation uses
        self.t = 0

    def sample(self, qas: list[QA]):
        """Answers (token ids, stop token included when sampled), their log-probs, and decoded replies."""
        prompts = [encode_prompt(self.tok, q.question) for q in qas]
        ids, logps = decoding.generate(self.policy, self.config, prompts, self.max_new_tokens, self.tok.eot_id,
                                       temperature=self.rc.temperature, rng=self.rng, with_logprobs=True,
                                       keep_stop=True)
        replies = [self.tok.decode([t for t in a if t != self.tok.eot_id]).strip() for a in ids]
        return prompts, ids, logps, replies

    def batch(self, prompts, ids, adv):
        """Inputs, targets and weights: advantage / number of answers on each answer token, 0 elsewhere."""
        seqs = [p + a for p, a in zip(prompts, ids)]
        x, _ = model.pad_sequences([s[:-1] for s in seqs], self.tok.eot_id)
        y, _ = model.pad_sequences([s[1:] for s in seqs], self.tok.eot_id)
        w = np.zeros(y.shape, dtype=self.flat.dtype)
        for i, (p, a) in enumerate(zip(prompts, ids)):
            w[i, len(p) - 1:len(p) - 1 + len(a)] = adv[i] / len(seqs)
        return x, y, w

    def step(self, qas: list[QA]) -> dict:
        """One update on len(qas) // samples prompts, each repeated `samples` times in a row (equal token lengths)."""
        rc, k = self.rc, self.rc.samples
        prompts, ids, logps, replies = self.sample(qas)
        seqs = [p + a for p, a in zip(prompts, ids)]
        ref_logps = model.token_logprobs(self.ref, self.config, seqs, [len(p) for p in prompts], self.tok.eot_id)
        kl = np.array([float(np.sum(np.array(lp) - rl)) for lp, rl in zip(logps, ref_logps)])
        r = np.asarray(self.reward_fn([q.question for q in qas], replies), dtype=np.float64)
        total = r - rc.kl_coef * kl
        g = total.reshape(-1, k)
        adv = (g - (g.sum(axis=1, keepdims=True) - g) / (k - 1)).reshape(-1)   # RLOO
        adv = adv / max(float(adv.std()), 0.1)   # unit scale, but never magnify mere rounding noise
        batch = self.batch(prompts, ids, adv)
        if self.parallel:
            self.parallel(train.lm_loss_and_grads, self.policy, self.grad_flat, batch)
        else:
            train.lm_loss_and_grads(self.policy, self.config, self.grads, batch)
        train.clip_grad_norm_(self.grad_flat, self.tc.grad_clip)
        self.opt.step(self.grad_flat, train.lr_at(self.t, self.tc))
        self.t += 1
        return {"reward": r, "kl": kl, "objective": total, "replies": replies, "ids": ids, "prompts": prompts,
                "logps": logps, "adv": adv}

    def close(self):
        if self.parallel:
            self.parallel.close()


def rl_train(policy, ref, rm, config, tok, pool: list[QA], rubric: Rubric, rc: RLConfig, max_new_tokens: int,
             workers: int = 1, log=sys.stderr):
    """Tune `policy` (in place) to maximise the reward model's score minus
    kl_coef * KL to `ref`. Returns the per-step curve: mean reward-model score,
    KL, penalised reward, and the rubric's mean score of the sampled answers
    (the rubric only watches: RL never sees it)."""
    rl = RL(policy, ref, config, tok, lambda qs, rs: rewards(rm, config, tok, qs, rs), rc, max_new_tokens, workers)
    rng = np.random.default_rng(rc.seed + 1)
    # prompts of equal token length share a batch (see decoding.generate); buckets drawn by size
    buckets: dict[int, list[QA]] = {}
    for q in pool:
        buckets.setdefault(len(encode_prompt(tok, q.question)), []).append(q)
    lengths = sorted(buckets)
    sizes = np.array([len(buckets[n]) for n in lengths], dtype=float)
    curve = {"step": [], "reward": [], "kl": [], "objective": [], "rubric": []}
    t0 = time.perf_counter()
    for step in range(rc.steps):
        bucket = buckets[lengths[rng.choice(len(lengths), p=sizes / sizes.sum())]]
        chosen = [bucket[i] for i in rng.choice(len(bucket), size=rc.prompts, replace=len(bucket) < rc.prompts)]
        qas = [q for q in chosen for _ in range(rc.samples)]
        out = rl.step(qas)
        rub = float(np.mean([rubric.score(q, a) for q, a in zip(qas, out["replies"])]))
        for key, v in (("reward", out["reward"].mean()), ("kl", out["kl"].mean()),
                       ("objective", out["objective"].mean()), ("rubric", rub)):
            curve[key].append(round(float(v), 4))
        curve["step"].append(step + 1)
        if log is not None and (step % 20 == 0 or step == rc.steps - 1):
            k = min(20, step + 1)
            print(f"rl step {step + 1}/{rc.steps} reward {np.mean(curve['reward'][-k:]):.3f} "
                  f"kl {np.mean(curve['kl'][-k:]):.3f} rubric {np.mean(curve['rubric'][-k:]):.3f} "
                  f"({time.perf_counter() - t0:.0f} s)", file=log, flush=True)
    rl.close()
    return curve
