"""The build: a pipeline of stages, each cached under a key of its own.

    python -m model_export.build [--profile full|smoke] [--force]

    from model_export.build import ensure_artifacts
    folder = ensure_artifacts("smoke")   # pathlib.Path

The stages (model_export/stages/, in this order):

    corpus       the world's documents as token streams, and the BPE tokenizer
    pretrain     the base model, its loss curves and its abilities as it learns
    sft          instruction tuning
    preferences  answers sampled from the tuned model, ranked by the rubric
    reward       the reward model, trained on the ranked pairs
    rl           RLHF: the tuned model against the reward model, with a KL penalty
    evaluate     base, tuned and aligned models on the same questions
    agent        tool-use tuning and the agent's evaluation
    export       the shipped files (ONNX graphs, parameter files, run.py), checked, and report.json

A stage's key is a hash of its code (its module and every model_export module
it imports, followed through their imports; comments and docstrings left out),
its settings (its part of the profile, config.py) and the content of its
inputs' outputs. So a change to the code of rl.py reruns rl; if the new policy
is bit for bit the old one (a renamed variable, a faster loop), evaluate and
export find their keys unchanged and nothing else runs. A comment, or a change
under docs/ or snippets/, reruns nothing.

Each stage writes into .cache/stages/<profile>-<stage>-<key12>/ (export into
.cache/model/<profile>-<key12>/, the folder the site ships from; its files
are listed in FILES), in a temporary folder renamed into place when the stage
finishes, so a folder that exists is complete. Each holds stage.json (its key,
how long it ran, the hash of its outputs) and stage.log.
"""

from __future__ import annotations

import argparse
import ast
import fcntl
import hashlib
import importlib
import json
import os
import shutil
import sys
import time
from dataclasses import asdict, dataclass, is_dataclass
from pathlib import Path

from model_export.checkpoints import CHECKPOINTS, SHIPPED_FILES
from model_export.config import PROFILES, Profile

ROOT = Path(__file__).resolve().parents[1]
CODE_DIR = Path(__file__).resolve().parent
CACHE_DIR = ROOT / ".cache" / "model"          # finished builds: what the site ships
STAGE_DIR = ROOT / ".cache" / "stages"         # every other stage's output
STAGES = ("corpus", "pretrain", "sft", "preferences", "reward", "rl", "evaluate", "agent", "export")
KEEP = 3  # stage folders kept per profile and stage (the newest); older ones are deleted after a build
FILES = tuple(SHIPPED_FILES) + tuple(ck["params"] for ck in CHECKPOINTS)

REPORT_KEYS = {
    "profile": "profile name", "hash": "the export stage's cache key",
    "model": "GPTConfig", "n_params": "parameter count", "pretrain": "TrainConfig",
    "corpus": "documents, tokens and characters per token, train and val",
    "tokenizer": "vocab size, eot id, an example split into pieces",
    "loss_curve": "step, train_loss (mean over curve_every steps), lr",
    "eval_curve": "step, train, val: loss on fixed windows (held-out val text)",
    "final": "train_loss and val_loss at the end; uniform_loss = ln(vocab_size)",
    "abilities": "step, val_loss, and per ability (labels) an exact and a partial score in [0, 1], measured during "
                 "pre-training every abilities_every steps (abilities.py); items: test items per ability; answer_tokens: "
                 "mean tokens per answer; seconds: the time the measurements took, val loss included",
    "timing": "ms_per_step, pretrain_seconds, align_seconds, agent_seconds, stages (seconds each stage took when it "
              "last ran), total_seconds, cpus, numpy version, the BLAS numpy calls (name, version, configuration), "
              "python version and machine",
    "capitals": "accuracy of greedy 'The capital of X is' completions over all countries, with each completion",
    "flash_flood": "next-token top candidates after the prompt, and the probability of each candidate word",
    "samples": "greedy completions of a few prompts",
    "onnx": "opset, size, inputs/outputs, max |numpy - onnxruntime|, operations in the graph (of model.onnx)",
    "align": "SFT, preferences, reward model, RL, and the evaluation of base, SFT and RLHF (stages sft to evaluate)",
    "agent": "tool-use tuning and the agent's evaluation with and without the constraint (agent_train.agent_stage)",
    "checkpoints": "the shipped checkpoints: name, file, label, params file, safetensors file, onnx bytes, "
                   "max |numpy - onnxruntime|",
    "run_file": "run.py: lines, bytes, tolerance and max |run.py - numpy|, |run.py - onnxruntime| over logits, greedy texts "
                "compared with numpy's, each parameter file's bytes, and the output of RUN_EXAMPLES",
    "reward_onnx": "the reward model's graph: file, bytes, max |numpy - onnxruntime| over reward and confidence",
}


def resolve_profile(profile: str | None) -> Profile:
    name = profile or os.environ.get("LLM_GUIDE_PROFILE") or "full"
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; choose from {sorted(PROFILES)}")
    return PROFILES[name]


def stage_module(name: str):
    return importlib.import_module(f"model_export.stages.{name}")


# ----------------------------------------------------------------------------
# Cache keys


def module_path(name: str) -> Path | None:
    """model_export.x.y -> its file, or None for anything outside model_export."""
    if name != "model_export" and not name.startswith("model_export."):
        return None
    parts = name.split(".")[1:]
    if not parts:
        return CODE_DIR / "__init__.py"
    rel = Path(*parts)
    for path in (CODE_DIR / rel.with_suffix(".py"), CODE_DIR / rel / "__init__.py"):
        if path.is_file():
            return path
    return None


_cache: dict = {}  # (what, path, mtime, size) -> a parsed file or its code text: the keys are checked on every build


def cached(what: str, path: Path, make):
    st = path.stat()
    key = (what, path, st.st_mtime_ns, st.st_size)
    if key not in _cache:
        _cache[key] = make(path)
    return _cache[key]


def syntax_tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"))


def imported_files(path: Path) -> set[Path]:
    """The model_export files `path` imports, anywhere in it (a lazy import inside
    a function counts: it runs when the stage runs)."""
    found = set()
    for node in ast.walk(cached("tree", path, syntax_tree)):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # "from model_export import sft": sft may be a module or a name in __init__
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        for name in names:
            p = module_path(name)
            if p is not None and p.name != "__init__.py":
                found.add(p)
    return found


def code_files(stage: str) -> list[Path]:
    """The stage's module and every model_export module it reaches through imports."""
    todo, seen = [CODE_DIR / "stages" / f"{stage}.py"], set()
    while todo:
        path = todo.pop()
        if path not in seen:
            seen.add(path)
            todo += imported_files(path) - seen
    return sorted(seen)


def settings_json(settings: dict) -> str:
    plain = {k: asdict(v) if is_dataclass(v) else v for k, v in settings.items()}
    return json.dumps(plain, sort_keys=True)


def code_text(path: Path) -> str:
    """The module's code without its comments and docstrings (the syntax tree, printed):
    rewording an explanation retrains nothing; changing a statement does."""
    tree = syntax_tree(path)  # its own tree: this one loses its docstrings
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and body
                and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            node.body = body[1:] or [ast.Pass()]
    return ast.dump(tree)


def code_digest(stage: str) -> str:
    h = hashlib.sha256()
    for path in code_files(stage):
        h.update(str(path.relative_to(CODE_DIR)).encode() + b"\0" + cached("code", path, code_text).encode() + b"\0")
    return h.hexdigest()


def stage_key(stage: str, prof: Profile, input_hashes: dict[str, str], code: str | None = None) -> str:
    """code: the stage's code_digest, if taken already (a build takes all of them
    before it starts, so that an edit during a long build cannot give a stage a
    key for code it did not run)."""
    h = hashlib.sha256(stage.encode() + b"\0" + (code or code_digest(stage)).encode() + b"\0")
    h.update(settings_json(stage_module(stage).settings(prof)).encode() + b"\0")
    h.update(json.dumps(input_hashes, sort_keys=True).encode())
    return h.hexdigest()


def stage_folder(prof: Profile, stage: str, key: str) -> Path:
    if stage == "export":
        return CACHE_DIR / f"{prof.name}-{key[:12]}"
    return STAGE_DIR / f"{prof.name}-{stage}-{key[:12]}"


def is_timing(key: str) -> bool:
    return key == "seconds" or key.endswith("_seconds") or key.startswith("ms_per_")


def without_timing(x):
    if isinstance(x, dict):
        return {k: without_timing(v) for k, v in x.items() if not is_timing(k)}
    if isinstance(x, list):
        return [without_timing(v) for v in x]
    return x


def output_hash(folder: Path) -> str:
    """What downstream stages' keys depend on: the stage's files, not how fast it ran.
    JSON files are hashed without their timings (keys "seconds", "*_seconds",
    "ms_per_*"), which differ on every run; everything else byte for byte."""
    h = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.name not in ("stage.json", "stage.log")):
        data = path.read_bytes()
        if path.suffix == ".json":
            data = json.dumps(without_timing(json.loads(data)), sort_keys=True).encode()
        h.update(str(path.relative_to(folder)).encode() + b"\0" + data + b"\0")
    return h.hexdigest()


def read_stage(folder: Path) -> dict | None:
    try:
        return json.loads((folder / "stage.json").read_text())
    except (OSError, ValueError):
        return None


def plan(prof: Profile) -> dict[str, tuple[str, Path, dict | None]]:
    """Each stage's key, folder and stage.json, as far as cached stages reach:
    a stage whose inputs are not all built yet has no key yet (None)."""
    out: dict = {}
    for stage in STAGES:
        inputs = stage_module(stage).INPUTS
        if any(out.get(i) is None or out[i][2] is None for i in inputs):
            out[stage] = None
            continue
        key = stage_key(stage, prof, {i: out[i][2]["output_hash"] for i in inputs})
        folder = stage_folder(prof, stage, key)
        out[stage] = (key, folder, read_stage(folder))
    return out


def artifact_dir(profile: str | None = None) -> Path:
    """The finished build's folder if every stage is cached; else a path that does not exist."""
    prof = resolve_profile(profile)
    final = plan(prof)["export"]
    return final[1] if final and final[2] else CACHE_DIR / f"{prof.name}-unbuilt"


# ----------------------------------------------------------------------------
# Running the stages


@dataclass
class Context:
    """What a stage's run(ctx) sees: its settings, its inputs' folders, its own folder."""
    stage: str
    key: str
    settings: dict
    inputs: dict[str, Path]
    out: Path
    log: object   # a text stream: the console and stage.log

    def say(self, msg: str) -> None:
        print(f"[{self.stage}] {msg}", file=self.log, flush=True)


class Tee:
    """Write progress both to the console and to the stage's log file. isatty follows
    the console, so a terminal gets live lines (rewritten in place) and the file gets
    every line that is not rewritten."""

    def __init__(self, console, logfile):
        self.console, self.logfile, self.line = console, logfile, ""

    def write(self, s):
        if self.console is not None:
            self.console.write(s)
        # print() writes a line's text and its end separately: keep the text until
        # the end arrives, then write it on "\n" and drop it on "\r" (a live line)
        self.line += s
        while "\n" in self.line or "\r" in self.line:
            cut = min(i for i in (self.line.find("\n"), self.line.find("\r")) if i >= 0)
            if self.line[cut] == "\n":
                self.logfile.write(self.line[:cut + 1])
            self.line = self.line[cut + 1:]

    def flush(self):
        if self.console is not None:
            self.console.flush()
        self.logfile.flush()

    def isatty(self):
        return self.console is not None and getattr(self.console, "isatty", lambda: False)()


def run_stage(prof: Profile, stage: str, key: str, folder: Path, inputs: dict[str, Path], log) -> dict:
    tmp = folder.with_name(f".tmp-{folder.name}-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        t0 = time.perf_counter()
        with open(tmp / "stage.log", "w", encoding="utf-8") as logfile:
            ctx = Context(stage, key, stage_module(stage).settings(prof), inputs, tmp, Tee(log, logfile))
            stage_module(stage).run(ctx)
        info = {"stage": stage, "key": key, "seconds": round(time.perf_counter() - t0, 1),
                "output_hash": output_hash(tmp), "finished": round(time.time())}
        (tmp / "stage.json").write_text(json.dumps(info, indent=1))
        if folder.exists():  # a forced rebuild replaces the old folder
            shutil.rmtree(folder)
        os.rename(tmp, folder)
        return info
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def ensure_artifacts(profile: str | None = None, force: bool = False, log=sys.stderr) -> Path:
    """The folder of built artifacts for `profile` ("full", "smoke"; None reads
    LLM_GUIDE_PROFILE, else "full"), running the stages whose outputs are missing."""
    prof = resolve_profile(profile)
    final = None if force else plan(prof)["export"]
    if final and final[2]:
        return final[1]
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    STAGE_DIR.mkdir(parents=True, exist_ok=True)
    # One builder per profile: a second process (the site build while the tests
    # run, say) waits here, then finds the finished folders.
    with open(CACHE_DIR / f".{prof.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        remove_abandoned_builds()
        return build(prof, force=force, log=log)


def build(prof: Profile, force: bool = False, log=sys.stderr) -> Path:
    say = (lambda msg: print(f"[build {prof.name}] {msg}", file=log, flush=True)) if log is not None else (lambda m: None)
    t_start = time.perf_counter()
    for stage in STAGES:  # import every stage now: the code digests below are of the code this process runs
        stage_module(stage)
    code = {stage: code_digest(stage) for stage in STAGES}
    done: dict[str, tuple[Path, dict]] = {}
    ran: dict[str, float] = {}
    for n, stage in enumerate(STAGES, 1):
        inputs = stage_module(stage).INPUTS
        key = stage_key(stage, prof, {i: done[i][1]["output_hash"] for i in inputs}, code[stage])
        folder = stage_folder(prof, stage, key)
        info = None if force else read_stage(folder)
        if info is None:
            say(f"stage {n}/{len(STAGES)}: {stage}{last_time(prof, stage)} ...")
            info = run_stage(prof, stage, key, folder, {i: done[i][0] for i in inputs}, log)
            ran[stage] = info["seconds"]
            say(f"stage {n}/{len(STAGES)}: {stage} done in {info['seconds']:.1f} s")
        done[stage] = (folder, info)
    total = time.perf_counter() - t_start
    say("stages: " + ", ".join(f"{s} {ran[s]:.1f} s" if s in ran else f"{s} cached" for s in STAGES))
    say(f"done in {total:.1f} s ({len(ran)} of {len(STAGES)} stages ran): {done['export'][0]}")
    prune(prof, keep=KEEP, used=[folder for folder, _ in done.values()])
    return done["export"][0]


def last_time(prof: Profile, stage: str) -> str:
    """How long the stage took the last time it ran here, for a newcomer watching the first build."""
    folders = (CACHE_DIR.glob(f"{prof.name}-*") if stage == "export" else STAGE_DIR.glob(f"{prof.name}-{stage}-*"))
    runs = [info for info in map(read_stage, folders) if info]
    return f" (last time {max(runs, key=lambda i: i.get('finished', 0))['seconds']:.0f} s)" if runs else ""


def remove_abandoned_builds():
    """Delete temporary folders of builds whose process no longer exists (killed mid-build)."""
    for tmp in list(CACHE_DIR.glob(".tmp-*")) + list(STAGE_DIR.glob(".tmp-*")):
        try:
            os.kill(int(tmp.name.rsplit("-", 1)[1]), 0)
        except ProcessLookupError:
            shutil.rmtree(tmp, ignore_errors=True)
        except (ValueError, PermissionError):
            pass


def prune(prof: Profile, keep: int, used=()) -> None:
    """Keep `keep` folders of each stage of this profile, the ones this build `used` first, then the
    newest; the cache would grow with every edit. (A folder a build just read from the cache can be
    older than others made since: it stays.) Folders of the cache's older layout (one folder per
    build, no stage.json) go too."""
    used = {Path(p).resolve() for p in used}
    for old in CACHE_DIR.glob(f"{prof.name}-*"):
        if old.is_dir() and not (old / "stage.json").exists():
            shutil.rmtree(old, ignore_errors=True)
    for stale in CACHE_DIR.glob(f".{prof.name}-*.lock"):
        stale.unlink(missing_ok=True)
    for stage in STAGES:
        if stage == "export":
            folders = [p for p in CACHE_DIR.glob(f"{prof.name}-*") if (p / "stage.json").is_file()]
        else:
            folders = list(STAGE_DIR.glob(f"{prof.name}-{stage}-*"))
        for old in sorted(folders, key=lambda p: (p.resolve() in used, p.stat().st_mtime), reverse=True)[keep:]:
            shutil.rmtree(old, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--profile", default=None, help="full (default, or $LLM_GUIDE_PROFILE) or smoke")
    ap.add_argument("--force", action="store_true", help="rerun every stage even where it is cached")
    args = ap.parse_args()
    t0 = time.perf_counter()
    path = ensure_artifacts(args.profile, force=args.force)
    print(f"{path} ({time.perf_counter() - t0:.2f} s)")


if __name__ == "__main__":
    main()
