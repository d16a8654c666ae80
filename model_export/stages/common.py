"""What every stage shares: reading its inputs' files and writing its own.

The world and the documents are not files: they are cheap to regenerate from
their seeds (well under a second), so stages that need them call world() and
documents() with the seeds from their settings.
"""

from __future__ import annotations

import json
from functools import lru_cache

import numpy as np

from model_export import model
from model_export import world as W
from model_export.tokenizer import Tokenizer


@lru_cache(maxsize=4)
def world(seed: int) -> W.World:
    return W.make_world(seed=seed)


@lru_cache(maxsize=4)
def documents(world_seed: int, corpus_seed: int, split: str) -> tuple[str, ...]:
    return tuple(W.pretrain_documents(world(world_seed), split, seed=corpus_seed))


def tokenizer(ctx) -> Tokenizer:
    return Tokenizer.load(ctx.inputs["corpus"] / "tokenizer.json")


def tokens(ctx, split: str) -> np.ndarray:
    return np.load(ctx.inputs["corpus"] / f"{split}_tokens.npy").astype(np.int64)


def params(ctx, stage: str, file: str = "params.npz"):
    return model.load_params(ctx.inputs[stage] / file)[0]


def read(ctx, stage: str, file: str = "report.json"):
    return json.loads((ctx.inputs[stage] / file).read_text(encoding="utf-8"))


def write(ctx, obj, file: str = "report.json") -> None:
    with open(ctx.out / file, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False)
