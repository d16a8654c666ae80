"""How long each stage of the build takes to rerun, and whether it reproduces its cached output.

    .venv/bin/python bench/bench_stages.py                       # full profile, every stage after pre-training
    .venv/bin/python bench/bench_stages.py --profile smoke --stages rl evaluate
    .venv/bin/python bench/bench_stages.py --touch rl            # the edit scenario: a comment appended to rl.py

Each stage reruns into a temporary folder from its cached inputs (build the
profile first: python -m model_export.build); the cache is not changed. The
table gives its seconds, and whether its outputs hash to what the cache holds
(a stage is deterministic when they do: then a change that leaves its output
alone reruns nothing downstream).

--touch MODULE appends a comment to model_export/MODULE.py and runs the whole
build as a maintainer would (ensure_artifacts), then does the same with a
statement that changes nothing the stage computes; for each it prints which
stages ran and the wall time against the full build's total (report.json's
timing), and restores the file. The cache gains the stage folders of the
touched code.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from model_export import build  # noqa: E402


def rerun(prof, stages: list[str]) -> None:
    plan = build.plan(prof)
    if not plan["export"] or not plan["export"][2]:
        sys.exit(f"the {prof.name} build is not cached: run python -m model_export.build --profile {prof.name}")
    folders = {s: p[1] for s, p in plan.items()}
    print(f"{'stage':12} {'seconds':>8}  same output")
    for stage in stages:
        key, folder, info = plan[stage]
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / folder.name
            t0 = time.perf_counter()
            with open(Path(tmp) / "log", "w") as log:
                got = build.run_stage(prof, stage, key, out, {i: folders[i] for i in build.stage_module(stage).INPUTS},
                                      log)
            seconds = time.perf_counter() - t0
        print(f"{stage:12} {seconds:8.1f}  {got['output_hash'] == info['output_hash']}  "
              f"(cached run: {info['seconds']:.1f} s)", flush=True)


def rebuild_after(prof, path: Path, addition: bytes, full: float) -> None:
    original = path.read_bytes()
    try:
        path.write_bytes(original + addition)
        log = io.StringIO()
        t0 = time.perf_counter()
        build.ensure_artifacts(prof.name, log=log)
        seconds = time.perf_counter() - t0
    finally:
        path.write_bytes(original)
    ran = [line for line in log.getvalue().splitlines() if line.startswith("[build") and " done in " in line]
    print(f"after {addition.decode().strip()!r} in {path.name}: {seconds:.1f} s, {seconds / full:.3f} of the full "
          f"build's {full:.0f} s; " + ("; ".join(r.split("] ", 1)[1] for r in ran) or "no stage ran"), flush=True)


def touch(prof, module: str) -> None:
    """A comment (reruns nothing: keys ignore comments), then a statement that changes
    nothing the stage computes (reruns the stages whose code imports the module)."""
    full = json.loads((build.artifact_dir(prof.name) / "report.json").read_text())["timing"]["total_seconds"]
    path = build.CODE_DIR / f"{module}.py"
    rebuild_after(prof, path, b"\n# bench_stages.py --touch\n", full)
    rebuild_after(prof, path, b"\nBENCH_TOUCH = None\n", full)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--profile", default="full", choices=sorted(build.PROFILES))
    ap.add_argument("--stages", nargs="*", default=[s for s in build.STAGES if s not in ("corpus", "pretrain")])
    ap.add_argument("--touch", metavar="MODULE", help="append a comment, then a statement, to model_export/MODULE.py "
                    "and rebuild each time")
    args = ap.parse_args()
    prof = build.resolve_profile(args.profile)
    if args.touch:
        touch(prof, args.touch)
    else:
        rerun(prof, args.stages)


if __name__ == "__main__":
    main()
