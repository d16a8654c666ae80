"""Stage 8: the agent, tuned from the SFT model on tool-use transcripts, and its evaluation."""

from __future__ import annotations

import json

from model_export import agent, agent_train, model
from model_export.stages import common

INPUTS = ("corpus", "sft")


def settings(prof) -> dict:
    return {"model": prof.model, "agent": prof.agent, "world_seed": prof.world_seed}


def run(ctx) -> None:
    s = ctx.settings
    world = common.world(s["world_seed"])
    out = agent_train.agent_stage(common.params(ctx, "sft"), s["model"], common.tokenizer(ctx), world, s["agent"],
                                  log=ctx.log)
    model.save_params(ctx.out / "params.npz", out["params"], s["model"])
    common.write(ctx, out["report"])
    with open(ctx.out / "knowledge.json", "w", encoding="utf-8") as f:  # the search tool's index, for the page
        json.dump(agent.knowledge_base(world), f, ensure_ascii=False, separators=(",", ":"))
