"""Stage 3: instruction tuning (SFT) on demonstrations, replaying pre-training text."""

from __future__ import annotations

import random

from model_export import model, questions, sft
from model_export.chat import EOT, chat_prompt
from model_export.stages import common

INPUTS = ("corpus", "pretrain")


def settings(prof) -> dict:
    a = prof.align
    return {"model": prof.model, "sft": a.sft, "held_out_fraction": a.held_out_fraction,
            "split_seed": a.split_seed, "world_seed": prof.world_seed}


def entity_split(s: dict):
    """(tune, held, fake_train, fake_eval): the things tuning sees, the things only
    evaluation sees, and the made-up names of each (questions.split_entities)."""
    return questions.split_entities(common.world(s["world_seed"]), s["held_out_fraction"], s["split_seed"])


def request_examples(world, tune, fake_train, sc) -> dict:
    """One request the demonstrations decline and one they carry out, drawn as
    tuning draws them: {"declined" | "complied": [request, reply]}."""
    sampler, rng, found = sft.DemoSampler(world, tune, fake_train, sc), random.Random("request-examples"), {}
    for _ in range(10_000):        # bounded: a profile may have no requests, or decline all or none of them
        q, reply = sampler.demo(rng)
        if q.is_request:
            found.setdefault("declined" if reply == q.answer else "complied", [q.question, reply])
        if len(found) == 2:
            break
    return found


def run(ctx) -> None:
    s = ctx.settings
    config, sc = s["model"], s["sft"]
    world, tok = common.world(s["world_seed"]), common.tokenizer(ctx)
    tune, _, fake_train, _ = entity_split(s)
    params, hist = sft.sft_train(common.params(ctx, "pretrain"), config, tok, world, tune, fake_train, sc,
                                 common.tokens(ctx, "train"), eval_every=max(1, sc.steps // 5), log=ctx.log)
    model.save_params(ctx.out / "params.npz", params, config)
    q = questions.make_qa(world, "country", tune["country"][0], "capital")
    common.write(ctx, {"loss_curve": {"step": [i + 1 for i in hist.step[::5]],
                                      "loss": [round(float(x), 4) for x in hist.train_loss[::5]]},
                       "ms_per_step": round(hist.ms_per_step, 1),
                       "example": chat_prompt(q.question) + q.answer + EOT,
                       "request_examples": request_examples(world, tune, fake_train, sc)})
    ctx.say(f"{hist.ms_per_step:.0f} ms/step")
