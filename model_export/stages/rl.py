"""Stage 6: RL against the reward model, with a KL penalty to the tuned model (rl.py)."""

from __future__ import annotations

import numpy as np

from model_export import model, rl, sft
from model_export.preferences import prompt_pool
from model_export.reward import load_reward_model
from model_export.rubric import Rubric
from model_export.stages import common
from model_export.stages.sft import entity_split

INPUTS = ("corpus", "sft", "reward")


def settings(prof) -> dict:
    a = prof.align
    return {"model": prof.model, "rl": a.rl, "max_new_tokens": a.max_new_tokens, "workers": a.workers,
            "held_out_fraction": a.held_out_fraction, "split_seed": a.split_seed, "world_seed": prof.world_seed}


def run(ctx) -> None:
    s = ctx.settings
    config, world, tok = s["model"], common.world(s["world_seed"]), common.tokenizer(ctx)
    tune, _, fake_train, _ = entity_split(s)
    rc = s["rl"]
    pool = prompt_pool(world, tune, fake_train, 4000, rc.fake_fraction, f"rl-{s['split_seed']}", rc.request_fraction)
    params_sft = common.params(ctx, "sft")
    policy = sft.copy_params(params_sft, config)   # a second copy: the one RL changes
    rm = load_reward_model(ctx.inputs["reward"] / "params.npz")
    curve = rl.rl_train(policy, params_sft, rm, config, tok, pool, Rubric(world), s["rl"], s["max_new_tokens"],
                        workers=s["workers"], log=ctx.log)
    model.save_params(ctx.out / "params.npz", policy, config)
    common.write(ctx, {"curve": curve, "kl_final": float(np.mean(curve["kl"][-10:])) if curve["kl"] else None})
    ctx.say(f"reward {np.mean(curve['reward'][-10:]):.3f}, KL {np.mean(curve['kl'][-10:]):.3f}, "
            f"rubric {np.mean(curve['rubric'][-10:]):.3f} (last ten steps)")
