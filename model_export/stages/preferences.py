"""Stage 4: answers sampled from the tuned model, ranked by the rubric into pairs.

A sixth of the prompts is held back as the reward model's test set, as usual
in RLHF; prompts about held-out things (whose facts no ranking ever showed)
make a second, harder test set.
"""

from __future__ import annotations

from model_export import decoding, preferences
from model_export.rubric import Rubric
from model_export.stages import common
from model_export.stages.sft import entity_split

INPUTS = ("corpus", "sft")


def settings(prof) -> dict:
    a = prof.align
    return {"model": prof.model, "prompts": a.pref_prompts, "eval_prompts": a.pref_eval_prompts,
            "samples": a.pref_samples, "temperature": a.pref_temperature, "max_new_tokens": a.max_new_tokens,
            "fake_fraction": a.pref_fake_fraction, "request_fraction": a.pref_request_fraction,
            "held_out_fraction": a.held_out_fraction,
            "split_seed": a.split_seed, "world_seed": prof.world_seed}


def run(ctx) -> None:
    s = ctx.settings
    config, world, tok = s["model"], common.world(s["world_seed"]), common.tokenizer(ctx)
    params = common.params(ctx, "sft")
    tune, held, fake_train, fake_eval = entity_split(s)
    rubric = Rubric(world)
    rng = decoding.XorShift(s["split_seed"])
    seed = s["split_seed"]
    ranked = {}
    for name, names, fake, n, tag in (("train", tune, fake_train, s["prompts"], f"pref-{seed}"),
                                      ("held_out_things", held, fake_eval, s["eval_prompts"], f"pref-eval-{seed}")):
        qas = preferences.prompt_pool(world, names, fake, n, s["fake_fraction"], tag, s["request_fraction"])
        answers = preferences.sample_answers(params, config, tok, qas, s["samples"], s["temperature"],
                                             s["max_new_tokens"], rng)
        ranked[name] = preferences.rank(rubric, qas, answers)
    groups = ranked["train"]
    n_test = len(groups) // 6
    split = {"train": groups[n_test:], "test": groups[:n_test], "held_out_things": ranked["held_out_things"]}
    common.write(ctx, {k: [preferences.group_to_dict(g) for g in v] for k, v in split.items()}, "groups.json")
    pairs = {k: preferences.pairs_of(v) for k, v in split.items()}
    common.write(ctx, {"prompts": len(split["train"]), "pairs": len(pairs["train"]),
                       "test_prompts": n_test, "test_pairs": len(pairs["test"]),
                       "held_out_prompts": len(split["held_out_things"]),
                       "held_out_pairs": len(pairs["held_out_things"]),
                       "examples": [{"question": g["qa"].question,
                                     "ranked": [{"answer": a, "score": round(sc, 3)} for sc, a in
                                                sorted(zip(g["scores"], g["answers"]), reverse=True)]}
                                    for g in groups if len(g["answers"]) > 2][:4]})
    ctx.say(f"{len(pairs['train'])} training and {len(pairs['test'])} test pairs from {len(groups)} prompts, "
            f"{len(pairs['held_out_things'])} pairs about held-out things")


def load_groups(ctx) -> dict:
    """The ranked groups by split (train, test, held_out_things), as preferences.rank made them."""
    return {k: [preferences.group_from_dict(g) for g in v] for k, v in common.read(ctx, "preferences", "groups.json").items()}
