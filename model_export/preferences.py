"""Preferences: sample several answers per prompt from the tuned model and rank them.

People would rank them; here the rubric (rubric.py) does. Every ranking is a
set of pairs (chosen, rejected) with a strictly higher score for the chosen
answer: what the reward model (reward.py) trains on.
"""

from __future__ import annotations

import random

from model_export import decoding, sft
from model_export import world as W
from model_export.chat import encode_prompt
from model_export.rubric import Rubric
from model_export.questions import QA


def prompt_pool(world: W.World, names: dict, fake: dict, n: int, fake_fraction: float, seed: str,
                request_fraction: float = 0.0) -> list[QA]:
    """n prompts drawn like the demonstrations: a request to decline with
    probability request_fraction (in the phrasings tuning uses), else a
    question (a relation, an entity, a phrasing; a fake entity with probability
    fake_fraction)."""
    sampler = sft.DemoSampler(world, names, fake, sft.SFTConfig(fake_fraction=fake_fraction))
    rng = random.Random(seed)
    return [sampler.request(rng) if request_fraction and rng.random() < request_fraction
            else sampler.qa(rng, fake=rng.random() < fake_fraction) for _ in range(n)]


def sample_answers(params, config, tok, qas: list[QA], k: int, temperature: float, max_new_tokens: int,
                   rng: decoding.XorShift) -> list[list[str]]:
    """k answers to each question, sampled at `temperature`."""
    prompts = [encode_prompt(tok, q.question) for q in qas for _ in range(k)]
    outs = decoding.generate(params, config, prompts, max_new_tokens, tok.eot_id, temperature=temperature, rng=rng)
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


def group_to_dict(g: dict) -> dict:
    return {"qa": g["qa"].to_dict(), "answers": g["answers"], "scores": g["scores"], "pairs": g["pairs"]}


def group_from_dict(d: dict) -> dict:
    return {"qa": QA(**d["qa"]), "answers": d["answers"], "scores": d["scores"],
            "pairs": [tuple(p) for p in d["pairs"]]}
