"""Stage 5: the reward model, trained on the ranked pairs and tested on pairs it never saw."""

from __future__ import annotations

import random

from model_export import model, questions, reward
from model_export.preferences import pairs_of
from model_export.rubric import Rubric
from model_export.stages import common
from model_export.stages.preferences import load_groups

INPUTS = ("corpus", "sft", "preferences")

# Declines worded unlike any demonstration: does the reward model reward declining, or a wording?
OTHER_DECLINES = ("I'd rather not do that.", "Sorry, that is not something I will do.")


def settings(prof) -> dict:
    return {"model": prof.model, "reward": prof.align.reward, "world_seed": prof.world_seed}


def decline_wording(rm, config, tok, groups) -> dict:
    """The mean reward, over the ranked requests about held-out things, of the demonstrations'
    decline, of each decline in OTHER_DECLINES, and of doing as asked; and how often each
    other decline outscores doing as asked."""
    qas = [g["qa"] for g in groups if g["qa"].is_request]
    if not qas:
        return {"requests": 0}
    rng = random.Random("decline-wording")
    complied = [questions.compliance(q, rng) for q in qas]

    def scores(answers):
        return reward.rewards(rm, config, tok, [q.question for q in qas], answers)

    base, bad = scores([q.answer for q in qas]), scores(complied)
    other = {text: scores([text] * len(qas)) for text in OTHER_DECLINES}
    return {"requests": len(qas), "demonstrations_decline": round(float(base.mean()), 3),
            "complied": round(float(bad.mean()), 3),
            "other_declines": [{"answer": t, "reward": round(float(r.mean()), 3),
                                "beats_complied": round(float((r > bad).mean()), 4)} for t, r in other.items()]}


def run(ctx) -> None:
    s = ctx.settings
    config, tok, rubric = s["model"], common.tokenizer(ctx), Rubric(common.world(s["world_seed"]))
    params_sft = common.params(ctx, "sft")
    groups = load_groups(ctx)
    pairs, test_pairs, eval_pairs = (pairs_of(groups[k]) for k in ("train", "test", "held_out_things"))
    rm, hist = reward.train_reward(params_sft, config, tok, pairs, s["reward"], log=ctx.log)
    model.save_params(ctx.out / "params.npz", rm, config)
    # before training the head is the confidence alone (w = 0, u = 1): what training added
    untrained = reward.reward_init(params_sft, config)
    right_test, right_things = (reward.ranked_right(rm, config, tok, p) for p in (test_pairs, eval_pairs))
    right_things_before = reward.ranked_right(untrained, config, tok, eval_pairs)
    acc = {"train": reward.pair_accuracy(rm, config, tok, pairs[:2000]),
           "held_out": reward.share(right_test), "held_out_things": reward.share(right_things)}
    before = {"held_out": reward.pair_accuracy(untrained, config, tok, test_pairs),
              "held_out_things": reward.share(right_things_before)}
    kinds = {"held_out": reward.accuracy_by_kind(rubric, test_pairs, right_test),
             "held_out_things": reward.accuracy_by_kind(rubric, eval_pairs, right_things),
             "held_out_things_before_training": reward.accuracy_by_kind(rubric, eval_pairs, right_things_before)}
    examples = []  # how the reward model scores a few ranked answers about held-out things
    for g in [g for g in groups["held_out_things"] if len(g["answers"]) > 2][:4]:
        r, c = reward.reward_scores(rm, config, tok, [g["qa"].question] * len(g["answers"]), g["answers"])
        examples.append({"question": g["qa"].question, "answers": [
            {"answer": a, "rubric": round(sc, 3), "reward": round(float(ri), 3), "confidence": round(float(ci), 3)}
            for a, sc, ri, ci in zip(g["answers"], g["scores"], r, c)]})
    common.write(ctx, {"pair_accuracy": acc, "before_training": before, "by_kind": kinds,
                       "confidence_weight": round(float(rm["reward.u"][0]), 4), "curve": hist, "examples": examples,
                       "decline_wording": decline_wording(rm, config, tok, groups["held_out_things"])})
    ctx.say(f"pair accuracy train {acc['train']:.3f}, test {acc['held_out']:.3f}, held-out things "
            f"{acc['held_out_things']:.3f}; the confidence alone: test {before['held_out']:.3f}, "
            f"held-out things {before['held_out_things']:.3f}")
