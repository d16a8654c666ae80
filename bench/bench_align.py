"""The alignment stage's figures against its targets, on a pre-trained checkpoint.

    .venv/bin/python bench/bench_align.py                    # newest .cache/model/full-*/, "full" settings
    .venv/bin/python bench/bench_align.py --profile smoke --params path/params.npz --tokenizer path/tokenizer.json
    .venv/bin/python bench/bench_align.py --json out.json    # also write the whole report

Prints wall time per phase (SFT, preferences, reward model, RL, evaluation)
and, per checkpoint (base, sft, rlhf): held-out and held-in answer accuracy,
the rate of invented answers about things that do not exist, and the rubric's
score; the reward model's held-out pair accuracy; RL's final KL. Each target
of the issue is checked and printed as PASS or FAIL. Time it on an idle
machine: the build's budget for this stage is 8 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from model_export import align, model  # noqa: E402
from model_export import world as W  # noqa: E402
from model_export.build import token_stream  # noqa: E402
from model_export.tokenizer import Tokenizer  # noqa: E402


def load_params_any(path):
    """model.load_params, also for checkpoints written before the config was stored as JSON."""
    try:
        return model.load_params(path)
    except ValueError:
        data = np.load(path)
        config = model.GPTConfig(**ast.literal_eval(str(data["config"])))
        flat = np.zeros(model.num_params(config), dtype=data["wte"].dtype)
        params = model.views(flat, config)
        for name, p in params.items():
            p[...] = data[name]
        return params, config


def newest_checkpoint() -> Path:
    dirs = sorted((ROOT / ".cache" / "model").glob("full-*/params.npz"), key=lambda p: p.stat().st_mtime)
    if not dirs:
        sys.exit("no .cache/model/full-*/params.npz: build the full model first (python -m model_export.build)")
    return dirs[-1].parent


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--profile", default="full", choices=sorted(align.ALIGN_PROFILES))
    ap.add_argument("--params", help="params.npz (default: the newest full build's)")
    ap.add_argument("--tokenizer", help="tokenizer.json (default: next to params)")
    ap.add_argument("--json", help="write the whole report here")
    args = ap.parse_args()
    params_path = Path(args.params) if args.params else newest_checkpoint() / "params.npz"
    tok_path = Path(args.tokenizer) if args.tokenizer else params_path.parent / "tokenizer.json"
    params, config = load_params_any(params_path)
    tok = Tokenizer.load(tok_path)
    world = W.make_world(0)
    t0 = time.perf_counter()
    replay = token_stream(tok, W.pretrain_documents(world, "train", seed=0))
    print(f"checkpoint {params_path}; replay stream {len(replay):,} tokens ({time.perf_counter() - t0:.1f} s); "
          f"{os.cpu_count()} cpus, load average {os.getloadavg()[0]:.1f}", flush=True)
    out = align.align_stages(params, config, tok, world, align.ALIGN_PROFILES[args.profile], replay)
    rep = out["report"]
    if args.json:
        Path(args.json).write_text(json.dumps(rep, indent=1))
    ck = rep["checkpoints"]
    print("\ntiming (s):", json.dumps(rep["timing"]))
    print(f"{'':6} {'held-out acc':>12} {'exact':>6} {'held-in acc':>11} {'goals':>6} {'invented':>8} "
          f"{'idk(real)':>9} {'rubric':>6}")
    for name, e in ck.items():
        print(f"{name:6} {e['held_out']['accuracy']:>12.3f} {e['held_out']['exact']:>6.3f} "
              f"{e['held_in']['accuracy']:>11.3f} {e['held_out']['goals_accuracy'] or 0:>6.3f} "
              f"{e['fake']['invented_rate']:>8.3f} {e['held_out']['idk_rate']:>9.3f} {e['rubric']:>6.3f}")
    rm_acc = rep["reward_model"]["pair_accuracy"]["held_out"]
    real_drop = max(ck["sft"]["held_out"]["accuracy"] - ck["rlhf"]["held_out"]["accuracy"],
                    ck["sft"]["held_in"]["accuracy"] - ck["rlhf"]["held_in"]["accuracy"])
    checks = [
        ("SFT held-out exact answers >= 90%", ck["sft"]["held_out"]["exact"] >= 0.9),
        ("reward model held-out pair accuracy >= 85%", rm_acc >= 0.85),
        ("RL halves invented answers", ck["rlhf"]["fake"]["invented_rate"] <= 0.5 * ck["sft"]["fake"]["invented_rate"]),
        ("RL keeps real accuracy (drop <= 2 points)", real_drop <= 0.02),
        ("RL raises the rubric score", ck["rlhf"]["rubric"] > ck["sft"]["rubric"]),
        ("alignment stage <= 480 s", rep["timing"]["total_seconds"] <= 480),
    ]
    print(f"reward model held-out pair accuracy {rm_acc:.3f}; RL final KL {rep['rl']['kl_final']:.3f}")
    for name, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {name}")
    print("\nside by side:")
    for s in rep["samples"]:
        print(f"  [{s['kind']}] {s['question']}\n    base: {s['base']}\n    sft:  {s['sft']}\n    rlhf: {s['rlhf']}")


if __name__ == "__main__":
    main()
