"""Tool-use tuning: turn the instruction-tuned model into an agent, and measure it.

The instruction-tuned model (sft.py) answers questions from memory. This
stage tunes a copy of it on agent transcripts (agent.py): the question, a JSON
tool call, the tool's observation, perhaps a second call, then "Final Answer:".
The loss covers only what the assistant writes (calls and answers), as in SFT.

What makes it work on a model this small:

- Random values. Most transcripts are about invented players, countries,
  years, goal counts and capitals, drawn fresh for every batch, so what an
  observation says cannot be remembered, only read. A model tuned on the
  world's true values learns the format but writes remembered (usually wrong)
  numbers instead of copying the observation. Copying is also what makes it work for entities it never saw in tuning, such
  as Lionel Messi, held out on purpose.
- Real-looking names, and some real transcripts. Invented names made of
  syllables only teach the model to write syllable names rather than copy
  ("Italy" comes out garbled); names that mix syllables, letter patterns and
  real words of the world copy better, and a fifth of the transcripts about
  the training split's real players and countries, with their true facts
  (real_fraction), better still (the held-out accuracy is in report.json).
- Whole transcripts in the window. A transcript is at most about 125 tokens
  with a tokenizer that has merges for the JSON ('{"', '":', 'calculator'),
  which is why the build trains the BPE on pre-training text plus agent
  transcripts (stages/corpus.py); a transcript longer than the context is dropped.

The agent is a separate checkpoint (model_agent.onnx): the chat model answers
"What is the capital of France?" from memory, the agent answers it with a
search, and one model cannot learn both for the same prompt without some
signal (a real system prompt listing the tools) that the 128-token window has
no room for.

`evaluate_agent` runs the agent loop (agent.run_agent) greedily on the held-out
evaluation questions (agent.eval_questions) with the real tools on the real
world, with the schema constraint on the tool calls and without it.
"""

from __future__ import annotations

import random
import sys
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass

import numpy as np

from model_export import agent, decoding, model, sft, train
from model_export.world import World


@dataclass(frozen=True)
class AgentConfig:
    steps: int = 1200
    batch_rows: int = 32         # rows of packed transcripts per batch
    lr: float = 1e-3
    warmup_steps: int = 30
    weight_decay: float = 0.0
    real_fraction: float = 0.2   # share of transcripts with the world's true values (training entities only)
    bpe_transcripts: int = 3000  # transcripts added to the tokenizer's training text (build.py)
    max_turn_tokens: int = 48    # tokens per assistant turn at evaluation (a tool call needs 31 bytes at least)
    max_steps: int = 4           # tool calls per question at evaluation
    eval_max: int = 0            # cap the evaluation questions (0: all); smoke builds use it
    sampled_calls: int = 1000    # tool calls sampled at temperatures 0.7-1.5, with and without the constraint
    workers: int = 2
    seed: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


# ---------------------------------------------------------------------------
# Training


def transcript_batch(tok, world: World, rng: random.Random, ac: AgentConfig, block_size: int):
    """batch_rows rows of whole transcripts packed in order; loss weights spread
    evenly over the tokens the assistant writes, zero elsewhere."""
    n = ac.batch_rows * 2 + 8  # most transcripts take most of a row; short ones pack two or three to a row
    real = sum(rng.random() < ac.real_fraction for _ in range(n))
    ts = (agent.agent_transcripts(world, n - real, rng, random_values=True)
          + agent.agent_transcripts(world, real, rng, random_values=False))
    rng.shuffle(ts)
    seqs = []
    for t in ts:
        ids, mask = agent.encode_transcript(tok, t)
        seqs.append((ids, [float(m) for m in mask]))
    x, y, m = sft.pack_rows(seqs, ac.batch_rows, block_size, tok.eot_id)
    return x, y, (m / max(m.sum(), 1.0)).astype(np.float32)


def agent_train(params_sft, config: model.GPTConfig, tok, world: World, ac: AgentConfig, log=sys.stderr):
    """Tune a copy of params_sft on agent transcripts. Returns (params, History)."""
    params = sft.copy_params(params_sft, config)
    tc = train.TrainConfig(steps=ac.steps, batch_size=ac.batch_rows, lr=ac.lr, warmup_steps=ac.warmup_steps,
                           weight_decay=ac.weight_decay, seed=ac.seed, eval_every=max(1, ac.steps // 5),
                           workers=ac.workers)
    rng = random.Random(f"agent-{ac.seed}")
    hist = train.train(params, config, tc, lambda step, np_rng: transcript_batch(tok, world, rng, ac, config.block_size),
                       log=log, label="agent")
    return params, hist


# ---------------------------------------------------------------------------
# Running the model as the agent's generator


class ContextFull(Exception):
    pass


class CachedLogits:
    """logits_fn(ids) -> next-token logits, for a conversation that grows.

    Keeps the key/value cache of the last call and feeds only the tokens after
    the longest common prefix, so the agent loop (which re-encodes the whole
    transcript each turn) costs one step per new token, not one whole forward."""

    def __init__(self, params, config: model.GPTConfig):
        self.params, self.config = params, config
        self.ids: list[int] = []
        self.kv = model.empty_kv(config, 1, params["wte"].dtype)
        self.logits = None

    def __call__(self, ids: list[int]) -> np.ndarray:
        ids = list(ids)
        if not ids:
            raise ValueError("no tokens: the model needs at least one to predict the next")
        if len(ids) > self.config.block_size:
            raise ContextFull(f"the transcript is longer than the {self.config.block_size}-token context")
        n = 0
        for a, b in zip(self.ids, ids):
            if a != b:
                break
            n += 1
        if n == len(ids) == len(self.ids) and self.logits is not None:
            return self.logits
        if n == len(ids):  # ids is a prefix of what we have: recompute its last token
            n -= 1
        self.kv = self.kv[:, :, :, :, :n]
        logits, self.kv = model.forward_step(self.params, self.config, np.array([ids[n:]], dtype=np.int64), self.kv)
        self.ids, self.logits = ids, logits[0, -1]
        return self.logits


def run_question(params, config, tok, question: str, tools: dict, constrained: bool, ac: AgentConfig) -> dict:
    """The agent loop on one question, greedy; the result of agent.run_agent
    (or a stop when the transcript outgrows the context)."""
    logits_fn = CachedLogits(params, config)
    gen = agent.token_generate_fn(logits_fn, tok, None, 0.0, ac.max_turn_tokens)
    json_fn = agent.constrained_json_fn(logits_fn, tok, None, 0.0, ac.max_turn_tokens) if constrained else None
    try:
        return agent.run_agent(gen, question, tools, max_steps=ac.max_steps, json_fn=json_fn)
    except ContextFull as e:
        return {"transcript": None, "steps": [], "answer": None, "stopped": f"stopped: {e}"}


def evaluate_agent(params, config, tok, world: World, ac: AgentConfig, constrained: bool,
                   examples: int = 3) -> dict:
    """Greedy agent on agent.eval_questions: accuracy overall, per split and per
    shape; how many tool calls parsed and validated; why runs stopped."""
    items = agent.eval_questions(world)
    if ac.eval_max:
        items = items[:1] + random.Random("agent-eval-cap").sample(items[1:], min(ac.eval_max, len(items)) - 1)
    tools = agent.make_tools(world)
    rows, calls, valid = [], 0, 0
    t0 = time.perf_counter()
    for item in items:
        r = run_question(params, config, tok, item.question, tools, constrained, ac)
        actions = [s for s in r["steps"] if s["kind"] == "action"]
        calls += len(actions)
        valid += sum(s["tool"] is not None for s in actions)
        rows.append({"question": item.question, "expected": item.answer, "answer": r["answer"],
                     "correct": r["answer"] == item.answer, "split": item.split, "shape": item.shape,
                     "stopped": r["stopped"], "transcript": r["transcript"]})

    def acc(rs):
        return round(sum(r["correct"] for r in rs) / len(rs), 4) if rs else None

    by = lambda key: {k: {"accuracy": acc(v), "n": len(v)} for k, v in
                      sorted(_group(rows, key).items())}
    return {"constrained": constrained, "n": len(rows), "accuracy": acc(rows),
            "correct": sum(r["correct"] for r in rows),
            "held_out_accuracy": acc([r for r in rows if r["split"] != "train_entity"]),
            "by_split": by("split"), "by_shape": by("shape"),
            "tool_calls": calls, "valid_tool_calls": valid,
            "valid_rate": round(valid / calls, 4) if calls else None,
            "stopped": dict(Counter(r["stopped"] for r in rows)),
            "seconds": round(time.perf_counter() - t0, 1),
            "examples": rows[:examples],
            "wrong": [r for r in rows if not r["correct"]][:examples]}


def sampled_calls(params, config, tok, world: World, n: int, constrained: bool, seed: int = 0,
                  t_min: float = 0.7, t_max: float = 1.5, max_tokens: int = 48) -> dict:
    """Sample n first tool calls (questions cycled from agent.eval_questions,
    temperatures spread evenly over [t_min, t_max]) and count how many parse
    and match the tool schema: with the constraint that must be all of them."""
    from model_export.constrain import ConstrainedDecoder, generate
    from model_export.grammar import compile_schema

    items = agent.eval_questions(world)
    decoder = ConstrainedDecoder(compile_schema(agent.TOOL_SCHEMA), tok)
    rng = decoding.XorShift(seed)
    valid, bad = 0, []
    t0 = time.perf_counter()
    for k in range(n):
        question = items[k % len(items)].question
        temperature = t_min + (t_max - t_min) * (k % 9) / 8
        logits_fn = CachedLogits(params, config)
        prefix = tok.encode(agent.USER + question + agent.ASSISTANT, allow_special=True)
        budget = min(max_tokens, config.block_size - len(prefix) - 1)  # the call must fit the context
        text = ""
        try:
            if constrained:
                text = generate(lambda ids: logits_fn(prefix + ids), decoder, rng, temperature, budget)["text"]
            else:
                gen = agent.token_generate_fn(logits_fn, tok, rng, temperature, budget)
                text, _ = agent.first_line(gen(agent.USER + question + agent.ASSISTANT))
            agent.parse_call(text)
            valid += 1
        except (ValueError, ContextFull) as e:
            bad.append(text or str(e))
    return {"constrained": constrained, "samples": n, "valid": valid, "valid_rate": round(valid / n, 4) if n else None,
            "temperatures": [t_min, t_max], "invalid_examples": bad[:5],
            "ms_per_sample": round(1000 * (time.perf_counter() - t0) / max(1, n), 1)}


def _group(rows, key):
    out = defaultdict(list)
    for r in rows:
        out[r[key]].append(r)
    return out


def agent_stage(params_sft, config: model.GPTConfig, tok, world: World, ac: AgentConfig, log=sys.stderr) -> dict:
    """Tune, then evaluate with and without the constraint.
    Returns {"params": the agent's weights, "report": dict for report.json["agent"]}."""
    say = (lambda msg: print(f"[agent] {msg}", file=log, flush=True)) if log is not None else (lambda msg: None)
    t0 = time.perf_counter()
    params, hist = agent_train(params_sft, config, tok, world, ac, log=log)
    train_seconds = time.perf_counter() - t0
    say(f"tool-use tuning: {train_seconds:.1f} s, {hist.ms_per_step:.0f} ms/step")
    evals = {}
    for constrained in (True, False):
        e = evaluate_agent(params, config, tok, world, ac, constrained)
        evals["constrained" if constrained else "unconstrained"] = e
        say(f"{'with' if constrained else 'without'} the constraint: {e['correct']}/{e['n']} correct "
            f"(held-out {e['held_out_accuracy']}), tool calls valid {e['valid_tool_calls']}/{e['tool_calls']} "
            f"({e['seconds']} s)")
    samples = {}
    for constrained in (True, False):
        c = sampled_calls(params, config, tok, world, ac.sampled_calls, constrained, max_tokens=ac.max_turn_tokens)
        samples["constrained" if constrained else "unconstrained"] = c
        say(f"sampled tool calls {'with' if constrained else 'without'} the constraint: {c['valid']}/{c['samples']} "
            f"parse and validate ({c['ms_per_sample']} ms each)")
    every = max(1, ac.steps // 100)
    report = {
        "settings": ac.to_dict(),
        "loss_curve": {"step": [s + 1 for s in hist.step[every - 1::every]],
                       "loss": [round(float(np.mean(hist.train_loss[i:i + every])), 4)
                                for i in range(0, len(hist.train_loss) - every + 1, every)]},
        "ms_per_step": round(hist.ms_per_step, 1),
        "train_seconds": round(train_seconds, 1),
        "example": agent.goals_transcript("goals_sqrt", "Lionel Messi", 2023, 11).text,
        "eval": evals,
        "sampled_calls": samples,
        "seconds": round(time.perf_counter() - t0, 1),
    }
    return {"params": params, "report": report}
