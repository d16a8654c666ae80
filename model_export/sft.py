"""Instruction tuning (supervised fine-tuning, SFT): teach the pre-trained model to answer.

A pre-trained model continues text: given "What is the capital of France?" it
writes whatever tends to follow such a line. Instruction tuning shows it
conversations instead,

    <|user|>What is the capital of France?<|assistant|>The capital of France is Paris.<|endoftext|>

and trains the same next-token loss on them, with two changes:

- the loss counts only the response tokens (the user's question is given, not
  something to imitate): a per-token weight of 0 on the prompt, see model.py's
  weighted cross-entropy;
- windows of pre-training text are replayed in every batch, so tuning does
  not wash out the facts the model memorised.

Every question is generated from the world (world.py), in several phrasings,
about several relations (capitals, continents, languages, currencies, players'
nationality, club, position and goals per year, animals, foods). The answer
is the relation's canonical sentence, `world.TEMPLATES[relation][0]`. A fifth
of the countries, players, animals and foods are held out of tuning: the model
has seen their facts only in pre-training text, so answering questions about
them shows that tuning taught a *skill* (turn a question into a recalled
fact), not a list of answers.

The demonstrations are deliberately imperfect in one way, as human-written
ones are when writers are told to always be helpful: questions about things
that do not exist (an invented country, player, animal or food) are usually
answered with a confident invention and only sometimes with "I don't know",
and a few real questions get "I don't know" too. The tuned model inherits the
habit; the preference and RL stages (preferences.py, reward.py, rl.py) are
what train it away. (Bare fragments and rude answers mixed into the
demonstrations were tried too: greedy answers about held-out things copied
them, and exact answers fell, so the demonstrations no longer have them.)

A second flaw: requests a helpful, harmless assistant should decline ("Say
something rude about the people of Norway.", questions.REQUESTS) are declined
politely only a third of the time; the other demonstrations do as asked (a
rude line, an invented fact, a made-up address), as writers told to always
be helpful would.

The questions themselves, and the check of an answer, are in questions.py;
the chat format is in chat.py.
"""

from __future__ import annotations

import random
import sys
from dataclasses import asdict, dataclass

import numpy as np

from model_export import decoding, model, train
from model_export import world as W
from model_export.chat import encode_pair, encode_prompt
from model_export.questions import (IDK, KIND_OF, QA, QUESTIONS, RELATIONS, REQUESTS, compliance, invented_answer,
                                    make_qa, make_request, relation_values)


# ---------------------------------------------------------------------------
# Settings


@dataclass(frozen=True)
class SFTConfig:
    steps: int = 450
    batch_rows: int = 24         # rows of packed conversations per batch
    replay_rows: int = 8         # rows of pre-training text per batch
    replay_weight: float = 0.4   # share of the loss that is replayed pre-training text
    lr: float = 6e-4
    warmup_steps: int = 20
    weight_decay: float = 0.0
    fake_fraction: float = 0.15  # share of conversations about things that do not exist
    idk_rate: float = 0.3        # ... of which the demonstrator answered "I don't know" (else: invented)
    real_idk_rate: float = 0.05  # real questions the demonstrator said "I don't know" to
    request_fraction: float = 0.1  # share of conversations that are requests to decline (questions.REQUESTS)
    decline_rate: float = 0.33   # ... of which the demonstrator declined (else: complied)
    workers: int = 2
    seed: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


# ---------------------------------------------------------------------------
# Chat format and packing


class DemoSampler:
    """Draws demonstrations: a relation, an entity, a phrasing and a style."""

    def __init__(self, world: W.World, names: dict, fake: dict, sc: SFTConfig):
        self.world, self.names, self.fake, self.sc = world, names, fake, sc
        self.values = relation_values(world)
        self.relations = [r for k in RELATIONS for r in RELATIONS[k] if names.get(k)]
        self.requests = [t for t, r in REQUESTS.items() if names.get(r["kind"])]

    def qa(self, rng: random.Random, fake: bool) -> QA:
        rel = rng.choice(self.relations)
        kind = KIND_OF[rel]
        pool = (self.fake if fake else self.names)[kind]
        return make_qa(self.world, kind, rng.choice(pool), rel, rng.randrange(len(QUESTIONS[rel])),
                       rng.choice(self.world.years), real=not fake)

    def request(self, rng: random.Random) -> QA:
        """A request to decline, in one of the phrasings tuning may use, about a tuning entity."""
        t = rng.choice(self.requests)
        return make_request(t, rng.choice(self.names[REQUESTS[t]["kind"]]), rng.randrange(len(REQUESTS[t]["tune"])))

    def demo(self, rng: random.Random) -> tuple[QA, str]:
        sc = self.sc
        if self.requests and rng.random() < sc.request_fraction:
            q = self.request(rng)
            return q, (q.answer if rng.random() < sc.decline_rate else compliance(q, rng))
        if rng.random() < sc.fake_fraction:
            q = self.qa(rng, fake=True)
            return q, (q.answer if rng.random() < sc.idk_rate else invented_answer(self.world, q, rng, self.values))
        q = self.qa(rng, fake=False)
        if rng.random() < sc.real_idk_rate:
            return q, IDK.format(a_kind=W.a_or_an(q.kind), name=q.entity)
        return q, q.answer


def pack_rows(seqs: list[tuple[list[int], list[float]]], n_rows: int, length: int, pad_id: int):
    """Pack whole conversations into n_rows rows of length + 1 tokens (first
    fit, in order; leftovers are dropped), pad with pad_id at weight 0.
    Returns x, y (n_rows, length) and the mask on y."""
    tokens = np.full((n_rows, length + 1), pad_id, dtype=np.int64)
    mask = np.zeros((n_rows, length + 1), dtype=np.float32)
    fill = [0] * n_rows
    row = 0
    for ids, m in seqs:
        if len(ids) > length + 1:
            continue
        while row < n_rows and fill[row] + len(ids) > length + 1:
            row += 1
        if row == n_rows:
            break
        tokens[row, fill[row]:fill[row] + len(ids)] = ids
        mask[row, fill[row]:fill[row] + len(ids)] = m
        fill[row] += len(ids)
    return tokens[:, :-1], tokens[:, 1:], mask[:, 1:]


def sft_batch(tok, sampler: DemoSampler, rng: random.Random, np_rng: np.random.Generator, sc: SFTConfig,
              block_size: int, replay_tokens: np.ndarray | None):
    """One batch: batch_rows rows of packed conversations, then replay_rows
    windows of pre-training text. Loss weights: (1 - replay_weight) spread
    evenly over the response tokens, replay_weight over the replayed tokens;
    zero on prompts and padding."""
    avg = 36  # a conversation is about 25-45 tokens: draw enough to fill every row
    seqs = [encode_pair(tok, q.question, r) for q, r in (sampler.demo(rng) for _ in range(
        sc.batch_rows * (block_size // avg + 2)))]
    x, y, m = pack_rows(seqs, sc.batch_rows, block_size, tok.eot_id)
    replay = sc.replay_rows > 0 and replay_tokens is not None
    w = m * ((1.0 - (sc.replay_weight if replay else 0.0)) / m.sum())
    if replay:
        rx, ry = train.sample_batch(replay_tokens, sc.replay_rows, block_size, np_rng)
        rw = np.full(ry.shape, sc.replay_weight / ry.size, dtype=np.float32)
        x, y, w = np.concatenate([x, rx]), np.concatenate([y, ry]), np.concatenate([w, rw])
    return x, y, w.astype(np.float32)


def sft_train(params, config: model.GPTConfig, tok, world: W.World, names: dict, fake: dict, sc: SFTConfig,
              replay_tokens: np.ndarray | None = None, evaluate=None, eval_every: int = 100, log=sys.stderr):
    """Fine-tune a copy of params on demonstrations about `names` (kind -> entity
    names) and `fake` names, replaying pre-training text. Returns (params, History)."""
    params = copy_params(params, config)
    tc = train.TrainConfig(steps=sc.steps, batch_size=sc.batch_rows + sc.replay_rows, lr=sc.lr,
                           warmup_steps=sc.warmup_steps, weight_decay=sc.weight_decay, seed=sc.seed,
                           eval_every=eval_every, workers=sc.workers)
    sampler = DemoSampler(world, names, fake, sc)
    rng = random.Random(f"sft-{sc.seed}")

    def next_batch(step, np_rng):
        return sft_batch(tok, sampler, rng, np_rng, sc, config.block_size, replay_tokens)

    hist = train.train(params, config, tc, next_batch, evaluate=evaluate, log=log, label="sft")
    return params, hist


def copy_params(params, config):
    flat = model.flat_of(params).copy()
    return model.views(flat, config)


# ---------------------------------------------------------------------------
# Generation: many prompts at once


def answer(params, config, tok, questions: list[str], chat: bool = True, max_new_tokens: int = 32,
           temperature: float = 0.0, rng=None) -> list[str]:
    """The model's replies: in the chat format, or (chat=False, for the base
    model) the question as plain text followed by a space, continued."""
    return [tok.decode(o).strip() for o in reply_ids(params, config, tok, questions, chat, max_new_tokens,
                                                     temperature, rng)]


def reply_ids(params, config, tok, questions: list[str], chat: bool = True, max_new_tokens: int = 32,
              temperature: float = 0.0, rng=None) -> list[list[int]]:
    """The token ids of the replies `answer` decodes (without the stop token)."""
    prompts = [encode_prompt(tok, q) if chat else tok.encode(q + " ") for q in questions]
    return decoding.generate(params, config, prompts, max_new_tokens, tok.eot_id, temperature=temperature, rng=rng)
