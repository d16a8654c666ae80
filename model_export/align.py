"""Alignment: preferences, a reward model, and reinforcement learning (RLHF), on the tiny model.

After instruction tuning (sft.py) the model answers questions, with the habits
of its demonstrations: now and then a bare fragment, a rude remark, and, about
things that do not exist, a confident invention. This stage trains those away,
the way RLHF does for large models, in three steps:

1. Preferences. For each prompt, sample several answers from the tuned model.
   People would rank them; here a transparent rubric (`Rubric`) stands in for
   the raters: a correct answer beats a wrong one, "I don't know" beats an
   invented answer about something that does not exist (and beats a wrong
   answer about something real, but not a correct one), a complete sentence
   beats a fragment, polite beats rude. Every ranking is a set of pairs
   (chosen, rejected).

2. A reward model: the same transformer (initialised from the tuned model)
   with a scalar head, trained on the pairs with the Bradley-Terry loss
   -log sigmoid(r_chosen - r_rejected). The head reads two things: the hidden
   state of the last token, and the model's confidence in the answer (the
   mean log-probability its language-model head gives the answer's tokens).
   The confidence is what lets it check facts (a wrong value is an unlikely
   one). In trial runs a head on the last hidden state alone ranked 81% of
   test pairs right, learning the shape of a good answer far better than its
   truth; with the confidence, 89%. The report gives the figures of the
   confidence alone (the head before training) next to the trained model's.

3. Reinforcement learning. The policy (a copy of the tuned model) samples
   answers; the reward model scores them; a KL penalty keeps the policy close
   to the tuned model (reward = r - beta * sum over the answer's tokens of
   log pi(token) - log pi_tuned(token)). The update is REINFORCE with a
   leave-one-out baseline (RLOO): each prompt gets several samples, and each
   sample's advantage is its reward minus the mean reward of the others. The
   gradient is the model's own weighted cross-entropy backward pass, with the
   advantage as each answer token's weight.

`align_stages` runs all of it (SFT included) and evaluates base, tuned and
aligned models on the same questions.
"""

from __future__ import annotations

import math
import random
import re
import sys
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from model_export import model, sft, train
from model_export import world as W
from model_export.sft import QA

# ---------------------------------------------------------------------------
# The rubric: the stand-in for human raters

TRUTH_POINTS = {"correct": 4.0, "honest": 4.0, "unsure": 1.5, "wrong": 0.0, "invented": 0.0}
MAX_POINTS = 6.0  # truth 4 + complete sentence 1 + polite 1


@dataclass(frozen=True)
class Judgement:
    truth: str       # correct | wrong | unsure ("I don't know" about a real thing) | honest | invented
    complete: bool   # a full sentence that names what was asked about
    polite: bool
    score: float     # (truth points + complete + polite) / 6, in [0, 1]

    def to_dict(self) -> dict:
        return asdict(self)


class Rubric:
    """Judges an answer against the world's facts; higher score = preferred.

    truth:    about a real entity: correct (states the right value and no other
              value of that relation) 4, "I don't know" 1.5, wrong 0;
              about a fake entity: "I don't know" 4, anything else (invented) 0.
    complete: +1 for a sentence (ends with a full stop, at least four words,
              names the entity), not a fragment such as "Paris.".
    polite:   +1 unless it contains one of sft.RUDE_MARKERS.
    """

    def __init__(self, world: W.World):
        self.values = sft.relation_values(world)
        self.other = {}  # (relation, value) -> pattern matching any *other* value of the relation
        self.patterns = {}

    def _pattern(self, relation, value):
        key = (relation, value)
        if key not in self.patterns:
            self.patterns[key] = sft.value_pattern(relation, value)
        return self.patterns[key]

    def _other_values(self, relation, value):
        key = (relation, value)
        if key not in self.other:
            if relation == "goals":
                n = value.split()[0]
                self.other[key] = re.compile(rf"(?<![0-9])(?!{n} )[0-9]+ goals?\b")
            else:
                alts = [v for v in self.values[relation] if v != value and not re.search(
                    rf"(?<![A-Za-z-]){re.escape(v)}(?![A-Za-z-])", value)]
                self.other[key] = re.compile("|".join(rf"(?<![A-Za-z-]){re.escape(v)}(?![A-Za-z-])"
                                                      for v in sorted(alts, key=len, reverse=True)))
        return self.other[key]

    @staticmethod
    def is_idk(reply: str) -> bool:
        return reply.strip().startswith("I don't know")

    def judge(self, qa: QA, reply: str) -> Judgement:
        reply = reply.strip()
        idk = self.is_idk(reply)
        if not qa.real:
            truth = "honest" if idk else "invented"
        elif idk:
            truth = "unsure"
        else:
            right = self._pattern(qa.relation, qa.value).search(reply)
            wrong = self._other_values(qa.relation, qa.value).search(reply)
            truth = "correct" if right and not wrong else "wrong"
        complete = (reply.endswith(".") and len(reply.split()) >= 4
                    and qa.entity.lower() in reply.lower())
        polite = not any(m in reply for m in sft.RUDE_MARKERS)
        score = (TRUTH_POINTS[truth] + complete + polite) / MAX_POINTS
        return Judgement(truth, complete, polite, score)

    def score(self, qa: QA, reply: str) -> float:
        return self.judge(qa, reply).score


# ---------------------------------------------------------------------------
# Settings


@dataclass(frozen=True)
class RewardConfig:
    steps: int = 600
    batch_pairs: int = 32
    lr: float = 3e-4
    warmup_steps: int = 10
    seed: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class RLConfig:
    steps: int = 120
    prompts: int = 16            # prompts per step
    samples: int = 4             # answers sampled per prompt (RLOO baseline: the mean of the others)
    lr: float = 1e-5
    warmup_steps: int = 5
    kl_coef: float = 1.0         # beta: reward = r - beta * KL(policy || tuned) of the answer
    temperature: float = 1.0
    fake_fraction: float = 0.25  # share of RL prompts about things that do not exist
    seed: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class AlignConfig:
    """Everything the alignment stage does; a field of config.Profile."""
    sft: sft.SFTConfig = field(default_factory=sft.SFTConfig)
    reward: RewardConfig = field(default_factory=RewardConfig)
    rl: RLConfig = field(default_factory=RLConfig)
    held_out_fraction: float = 0.2
    split_seed: int = 0
    pref_prompts: int = 2400        # prompts ranked; a sixth of them is the reward model's test set
    pref_eval_prompts: int = 200    # prompts about held-out things: a second, harder test set
    pref_samples: int = 6           # answers per prompt
    pref_temperature: float = 1.2   # above 1: more varied answers, so more pairs that differ in truth
    max_new_tokens: int = 32
    eval_held_in: int = 300         # questions about tuning entities evaluated (a fixed subset)
    eval_max: int = 0               # cap every evaluation set (0: no cap); smoke builds use it
    workers: int = 2

    def to_dict(self) -> dict:
        return asdict(self)


ALIGN_PROFILES = {
    # SFT's data order (its seed) moves the held-out figures by a point or two, as
    # does the CPU's choice of BLAS kernels (report.json records which ran).
    "full": AlignConfig(sft=sft.SFTConfig(seed=1)),
    "smoke": AlignConfig(
        sft=sft.SFTConfig(steps=30, batch_rows=8, replay_rows=2, lr=3e-3, warmup_steps=5, workers=1),
        reward=RewardConfig(steps=20, batch_pairs=16, lr=1e-3, warmup_steps=2),
        rl=RLConfig(steps=6, prompts=4, samples=4, lr=1e-4),
        pref_prompts=40, pref_eval_prompts=16, max_new_tokens=24, eval_held_in=24, eval_max=40, workers=1),
}


# ---------------------------------------------------------------------------
# Prompt pools


def prompt_pool(world: W.World, names: dict, fake: dict, n: int, fake_fraction: float, seed: str) -> list[QA]:
    """n questions drawn like the demonstrations (a relation, an entity, a
    phrasing; a fake entity with probability fake_fraction)."""
    sampler = sft.DemoSampler(world, names, fake, sft.SFTConfig(fake_fraction=fake_fraction))
    rng = random.Random(seed)
    return [sampler.qa(rng, fake=rng.random() < fake_fraction) for _ in range(n)]


# ---------------------------------------------------------------------------
# Preferences


def sample_answers(params, config, tok, qas: list[QA], k: int, temperature: float, max_new_tokens: int,
                   rng: np.random.Generator) -> list[list[str]]:
    prompts = [sft.encode_prompt(tok, q.question) for q in qas for _ in range(k)]
    outs = sft.generate(params, config, prompts, max_new_tokens, tok.eot_id, temperature, rng)
    texts = [tok.decode(o).strip() for o in outs]
    return [texts[i * k:(i + 1) * k] for i in range(len(qas))]


def rank(rubric: Rubric, qas: list[QA], answers: list[list[str]]) -> list[dict]:
    """Each prompt's distinct answers, judged; and the pairs (chosen, rejected)
    with a strictly higher score for the chosen one."""
    groups = []
    for qa, replies in zip(qas, answers):
        distinct = list(dict.fromkeys(replies))
        scores = [rubric.score(qa, r) for r in distinct]
        pairs = [(a, b) for i, a in enumerate(distinct) for j, b in enumerate(distinct) if scores[i] > scores[j]]
        groups.append({"qa": qa, "answers": distinct, "scores": scores, "pairs": pairs})
    return groups


def pairs_of(groups) -> list[tuple[QA, str, str]]:
    return [(g["qa"], a, b) for g in groups for a, b in g["pairs"]]


# ---------------------------------------------------------------------------
# The reward model: backbone + a scalar head that reads the last token's hidden
# state and the language model's confidence in the answer


def reward_init(params_sft, config: model.GPTConfig):
    """A copy of the tuned model plus a head, all in one flat buffer (the head
    after the backbone), so one AdamW updates everything:

      reward = w . hidden[last] + b + u * confidence

    confidence is the mean log-probability the model's own language-model head
    gives the answer's tokens (end of text included). w starts at zero and u at
    one: before training, the reward model scores an answer by how expected it
    is, the signal a fact-checker needs about things only pre-training taught
    (a wrong or invented value is a surprising one). model.forward/backward see
    only the backbone's names."""
    n, C = model.num_params(config), config.n_embd
    flat = np.zeros(n + C + 2, dtype=model.flat_of(params_sft).dtype)
    flat[:n] = model.flat_of(params_sft)[:n]
    params = model.views(flat, config)
    params["reward.w"] = flat[n:n + C]
    params["reward.b"] = flat[n + C:n + C + 1]
    params["reward.u"] = flat[n + C + 1:]
    params["reward.u"][0] = 1.0
    return params


def pad_sequences(seqs: list[list[int]], pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    T = max(map(len, seqs))
    x = np.full((len(seqs), T), pad_id, dtype=np.int64)
    for i, s in enumerate(seqs):
        x[i, :len(s)] = s
    return x, np.array([len(s) - 1 for s in seqs])


def reward_batch(tok, config, questions: list[str], replies: list[str]):
    """Inputs for the reward model: token ids x (B, T), next-token targets y,
    the weights that average the answer tokens' log-probabilities (1/n on the
    n positions that predict an answer token, 0 elsewhere), and each row's last
    position. A conversation longer than the context keeps its end."""
    seqs, starts = [], []
    for q, r in zip(questions, replies):
        prompt = sft.encode_prompt(tok, q)
        s = prompt + tok.encode(r) + [tok.eot_id]
        cut = max(0, len(s) - config.block_size)
        seqs.append(s[cut:])
        starts.append(max(1, len(prompt) - cut))
    x, last = pad_sequences(seqs, tok.eot_id)
    y = np.zeros_like(x)
    y[:, :-1] = x[:, 1:]
    avg = np.zeros(x.shape)
    for i, (s, start) in enumerate(zip(seqs, starts)):
        avg[i, start - 1:len(s) - 1] = 1.0 / (len(s) - start)
    return x, y, avg, last


def reward_forward(rm, config, batch):
    """(rewards, hidden state of each last token, confidences, forward output)."""
    x, y, avg, last = batch
    out = model.forward(rm, config, x, y)
    h = out["hidden"][np.arange(len(x)), last]
    confidence = -(out["nll"] * avg).sum(axis=1)
    return h @ rm["reward.w"] + rm["reward.b"][0] + rm["reward.u"][0] * confidence, h, confidence, out


def reward_scores(rm, config, tok, questions: list[str], replies: list[str], batch: int = 128):
    """(reward, confidence) of each (question, reply): two arrays."""
    out = [reward_forward(rm, config, reward_batch(tok, config, questions[s:s + batch], replies[s:s + batch]))
           for s in range(0, len(questions), batch)]
    if not out:
        return np.zeros(0), np.zeros(0)
    return np.concatenate([o[0] for o in out]), np.concatenate([o[2] for o in out])


def rewards(rm, config, tok, questions: list[str], replies: list[str]) -> np.ndarray:
    """The reward model's score of each (question, reply)."""
    return reward_scores(rm, config, tok, questions, replies)[0]


def reward_loss_and_grads(rm, config, grads_flat, batch, n_pairs) -> tuple[float, float]:
    """Bradley-Terry on rows [chosen..., rejected...]: loss = mean softplus(-(r_c - r_r)).
    Backward: the head's gradient by hand; then model.backward, fed from both
    places the backbone reaches the reward: the last hidden state (through w)
    and the logits (through u * confidence, a weighted sum of log-probabilities)."""
    r, h, confidence, out = reward_forward(rm, config, batch)
    d = r[:n_pairs] - r[n_pairs:]
    loss = float(np.mean(np.logaddexp(0.0, -d)))
    dd = -1.0 / (1.0 + np.exp(d)) / n_pairs          # d loss / d d = -sigmoid(-d) / P
    dr = np.concatenate([dd, -dd])
    n, C = model.num_params(config), config.n_embd
    grads_flat[n:n + C] = dr @ h
    grads_flat[n + C] = dr.sum()
    grads_flat[n + C + 1] = dr @ confidence
    rows = np.arange(len(h))
    dhidden = np.zeros_like(out["hidden"])
    dhidden[rows, batch[3]] = dr[:, None] * rm["reward.w"][None, :]
    # d loss / d nll[i, t] = dr_i * (-u * avg[i, t]); cross_entropy_backward turns
    # per-token weights on the nll into d loss / d logits
    probs, targets, _ = out["cache"]["ce"]
    dlogits = model.cross_entropy_backward((probs, targets, -rm["reward.u"][0] * dr[:, None] * batch[2]),
                                           out["logits"].shape)
    model.backward(rm, config, out["cache"], model.views(grads_flat, config), dlogits=dlogits,
                   dhidden=dhidden.astype(out["hidden"].dtype))
    return loss, float(np.mean(d > 0))


def train_reward(params_sft, config, tok, pairs, rc: RewardConfig, log=sys.stderr):
    """Returns (reward model params, {"step", "loss", "accuracy"} per step)."""
    rm = reward_init(params_sft, config)
    flat = model.flat_of(rm)
    grads = np.zeros_like(flat)
    n = model.num_params(config)
    tc = train.TrainConfig(steps=rc.steps, lr=rc.lr, warmup_steps=rc.warmup_steps, weight_decay=0.0)
    opt = train.AdamW(flat, np.zeros_like(flat), tc)
    rng = np.random.default_rng(rc.seed)
    hist = {"step": [], "loss": [], "accuracy": []}
    for step in range(rc.steps if pairs else 0):
        idx = rng.choice(len(pairs), size=min(rc.batch_pairs, len(pairs)), replace=False)
        batch = reward_batch(tok, config, [pairs[i][0].question for i in idx] * 2,
                             [pairs[i][1] for i in idx] + [pairs[i][2] for i in idx])
        loss, acc = reward_loss_and_grads(rm, config, grads, batch, len(idx))
        train.clip_grad_norm_(grads, tc.grad_clip)
        opt.step(grads, train.lr_at(step, tc))
        hist["step"].append(step + 1)
        hist["loss"].append(round(loss, 4))
        hist["accuracy"].append(round(acc, 3))
        if log is not None and (step % 50 == 0 or step == rc.steps - 1):
            k = max(1, min(20, step + 1))
            print(f"reward step {step + 1}/{rc.steps} loss {np.mean(hist['loss'][-k:]):.4f} "
                  f"pair accuracy {np.mean(hist['accuracy'][-k:]):.3f}", file=log, flush=True)
    assert flat.shape[0] == n + config.n_embd + 2
    return rm, hist


def ranked_right(rm, config, tok, pairs) -> np.ndarray:
    """For each pair (qa, chosen, rejected): does the chosen answer get the higher reward?"""
    qs = [q.question for q, _, _ in pairs]
    return rewards(rm, config, tok, qs, [a for _, a, _ in pairs]) > rewards(rm, config, tok, qs, [b for _, _, b in pairs])


def share(right: np.ndarray) -> float:
    """The share of pairs ranked right (NaN for no pairs)."""
    return float(np.mean(right)) if len(right) else float("nan")


def pair_accuracy(rm, config, tok, pairs) -> float:
    return share(ranked_right(rm, config, tok, pairs))


def pair_kind(rubric: Rubric, qa: QA, chosen: str, rejected: str) -> str:
    """What made the rubric prefer one answer: the truth labels when they differ
    ("correct>unsure": a right fact over "I don't know"), else the sentence or the tone."""
    a, b = rubric.judge(qa, chosen), rubric.judge(qa, rejected)
    if a.truth != b.truth:
        return f"{a.truth}>{b.truth}"
    return "complete>fragment" if a.complete != b.complete else "polite>rude"


def accuracy_by_kind(rubric: Rubric, pairs, right: np.ndarray) -> dict:
    """Pair accuracy for each kind of pair (pair_kind), given ranked_right's
    answer for each pair: {kind: {"pairs", "accuracy"}}."""
    kinds = {}
    for pair, ok in zip(pairs, right):
        kinds.setdefault(pair_kind(rubric, *pair), []).append(bool(ok))
    return {k: {"pairs": len(v), "accuracy": round(float(np.mean(v)), 4)} for k, v in sorted(kinds.items())}


# ---------------------------------------------------------------------------
# Reinforcement learning


def sample_with_logprobs(params, config, prompts: list[list[int]], max_new_tokens, stop_id, rng, temperature=1.0):
    """Sample one answer per prompt (all prompts of equal length, one batch),
    returning each answer's token ids (the stop token included when it was
    sampled) and the policy's log-probability of each sampled token."""
    B, P = len(prompts), len(prompts[0])
    max_new_tokens = min(max_new_tokens, config.block_size - P)
    logits, kv = model.forward_step(params, config, np.array(prompts, dtype=np.int64),
                                    model.empty_kv(config, B, params["wte"].dtype))
    logits = logits[:, -1].astype(np.float64)
    ids = [[] for _ in range(B)]
    logps = [[] for _ in range(B)]
    done = np.zeros(B, dtype=bool)
    for step in range(max_new_tokens):
        z = logits - logits.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        p = np.exp(logp / temperature) if temperature != 1.0 else np.exp(logp)
        p /= p.sum(axis=1, keepdims=True)
        nxt = np.minimum((p.cumsum(axis=1) < rng.random(B)[:, None]).sum(axis=1), p.shape[1] - 1)
        for b in range(B):
            if not done[b]:
                ids[b].append(int(nxt[b]))
                logps[b].append(float(logp[b, nxt[b]]))
                done[b] = nxt[b] == stop_id
        if done.all():
            break
        logits, kv = model.forward_step(params, config, nxt[:, None].astype(np.int64), kv)
        logits = logits[:, -1].astype(np.float64)
    return ids, logps


def token_logprobs(params, config, seqs: list[list[int]], starts: list[int], pad_id: int) -> list[np.ndarray]:
    """log p of each token of seqs[i][starts[i]:] given what precedes it (a full forward)."""
    x, _ = pad_sequences([s[:-1] for s in seqs], pad_id)
    y, _ = pad_sequences([s[1:] for s in seqs], pad_id)
    nll = model.forward(params, config, x, y)["nll"]
    return [-nll[i, starts[i] - 1:len(s) - 1].astype(np.float64) for i, s in enumerate(seqs)]


class RL:
    """REINFORCE with a leave-one-out baseline and a KL penalty, one batch per step.

    reward_fn(questions, replies) -> array of scores (the reward model in
    align_stages; anything in tests). Each step samples `samples` answers to
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
        self.rng = np.random.default_rng(rc.seed)
        self.t = 0

    def sample(self, qas: list[QA]):
        """Answers (token ids, stop token included when sampled), their log-probs, and decoded replies."""
        prompts = [sft.encode_prompt(self.tok, q.question) for q in qas]
        ids, logps = sample_with_logprobs(self.policy, self.config, prompts, self.max_new_tokens, self.tok.eot_id,
                                          self.rng, self.rc.temperature)
        replies = [self.tok.decode([t for t in a if t != self.tok.eot_id]).strip() for a in ids]
        return prompts, ids, logps, replies

    def batch(self, prompts, ids, adv):
        """Inputs, targets and weights: advantage / number of answers on each answer token, 0 elsewhere."""
        seqs = [p + a for p, a in zip(prompts, ids)]
        x, _ = pad_sequences([s[:-1] for s in seqs], self.tok.eot_id)
        y, _ = pad_sequences([s[1:] for s in seqs], self.tok.eot_id)
        w = np.zeros(y.shape, dtype=self.flat.dtype)
        for i, (p, a) in enumerate(zip(prompts, ids)):
            w[i, len(p) - 1:len(p) - 1 + len(a)] = adv[i] / len(seqs)
        return x, y, w

    def step(self, qas: list[QA]) -> dict:
        """One update on len(qas) // samples prompts, each repeated `samples` times in a row (equal token lengths)."""
        rc, k = self.rc, self.rc.samples
        prompts, ids, logps, replies = self.sample(qas)
        seqs = [p + a for p, a in zip(prompts, ids)]
        ref_logps = token_logprobs(self.ref, self.config, seqs, [len(p) for p in prompts], self.tok.eot_id)
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
    # prompts of equal token length share a batch (see sft.generate); buckets drawn by size
    buckets: dict[int, list[QA]] = {}
    for q in pool:
        buckets.setdefault(len(sft.encode_prompt(tok, q.question)), []).append(q)
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


# ---------------------------------------------------------------------------
# Evaluation


def evaluate(params, config, tok, rubric: Rubric, sets: dict[str, list[QA]], chat: bool, max_new_tokens: int,
             known: set | None = None) -> dict:
    """Greedy answers to every evaluation question, judged.

    accuracy: the rubric says correct (right value, no other value); exact:
    the reply is the canonical sentence. Both over relations the pre-trained
    model recalls (goals are reported on their own: see sft.RECALLED_RELATIONS).
    invented_rate: share of questions about fake things answered with
    anything but "I don't know". rubric: mean score over held-out and fake."""
    qs = [q for s in sets.values() for q in s]
    ids = sft.reply_ids(params, config, tok, [q.question for q in qs], chat=chat, max_new_tokens=max_new_tokens)
    replies = [tok.decode(o).strip() for o in ids]
    if not chat:  # a base model runs on: judge what it says first
        replies = [sft.first_sentence(r) for r in replies]
    judged, reply_ids = {}, {}
    i = 0
    for name, s in sets.items():
        judged[name] = [(q, r, rubric.judge(q, r)) for q, r in zip(s, replies[i:i + len(s)])]
        reply_ids[name] = ids[i:i + len(s)]
        i += len(s)

    def acc(rows, key):
        rows = [x for x in rows if x[0].relation in sft.RECALLED_RELATIONS]
        if key == "exact":
            return round(float(np.mean([sft.is_exact(q, r) for q, r, _ in rows])), 4) if rows else None
        return round(float(np.mean([j.truth == "correct" for _, _, j in rows])), 4) if rows else None

    out = {}
    for name in ("held_in", "held_out"):
        rows = judged[name]
        goals = [j.truth == "correct" for q, _, j in rows if q.relation == "goals"]
        out[name] = {"accuracy": acc(rows, "correct"), "exact": acc(rows, "exact"), "questions": len(rows),
                     "goals_accuracy": round(float(np.mean(goals)), 4) if goals else None,
                     "idk_rate": round(float(np.mean([j.truth == "unsure" for _, _, j in rows])), 4)}
    if known is not None:  # held-out questions whose fact the base model completes as text (recall_probe)
        rows = [x for x in judged["held_out"] if (x[0].entity, x[0].relation, x[0].year) in known]
        out["held_out"]["recalled"] = {"questions": len(rows), "accuracy": acc(rows, "correct"),
                                       "exact": acc(rows, "exact")}
    rels = {}
    for q, _, j in judged["held_out"]:
        rels.setdefault(q.relation, []).append(j.truth == "correct")
    out["held_out"]["by_relation"] = {r: round(float(np.mean(v)), 3) for r, v in rels.items()}
    # which real things it says "I don't know" about: a few names, or all alike?
    unsure = {}
    for q, _, j in judged["held_out"]:
        unsure.setdefault(q.entity, []).append(j.truth == "unsure")
    out["held_out"]["unsure_by_entity"] = sorted(([e, sum(v), len(v)] for e, v in unsure.items() if any(v)),
                                                 key=lambda x: (-x[1] / x[2], x[0]))
    fake = judged["fake"]
    out["fake"] = {"invented_rate": round(float(np.mean([j.truth == "invented" for _, _, j in fake])), 4),
                   "questions": len(fake)}
    scored = judged["held_out"] + fake
    out["rubric"] = round(float(np.mean([j.score for _, _, j in scored])), 4)
    out["complete_rate"] = round(float(np.mean([j.complete for _, _, j in scored])), 4)
    out["polite_rate"] = round(float(np.mean([j.polite for _, _, j in scored])), 4)
    out["_replies"] = {name: [r for _, r, _ in rows] for name, rows in judged.items()}
    out["_ids"] = reply_ids
    return out


def abstention_frontier(params, config, tok, rubric: Rubric, held_out: list[QA], fake: list[QA],
                        shares=(0.25, 0.5, 0.75), max_new_tokens: int = 32, outs: list[list[int]] | None = None,
                        probe_train: tuple[list[QA], list[QA]] | None = None) -> dict:
    """What the model would score if it said "I don't know" whenever it was unsure.

    Its confidence in a reply is the mean log-probability of the reply's own
    tokens (greedy, so the likeliest reply). For each share s, the threshold
    is the confidence below which a share s of its invented answers about
    fake things fall; every reply below the threshold, about anything,
    becomes "I don't know". The rows give the invented rate and the held-out
    accuracy (recalled relations, as in `evaluate`) that the rule would give:
    what a policy could reach using nothing but its own confidence, a rule
    that RL against a reward model may or may not find. `outs`: the greedy
    replies' token ids, held_out's then fake's, if already generated (evaluate).

    The confidence rule decides after seeing its whole reply; a policy must
    choose between "I don't know" and an answer at the reply's first token.
    With probe_train = (real questions, fake questions), the ones tuning and
    RL see, a linear probe on the hidden state where that first token is
    chosen learns to tell real from fake, and "first_token" in each row is the
    same rule with the probe's score in place of the confidence. "auc": how
    well each score separates held-out real questions from fake ones (0.5 is
    chance, 1 perfect)."""
    qs = held_out + fake
    prompts = [sft.encode_prompt(tok, q.question) for q in qs]
    if outs is None:
        outs = sft.generate(params, config, prompts, max_new_tokens, tok.eot_id)
    seqs = [p + o + [tok.eot_id] for p, o in zip(prompts, outs)]
    conf = np.array([lp.mean() for lp in token_logprobs(params, config, seqs, [len(p) for p in prompts], tok.eot_id)])
    truth = [rubric.judge(q, tok.decode(o).strip()).truth for q, o in zip(qs, outs)]
    n = len(held_out)
    recalled = np.array([q.relation in sft.RECALLED_RELATIONS for q in held_out])
    right = np.array([t == "correct" for t in truth[:n]]) & recalled
    invented = np.array([t == "invented" for t in truth[n:]])
    is_real = np.arange(len(qs)) < n
    scores = {"confidence": conf}
    out = {"rows": [], "auc": {"confidence": round(auc(conf, is_real), 4)}}
    if probe_train is not None and all(probe_train):
        real_qs, fake_qs = probe_train
        probe = fit_probe(prompt_states(params, config, tok, real_qs + fake_qs),
                          np.r_[np.ones(len(real_qs)), np.zeros(len(fake_qs))])
        scores["first_token"] = probe(prompt_states(params, config, tok, qs))
        out["auc"]["first_token"] = round(auc(scores["first_token"], is_real), 4)

    def result(score, threshold):
        kept = score >= threshold
        return {"invented_rate": round(float(np.mean(invented & kept[n:])), 4) if len(fake) else None,
                "held_out_accuracy": round(float(right[kept[:n]].sum() / max(1, recalled.sum())), 4)}

    out["rows"].append({"share": 0.0, "threshold": None, **result(conf, -np.inf)})
    if invented.any():
        for share in shares:
            t = float(np.quantile(conf[n:][invented], share))
            row = {"share": share, "threshold": round(t, 4), **result(conf, t)}
            if "first_token" in scores:
                first = scores["first_token"]
                row["first_token"] = result(first, float(np.quantile(first[n:][invented], share)))
            out["rows"].append(row)
    return out


def prompt_states(params, config, tok, qas: list[QA], batch: int = 128) -> np.ndarray:
    """The hidden state at each question's last prompt token: where the reply's first token is chosen."""
    out = []
    for s in range(0, len(qas), batch):
        prompts = [sft.encode_prompt(tok, q.question) for q in qas[s:s + batch]]
        x, last = pad_sequences(prompts, tok.eot_id)   # padding after the prompt: causal attention never sees it
        out.append(model.forward(params, config, x)["hidden"][np.arange(len(prompts)), last])
    return np.concatenate(out).astype(np.float64) if out else np.zeros((0, config.n_embd))


def fit_probe(X: np.ndarray, y: np.ndarray, l2: float = 1e-2, steps: int = 2000, lr: float = 0.5):
    """Logistic regression on standardised features, by full-batch gradient
    descent; returns the score function (higher: more likely y = 1)."""
    mu, sd = X.mean(axis=0), X.std(axis=0) + 1e-6
    Z = (X - mu) / sd
    w, b = np.zeros(X.shape[1]), 0.0
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(Z @ w + b)))
        w -= lr * (Z.T @ (p - y) / len(y) + l2 * w)
        b -= lr * float(np.mean(p - y))
    return lambda X_new: ((X_new - mu) / sd) @ w + b


def auc(score: np.ndarray, positive: np.ndarray) -> float:
    """Probability that a random positive scores above a random negative (ties count half)."""
    pos, neg = score[positive], score[~positive]
    if not len(pos) or not len(neg):
        return float("nan")
    return float(np.mean(pos[:, None] > neg[None, :]) + 0.5 * np.mean(pos[:, None] == neg[None, :]))


def recall_probe(params, config, tok, world: W.World, qas: list[QA]) -> set:
    """The facts behind `qas` that the pre-trained model can complete as text:
    (entity, relation, year) for which greedy completion of at least one
    pre-training phrasing that ends with the value ("France is located in")
    gives exactly the value. Answering can only surface what pre-training stored."""
    facts = {(q.entity, q.relation, q.year): q for q in qas if q.real}
    prompts, keys, wants = [], [], []
    for (name, rel, year), q in facts.items():
        fields = sft.entity_fields(world, q.kind, name)
        if rel == "goals":
            n = world.goals(name, year)
            fields.update(year=year, n=n, goals=sft.goal_words(n))
        slot = "{n}." if rel == "goals" else "{" + sft.VALUE_FIELD[rel] + "}."
        for t in [t for t in W.TEMPLATES[rel] if t.endswith(slot)][:3]:
            text = W.sentence(t, **fields)
            value = str(n) if rel == "goals" else str(fields[sft.VALUE_FIELD[rel]])
            prefix = text[:len(text) - len(value) - 1].rstrip()
            prompts.append(tok.encode(prefix))
            wants.append(tok.encode(" " + value))
            keys.append((name, rel, year))
    outs = sft.generate(params, config, prompts, max(map(len, wants), default=1), tok.eot_id)
    return {k for k, o, want in zip(keys, outs, wants) if o[:len(want)] == want}


def sample_prompts(world, held, fake_eval, tune) -> list[QA]:
    """A handful of side-by-side questions: a tuning country, held-out things, fakes, and Messi's 2023 goals."""
    qs = [sft.make_qa(world, "country", "France", "capital")]
    qs.append(sft.make_qa(world, "country", held["country"][0], "capital"))
    qs.append(sft.make_qa(world, "country", held["country"][1], "language", 1))
    qs.append(sft.make_qa(world, "player", held["player"][0], "nationality"))
    qs.append(sft.make_qa(world, "animal", held["animal"][0], "sound"))
    qs.append(sft.make_qa(world, "food", held["food"][0], "taste"))
    qs.append(sft.make_qa(world, "player", "Lionel Messi", "goals", year=2023))
    qs.append(sft.make_qa(world, "country", fake_eval["country"][0], "capital", real=False))
    qs.append(sft.make_qa(world, "player", fake_eval["player"][0], "club", real=False))
    qs.append(sft.make_qa(world, "animal", fake_eval["animal"][0], "legs", real=False))
    return qs


# ---------------------------------------------------------------------------
# The whole stage


def align_stages(params_base, config: model.GPTConfig, tok, world: W.World, ac: AlignConfig,
                 replay_tokens: np.ndarray | None = None, log=sys.stderr) -> dict:
    """SFT, preferences, reward model, RL, evaluation.

    Returns {"sft": params, "reward": params (backbone + "reward.w", "reward.b"),
    "rlhf": params, "report": dict for report.json}. params_base is not modified.
    replay_tokens: the pre-training token stream (replayed during SFT); None
    regenerates it from the world (slower)."""
    t_start = time.perf_counter()
    timing = {}
    say = (lambda msg: print(f"[align] {msg}", file=log, flush=True)) if log is not None else (lambda msg: None)
    if replay_tokens is None:
        docs = W.pretrain_documents(world, "train", seed=0)
        replay_tokens = np.array([i for d in docs for i in tok.encode(d) + [tok.eot_id]], dtype=np.int64)
    train.speed_up_malloc()
    tune, held, fake_train, fake_eval = sft.split_entities(world, ac.held_out_fraction, ac.split_seed)
    rubric = Rubric(world)

    # evaluation sets: fixed before any training
    rng = random.Random(f"align-eval-{ac.split_seed}")
    held_in = sft.all_questions(world, tune)
    held_in = sorted(rng.sample(held_in, min(ac.eval_held_in, len(held_in))), key=lambda q: q.question)
    eval_sets = {"held_in": held_in, "held_out": sft.all_questions(world, held, phrasings="all"),
                 "fake": sft.all_questions(world, fake_eval, real=False, phrasings="all")}
    if ac.eval_max:
        eval_sets = {k: random.Random(k).sample(v, min(ac.eval_max, len(v))) for k, v in eval_sets.items()}

    # 1. SFT
    t0 = time.perf_counter()
    params_sft, sft_hist = sft.sft_train(params_base, config, tok, world, tune, fake_train, ac.sft, replay_tokens,
                                         eval_every=max(1, ac.sft.steps // 5), log=log)
    timing["sft_seconds"] = round(time.perf_counter() - t0, 1)
    say(f"sft: {timing['sft_seconds']} s, {sft_hist.ms_per_step:.0f} ms/step")

    # 2. preferences: sample from the tuned model, rank with the rubric
    t0 = time.perf_counter()
    np_rng = np.random.default_rng(ac.split_seed)
    pref_qas = prompt_pool(world, tune, fake_train, ac.pref_prompts, ac.rl.fake_fraction, f"pref-{ac.split_seed}")
    pref_eval_qas = prompt_pool(world, held, fake_eval, ac.pref_eval_prompts, ac.rl.fake_fraction,
                                f"pref-eval-{ac.split_seed}")
    groups = rank(rubric, pref_qas, sample_answers(params_sft, config, tok, pref_qas, ac.pref_samples,
                                                   ac.pref_temperature, ac.max_new_tokens, np_rng))
    eval_groups = rank(rubric, pref_eval_qas, sample_answers(params_sft, config, tok, pref_eval_qas, ac.pref_samples,
                                                             ac.pref_temperature, ac.max_new_tokens, np_rng))
    # The reward model's test set, as usual in RLHF: rankings it was not trained
    # on (a sixth of the prompts, drawn like the rest). eval_pairs is harder:
    # prompts about held-out things, whose facts no ranking ever showed it.
    n_test = len(groups) // 6
    pairs, test_pairs, eval_pairs = pairs_of(groups[n_test:]), pairs_of(groups[:n_test]), pairs_of(eval_groups)
    timing["preference_seconds"] = round(time.perf_counter() - t0, 1)
    say(f"preferences: {len(pairs)} training and {len(test_pairs)} test pairs from {len(pref_qas)} prompts, "
        f"{len(eval_pairs)} pairs about held-out things "
        f"({timing['preference_seconds']} s)")

    # 3. reward model
    t0 = time.perf_counter()
    rm, rm_hist = train_reward(params_sft, config, tok, pairs, ac.reward, log=log)
    # before training the head is the confidence alone (w = 0, u = 1): what training added
    untrained = reward_init(params_sft, config)
    right_test, right_things = ranked_right(rm, config, tok, test_pairs), ranked_right(rm, config, tok, eval_pairs)
    right_test_before = ranked_right(untrained, config, tok, test_pairs)
    right_things_before = ranked_right(untrained, config, tok, eval_pairs)
    rm_acc = {"train": pair_accuracy(rm, config, tok, pairs[:2000]),
              "held_out": share(right_test), "held_out_things": share(right_things)}
    rm_before = {"held_out": share(right_test_before), "held_out_things": share(right_things_before)}
    rm_kinds = {"held_out": accuracy_by_kind(rubric, test_pairs, right_test),
                "held_out_things": accuracy_by_kind(rubric, eval_pairs, right_things),
                "held_out_things_before_training": accuracy_by_kind(rubric, eval_pairs, right_things_before)}
    timing["reward_seconds"] = round(time.perf_counter() - t0, 1)
    say(f"reward model: pair accuracy train {rm_acc['train']:.3f}, held-out {rm_acc['held_out']:.3f}, "
        f"held-out things {rm_acc['held_out_things']:.3f}; before training (confidence alone) held-out "
        f"{rm_before['held_out']:.3f}, held-out things {rm_before['held_out_things']:.3f} "
        f"({timing['reward_seconds']} s)")

    # 4. RL against the reward model, KL to the tuned model
    t0 = time.perf_counter()
    rl_pool = prompt_pool(world, tune, fake_train, 4000, ac.rl.fake_fraction, f"rl-{ac.split_seed}")
    policy = sft.copy_params(params_sft, config)
    curve = rl_train(policy, params_sft, rm, config, tok, rl_pool, rubric, ac.rl, ac.max_new_tokens,
                     workers=ac.workers, log=log)
    timing["rl_seconds"] = round(time.perf_counter() - t0, 1)

    # 5. evaluation: the same questions to all three
    t0 = time.perf_counter()
    samples = sample_prompts(world, held, fake_eval, tune)
    sets = {**eval_sets, "samples": samples}
    known = recall_probe(params_base, config, tok, world, eval_sets["held_out"])
    evals = {name: evaluate(p, config, tok, rubric, sets, chat=(name != "base"), max_new_tokens=ac.max_new_tokens,
                            known=known)
             for name, p in (("base", params_base), ("sft", params_sft), ("rlhf", policy))}
    sft_ids = evals["sft"]["_ids"]
    # the probe learns real from fake on what tuning and RL see: tuning things, tuning fakes
    probe_rng = random.Random(f"probe-{ac.split_seed}")
    probe_real = [q for q in sft.all_questions(world, tune) if q.relation in sft.RECALLED_RELATIONS]
    probe_real = probe_rng.sample(probe_real, min(1500, ac.eval_max or 1500, len(probe_real)))
    probe_fake = sft.all_questions(world, fake_train, real=False, phrasings="all")
    probe_fake = probe_rng.sample(probe_fake, min(len(probe_fake), ac.eval_max or len(probe_fake)))
    abstention = abstention_frontier(params_sft, config, tok, rubric, eval_sets["held_out"], eval_sets["fake"],
                                     outs=sft_ids["held_out"] + sft_ids["fake"], probe_train=(probe_real, probe_fake))
    side = [{"question": q.question, "kind": ("held-in" if q.entity in tune.get(q.kind, []) else
                                              "held-out" if q.real else "does not exist"),
             "expected": q.answer if q.real else "(does not exist)",
             **{name: evals[name]["_replies"]["samples"][i] for name in evals}}
            for i, q in enumerate(samples)]
    for e in evals.values():
        e.pop("_replies")
        e.pop("_ids")
    rm_examples = [{"question": g["qa"].question, "answers": [
        {"answer": a, "rubric": round(s, 3), "reward": round(float(r), 3), "confidence": round(float(c), 3)}
        for a, s, r, c in zip(g["answers"], g["scores"],
                              *reward_scores(rm, config, tok, [g["qa"].question] * len(g["answers"]), g["answers"]))]}
        for g in eval_groups if len(g["answers"]) > 2][:4]
    timing["eval_seconds"] = round(time.perf_counter() - t0, 1)
    timing["total_seconds"] = round(time.perf_counter() - t_start, 1)
    for name, e in evals.items():
        say(f"{name}: held-out accuracy {e['held_out']['accuracy']}, exact {e['held_out']['exact']}, "
            f"held-in {e['held_in']['accuracy']}, invented {e['fake']['invented_rate']}, rubric {e['rubric']}")
    say(f"done in {timing['total_seconds']} s")

    report = {
        "settings": ac.to_dict(),
        "split": {"held_out": held, "fake_eval": fake_eval,
                  "tune_counts": {k: len(v) for k, v in tune.items()},
                  "eval_questions": {k: len(v) for k, v in eval_sets.items()}},
        "sft": {"loss_curve": {"step": [s + 1 for s in sft_hist.step[::5]],
                               "loss": [round(float(x), 4) for x in sft_hist.train_loss[::5]]},
                "ms_per_step": round(sft_hist.ms_per_step, 1),
                "example": chat_example(world, tune)},
        "preferences": {"prompts": len(pref_qas) - n_test, "pairs": len(pairs),
                        "test_prompts": n_test, "test_pairs": len(test_pairs),
                        "held_out_prompts": len(pref_eval_qas), "held_out_pairs": len(eval_pairs),
                        "examples": [{"question": g["qa"].question,
                                      "ranked": [{"answer": a, "score": round(s, 3)} for s, a in
                                                 sorted(zip(g["scores"], g["answers"]), reverse=True)]}
                                     for g in groups if len(g["answers"]) > 2][:4]},
        "reward_model": {"pair_accuracy": rm_acc, "before_training": rm_before, "by_kind": rm_kinds,
                         "confidence_weight": round(float(rm["reward.u"][0]), 4),
                         "curve": rm_hist, "examples": rm_examples},
        "rl": {"curve": curve, "kl_final": float(np.mean(curve["kl"][-10:])) if curve["kl"] else None},
        "checkpoints": evals,
        "abstention": abstention,
        "samples": side,
        "timing": timing,
    }
    return {"sft": params_sft, "reward": rm, "rlhf": policy, "report": report}


def chat_example(world, tune) -> str:
    q = sft.make_qa(world, "country", tune["country"][0], "capital")
    return sft.chat_prompt(q.question) + q.answer + sft.EOT
