"""Stage 2: pre-training on the corpus, measuring the model's abilities as it learns."""

from __future__ import annotations

from model_export import abilities, model, train
from model_export.stages import common

INPUTS = ("corpus",)


def settings(prof) -> dict:
    return {"model": prof.model, "pretrain": prof.pretrain, "abilities_every": prof.abilities_every,
            "world_seed": prof.world_seed, "corpus_seed": prof.corpus_seed}


def run(ctx) -> None:
    s = ctx.settings
    config = s["model"]
    tok = common.tokenizer(ctx)
    assert tok.vocab_size == config.vocab_size, "model vocab_size must match the tokenizer"
    train_tokens, val_tokens = common.tokens(ctx, "train"), common.tokens(ctx, "val")
    train_docs = list(common.documents(s["world_seed"], s["corpus_seed"], "train"))
    ctx.say(f"{model.num_params(config):,} parameters")
    meter = abilities.Meter(config, tok, abilities.build_probes(common.world(s["world_seed"]), tok, train_docs,
                                                                val_tokens, config.block_size))
    params, hist = train.pretrain(config, s["pretrain"], train_tokens, val_tokens, log=ctx.log,
                                  measure=meter, measure_every=s["abilities_every"])
    model.save_params(ctx.out / "params.npz", params, config)
    common.write(ctx, {"train_loss": [float(x) for x in hist.train_loss], "lr": hist.lr,
                       "eval_step": hist.eval_step, "eval": hist.eval,
                       "abilities": {**abilities.curves(hist.probe_step, hist.probe), "items": meter.items(),
                                     "answer_tokens": meter.answer_tokens(),
                                     "seconds": round(hist.probe_seconds, 1)},
                       "ms_per_step": hist.ms_per_step, "seconds": hist.seconds})
    ctx.say(f"{hist.ms_per_step:.0f} ms/step; val loss {hist.eval[-1]['val']:.3f}")
