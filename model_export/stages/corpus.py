"""Stage 1: the world's documents as token streams, and the tokenizer that makes them.

The tokenizer also reads agent transcripts, so that tool calls get merged
tokens ('{"', '":') and a whole transcript fits the context (agent_train.py).
"""

from __future__ import annotations

import numpy as np

from model_export import agent
from model_export.stages import common
from model_export.tokenizer import train_bpe

INPUTS = ()


def settings(prof) -> dict:
    return {"world_seed": prof.world_seed, "corpus_seed": prof.corpus_seed, "vocab_size": prof.vocab_size,
            "bpe_transcripts": prof.agent.bpe_transcripts}


def token_stream(tok, docs) -> np.ndarray:
    """All documents as one stream, each followed by <|endoftext|>."""
    ids = []
    for d in docs:
        ids += tok.encode(d)
        ids.append(tok.eot_id)
    return np.array(ids, dtype=np.int64)


def run(ctx) -> None:
    s = ctx.settings
    world = common.world(s["world_seed"])
    train_docs = common.documents(s["world_seed"], s["corpus_seed"], "train")
    val_docs = common.documents(s["world_seed"], s["corpus_seed"], "val")
    tok = train_bpe(list(train_docs) + agent.bpe_texts(world, s["bpe_transcripts"]), vocab_size=s["vocab_size"])
    tok.save(ctx.out / "tokenizer.json")
    streams = {"train": token_stream(tok, train_docs), "val": token_stream(tok, val_docs)}
    for split, ids in streams.items():  # vocab 512: two bytes a token
        np.save(ctx.out / f"{split}_tokens.npy", ids.astype(np.uint16))
    chars = sum(map(len, train_docs))
    common.write(ctx, {"world_countries": len(world.countries), "train_documents": len(train_docs),
                       "val_documents": len(val_docs), "train_tokens": len(streams["train"]),
                       "val_tokens": len(streams["val"]), "train_chars": chars,
                       "chars_per_token": round(chars / len(streams["train"]), 3)})
    ctx.say(f"{len(world.countries)} countries; {len(train_docs)} train / {len(val_docs)} val documents, "
            f"{len(streams['train']):,} / {len(streams['val']):,} tokens")


def write_vectors() -> None:
    """Retrain the JavaScript port's small test tokenizer and rewrite its test vectors (tests/data)."""
    import json
    from model_export import tokenizer
    tok = tokenizer.vector_tokenizer(list(common.documents(0, 0, "val")))
    tok.save(tokenizer.VECTOR_TOKENIZER)
    with open(tokenizer.VECTOR_FILE, "w", encoding="utf-8") as f:
        json.dump(tokenizer.make_vectors(tok), f, indent=1)
    print(f"wrote {tokenizer.VECTOR_TOKENIZER} ({tok.vocab_size} tokens) and {tokenizer.VECTOR_FILE}")


if __name__ == "__main__":
    import sys
    if sys.argv[1:] == ["--write-vectors"]:
        write_vectors()
    else:
        sys.exit("usage: python -m model_export.stages.corpus --write-vectors")
