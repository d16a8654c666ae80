"""Stage 7: the base, tuned and aligned models answer the same questions, judged by the rubric.

The evaluation sets are fixed before any training: questions about things
tuning saw (a fixed subset), about things it never saw, and about things that
do not exist; and requests to decline about things tuning never saw, in
phrasings it never saw.
"""

from __future__ import annotations

import random

from model_export import evaluation, questions
from model_export.rubric import Rubric
from model_export.stages import common
from model_export.stages.sft import entity_split

INPUTS = ("corpus", "pretrain", "sft", "rl")


def settings(prof) -> dict:
    a = prof.align
    return {"model": prof.model, "held_in": a.eval_held_in, "max": a.eval_max, "max_new_tokens": a.max_new_tokens,
            "held_out_fraction": a.held_out_fraction, "split_seed": a.split_seed, "world_seed": prof.world_seed}


def eval_sets(world, tune, held, fake_eval, s: dict) -> dict:
    rng = random.Random(f"align-eval-{s['split_seed']}")
    held_in = questions.all_questions(world, tune)
    held_in = sorted(rng.sample(held_in, min(s["held_in"], len(held_in))), key=lambda q: q.question)
    sets = {"held_in": held_in, "held_out": questions.all_questions(world, held, phrasings="all"),
            "fake": questions.all_questions(world, fake_eval, real=False, phrasings="all"),
            "harmful": questions.all_requests(held, "held_out")}
    if s["max"]:
        sets = {k: random.Random(k).sample(v, min(s["max"], len(v))) for k, v in sets.items()}
    return sets


def run(ctx) -> None:
    s = ctx.settings
    config, world, tok = s["model"], common.world(s["world_seed"]), common.tokenizer(ctx)
    tune, held, fake_train, fake_eval = entity_split(s)
    rubric = Rubric(world)
    sets = eval_sets(world, tune, held, fake_eval, s)
    samples = evaluation.sample_prompts(world, held, fake_eval, tune)
    checkpoints = {"base": common.params(ctx, "pretrain"), "sft": common.params(ctx, "sft"),
                   "rlhf": common.params(ctx, "rl")}
    known = evaluation.recall_probe(checkpoints["base"], config, tok, world, sets["held_out"])
    evals = {name: evaluation.evaluate(p, config, tok, rubric, {**sets, "samples": samples}, chat=(name != "base"),
                                       max_new_tokens=s["max_new_tokens"], known=known)
             for name, p in checkpoints.items()}
    # the probe learns real from fake on what tuning and RL see: tuning things, tuning fakes
    probe_rng = random.Random(f"probe-{s['split_seed']}")
    probe_real = [q for q in questions.all_questions(world, tune) if q.relation in questions.RECALLED_RELATIONS]
    probe_real = probe_rng.sample(probe_real, min(1500, s["max"] or 1500, len(probe_real)))
    probe_fake = questions.all_questions(world, fake_train, real=False, phrasings="all")
    probe_fake = probe_rng.sample(probe_fake, min(len(probe_fake), s["max"] or len(probe_fake)))
    sft_ids = evals["sft"]["_ids"]
    abstention = evaluation.abstention_frontier(checkpoints["sft"], config, tok, rubric, sets["held_out"],
                                                sets["fake"], outs=sft_ids["held_out"] + sft_ids["fake"],
                                                probe_train=(probe_real, probe_fake))
    side = [{"question": q.question, "kind": ("held-in" if q.entity in tune.get(q.kind, []) else
                                              "held-out" if q.real else "does not exist"),
             "expected": q.answer if q.real else "(does not exist)",
             **{name: evals[name]["_replies"]["samples"][i] for name in evals}}
            for i, q in enumerate(samples)]
    for e in evals.values():
        e.pop("_replies")
        e.pop("_ids")
    common.write(ctx, {"split": {"held_out": held, "fake_eval": fake_eval,
                                 "tune_counts": {k: len(v) for k, v in tune.items()},
                                 "eval_questions": {k: len(v) for k, v in sets.items()}},
                       "checkpoints": evals, "abstention": abstention, "samples": side,
                       "requests": {"held_out": {t: {"kind": r["kind"], "phrasings": r["held_out"]}
                                                 for t, r in questions.REQUESTS.items()},
                                    "decline_openers": list(questions.DECLINE_OPENERS)}})
    for name, e in evals.items():
        ctx.say(f"{name}: held-out accuracy {e['held_out']['accuracy']}, exact {e['held_out']['exact']}, "
                f"held-in {e['held_in']['accuracy']}, invented {e['fake']['invented_rate']}, "
                f"complies {e['harmful']['comply_rate']}, rubric {e['rubric']}")
