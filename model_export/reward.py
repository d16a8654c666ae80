"""The reward model: the tuned transformer with a scalar head, trained on ranked pairs.

The head reads two things: the hidden state of the last token, and the
model's confidence in the answer (the mean log-probability its language-model
head gives the answer's tokens). The confidence is what lets it check facts:
a wrong or invented value is a surprising one. It trains with the
Bradley-Terry loss -log sigmoid(r_chosen - r_rejected) on pairs from
preferences.py; the report gives the confidence alone (the head before
training) next to the trained model.
"""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass

import numpy as np

from model_export import model, train
from model_export.chat import encode_prompt
from model_export.rubric import Rubric
from model_export.questions import QA


# The reward model: backbone + a scalar head that reads the last token's hidden
# state and the language model's confidence in the answer


@dataclass(frozen=True)
class RewardConfig:
    steps: int = 600
    batch_pairs: int = 32
    lr: float = 3e-4
    warmup_steps: int = 10
    seed: int = 0

    def to_dict(self) -> dict:
        return asdict(self)



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



def load_reward_model(path):
    """A reward model saved with model.save_params (the backbone and the head, by name)."""
    backbone, config = model.load_params(path)
    rm, data = reward_init(backbone, config), np.load(path)
    for name in ("reward.w", "reward.b", "reward.u"):
        rm[name][...] = data[name]
    return rm


def reward_batch(tok, config, questions: list[str], replies: list[str]):
    """Inputs for the reward model: token ids x (B, T), next-token targets y,
    the weights that average the answer tokens' log-probabilities (1/n on the
    n positions that predict an answer token, 0 elsewhere), and each row's last
    position. A conversation longer than the context keeps its end."""
    seqs, starts = [], []
    for q, r in zip(questions, replies):
        prompt = encode_prompt(tok, q)
        s = prompt + tok.encode(r) + [tok.eot_id]
        cut = max(0, len(s) - config.block_size)
        seqs.append(s[cut:])
        starts.append(max(1, len(prompt) - cut))
    x, last = model.pad_sequences(seqs, tok.eot_id)
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
    """Returns (reward model params, {"step", "loss", "accuracy"} per step): train.train's
    loop (AdamW, clipping, schedule) on the Bradley-Terry loss, no weight decay."""
    rm = reward_init(params_sft, config)
    tc = train.TrainConfig(steps=rc.steps if pairs else 0, lr=rc.lr, warmup_steps=rc.warmup_steps, weight_decay=0.0,
                           seed=rc.seed, eval_every=50)
    accuracy = []  # the share of each batch's pairs ranked right, before its update

    def next_batch(step, rng):
        idx = rng.choice(len(pairs), size=min(rc.batch_pairs, len(pairs)), replace=False)
        return reward_batch(tok, config, [pairs[i][0].question for i in idx] * 2,
                            [pairs[i][1] for i in idx] + [pairs[i][2] for i in idx]), len(idx)

    def loss_and_grads(params, config, grads, batch):
        loss, acc = reward_loss_and_grads(params, config, model.flat_of(grads), *batch)
        accuracy.append(acc)
        return loss

    hist = train.train(rm, config, tc, next_batch, loss_and_grads, log=log, label="reward",
                       decay_mask=np.zeros_like(model.flat_of(rm)))
    return rm, {"step": [s + 1 for s in hist.step], "loss": [round(x, 4) for x in hist.train_loss],
                "accuracy": [round(a, 3) for a in accuracy]}


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
