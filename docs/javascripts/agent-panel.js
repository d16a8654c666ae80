// The agent panel: this site's agent checkpoint runs the agent loop in the page,
// with the real tools, one assistant turn at a time or to the end.
//
// Markup (registered in widgets.js, so this module loads only on pages that have it):
//
//   <div class="lab agent-panel"></div>
//
// It reproduces model_export.agent_train.run_question exactly (greedy):
//
// * a turn is agent.token_generate_fn: re-encode the transcript with special
//   tokens allowed, then up to max_turn_tokens greedy tokens, stopping at a
//   special token (returned as its string) or after a token whose bytes hold a
//   newline;
// * with the constraint on, a turn that starts with "{" is written again by
//   agent.constrained_json_fn: constrain.js's decoder over TOOL_SCHEMA, greedy,
//   at most max_turn_tokens tokens (the free draft is thrown away);
// * the model reads through a KV cache that keeps the longest common prefix of
//   what it read last time (agent_train.CachedLogits), and a transcript longer
//   than the context stops the loop: "stopped: the transcript is longer than
//   the N-token context";
// * the loop itself is agent-tools.js's runQuestion (a port of agent.run_agent),
//   with max_turn_tokens and max_steps from report.json["agent"]["settings"].
//
// Nothing heavy loads with the page: the agent model (model_agent.onnx), its
// tokenizer, ONNX Runtime, report.json and the search index (knowledge.json)
// load on the first Step or Run, with progress, and a failure names the file.
//
// For tests the root carries data-state (idle, loading, running, paused, done,
// error), data-result (the run's result as JSON, the same dict as run_question's),
// data-transcript (the transcript; when the context filled up, the text the model
// was reading then), data-calls (JSON [{kind: "turn" | "call", output}], one per
// model call, output null for a call the full context cut short) and data-tokens.
// Stable hooks: .agent-answer holds the final answer's text, .agent-stopped the
// stop reason (run_question's "stopped"), .agent-tokens "N of block_size tokens";
// the buttons are named Step, Run and Reset.

import { ContextFull, firstLine, makeTools, parseCall, runQuestion, TOOL_SCHEMA } from "./agent-tools.js";
import { formatBytes, LoadError, modelFile } from "./assets.js";
import { chatPrompt } from "./chat.js";
import { ConstrainedDecoder } from "./constrain.js";
import { el, offerRetry, showToken, yieldToBrowser } from "./dom.js";
import { compileSchema } from "./grammar.js";
import { loadModel, loadReport } from "./model-runtime.js";
import { SPECIAL_TOKENS } from "./tokenizer.js";
import { Widget } from "./widget.js";

export const EXAMPLES = [
  "How many goals did Lionel Messi score in 2023, and what is its square root?",
  "What is the capital of Sweden?",
  "What is 12 times 7?",
  "Hello!",
];
const KNOWLEDGE = "knowledge.json";
// Splits a transcript around its special tokens (kept, as the split's capture group).
const SPECIAL_SPLIT = new RegExp(`(${SPECIAL_TOKENS.map((s) => s.replace(/[|]/g, "\\|")).join("|")})`);

let uid = 0;

class Aborted extends Error {}

// ---------------------------------------------------------------------------
// The model as the agent's generator

// A copy of a past key/value tensor [n_layer, 2, 1, n_head, P, head_dim] keeping
// the first n positions; null if the tensor is not laid out that way (the
// caller then reads the whole prefix again, which gives the same logits).
function cutPast(model, past, n) {
  if (n === 0) return model.emptyPast();
  try {
    const dims = past?.dims;
    if (!dims || dims.length !== 6 || !(past.data instanceof Float32Array) || !model.ort?.Tensor) return null;
    const [L, two, B, H, P, D] = dims;
    if (n > P) return null;
    const blocks = L * two * B * H;
    const out = new Float32Array(blocks * n * D);
    for (let b = 0; b < blocks; b++) out.set(past.data.subarray(b * P * D, b * P * D + n * D), b * n * D);
    return new model.ort.Tensor("float32", out, [L, two, B, H, n, D]);
  } catch {
    return null; // a tensor whose data cannot be read here (another backend)
  }
}

// logits(ids) -> next-token logits for a conversation that grows: agent_train.CachedLogits.
// The loop re-encodes the whole transcript every turn; only the tokens after the
// longest common prefix with the last call go through the model.
export class CachedLogits {
  constructor(model) {
    this.model = model;
    this.ids = [];
    this.past = model.emptyPast();
    this.last = null;
  }

  async logits(ids) {
    if (ids.length > this.model.blockSize) throw new ContextFull(this.model.blockSize);
    let n = 0;
    const m = Math.min(this.ids.length, ids.length);
    while (n < m && this.ids[n] === ids[n]) n++;
    if (n === ids.length && n === this.ids.length && this.last) return this.last;
    if (n === ids.length) n -= 1; // ids is a prefix of what we have: recompute its last token
    let past = n === this.ids.length ? this.past : cutPast(this.model, this.past, n);
    if (past === null) {
      past = this.model.emptyPast();
      n = 0;
    }
    const r = await this.model.run(ids.slice(n), past);
    this.ids = [...ids];
    this.past = r.present;
    this.last = r.logits;
    return this.last;
  }
}

// np.argmax over the allowed ids (mask null: all): the first maximum.
function argmax(logits, mask) {
  let best = -1;
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) {
    if (mask && !mask[i]) continue;
    if (best < 0 || logits[i] > max) {
      max = logits[i];
      best = i;
    }
  }
  return best;
}

// ---------------------------------------------------------------------------
// The panel

class Panel extends Widget {
  constructor(root) {
    super(root, "Press Step for one turn of the model, or Run for the whole loop. The first press downloads the agent model, "
      + "ONNX Runtime (the engine that runs it) and the search tool's index.", { statusClass: "agent-status" });
    this.agent = null; // {model, tok, tools, decoder, maxTurnTokens, maxSteps, special} once loaded
    this.session = null;
    this.ticket = 0; // bumped by every reset: a start whose loading outlived a reset gives up
    this.build();
    this.controls = [this.stepBtn, this.runBtn];
  }

  build() {
    this.root.textContent = "";
    const n = ++uid;
    const exampleId = `ap-example-${n}`;
    const questionId = `ap-question-${n}`;
    const constrainId = `ap-constrain-${n}`;
    const meterId = `ap-meter-${n}`;
    this.example = el("select", { id: exampleId, class: "agent-example" },
      EXAMPLES.map((q, i) => el("option", { value: String(i) }, q)),
      el("option", { value: "custom" }, "Your own question (type it below)"));
    this.example.addEventListener("change", () => {
      if (this.example.value !== "custom") this.question.value = EXAMPLES[Number(this.example.value)];
      this.reset();
    });
    this.question = el("input", { id: questionId, type: "text", class: "lab-prompt agent-question", spellcheck: false,
                                  autocomplete: "off" });
    this.question.value = EXAMPLES[0];
    this.question.addEventListener("input", () => {
      this.example.value = EXAMPLES.includes(this.question.value) ? String(EXAMPLES.indexOf(this.question.value)) : "custom";
      this.reset();
    });
    this.question.addEventListener("keydown", (e) => {
      if (e.key === "Enter") {
        e.preventDefault();
        this.run();
      }
    });
    this.constrain = el("input", { id: constrainId, type: "checkbox", class: "agent-constrain", checked: true });
    this.constrain.addEventListener("change", () => this.reset());

    this.stepBtn = el("button", { type: "button", class: "lab-button agent-step", onclick: () => this.step() }, "Step");
    this.runBtn = el("button", { type: "button", class: "lab-button lab-primary agent-run", onclick: () => this.run() }, "Run");
    this.resetBtn = el("button", { type: "button", class: "lab-button agent-reset", onclick: () => this.reset() }, "Reset");

    this.meter = el("meter", { id: meterId, class: "agent-meter", min: 0, max: 1, value: 0 });
    this.tokens = el("span", { class: "agent-tokens" }, "not loaded yet");
    this.steps = el("ol", { class: "agent-steps", "aria-label": "The agent's turns, tool calls and observations" });
    this.stop = el("p", { class: "agent-stop", hidden: true }, "The loop’s stop reason: ", el("span", { class: "agent-stopped" }));
    this.transcript = el("div", { class: "lab-text agent-transcript" });

    this.root.append(
      el("div", { class: "agent-row" }, el("label", { for: exampleId, class: "lab-label" }, "Example question"), this.example),
      el("label", { for: questionId, class: "lab-label" }, "Question (edit it or type your own)"),
      this.question,
      el("div", { class: "agent-row agent-switch" }, this.constrain,
        el("label", { for: constrainId }, "Constrain tool calls to the schema")),
      el("div", { class: "lab-buttons" }, this.stepBtn, this.runBtn, this.resetBtn),
      this.status,
      el("div", { class: "agent-context" },
        el("label", { for: meterId }, "Context used"), this.meter, this.tokens),
      this.steps,
      this.stop,
      el("div", { class: "lab-text-wrap" },
        el("span", { class: "lab-caption" }, "The transcript, as the model reads it (special tokens marked)"),
        this.transcript),
    );
  }

  setState(state) {
    super.setState(state);
    this.setBusy(state === "loading" || state === "running");
  }

  // Forget the current run (abandoning it if it is waiting or mid-turn) and clear the output.
  reset() {
    this.ticket += 1;
    if (this.session) this.session.abort();
    this.session = null;
    this.steps.textContent = "";
    this.transcript.textContent = "";
    this.stop.hidden = true;
    this.stop.querySelector(".agent-stopped").textContent = "";
    for (const k of ["result", "transcript", "calls", "tokens"]) delete this.root.dataset[k];
    if (this.agent) this.showTokens(0);
    if (this.root.dataset.state !== "loading") {
      this.setState("idle");
      if (this.agent) this.say("Press Step for one turn of the model, or Run for the whole loop.");
    }
  }

  step() {
    if (this.session && !this.session.finished) this.session.allow(1);
    else this.start("step");
  }

  run() {
    if (this.session && !this.session.finished) this.session.runToEnd();
    else this.start("run");
  }

  async start(mode) {
    if (this.root.dataset.state === "loading") return;
    this.reset();
    const ticket = this.ticket;
    const question = this.question.value;
    const constrained = this.constrain.checked;
    let agent;
    try {
      agent = await this.load();
    } catch {
      return; // the status names the file that failed
    }
    if (ticket !== this.ticket) return; // the question or the switch changed while loading
    const session = new Session(this, agent, question, constrained, mode);
    this.session = session;
    session.go();
  }

  // The agent model, its tokenizer, the settings and the tools: loaded once, with progress.
  async load() {
    if (this.agent) return this.agent;
    this.setState("loading");
    const progress = new Map();
    let settled = false;
    const show = () => {
      if (settled) return;
      const parts = [...progress.values()].map((p) => p.done ? `${p.file} ${formatBytes(p.loaded)} ✓`
        : `${p.file} ${formatBytes(p.loaded)} of ${formatBytes(p.total)}`);
      this.say(`Loading the agent: ${parts.join(", ") || "starting"}…`);
    };
    const onProgress = (p) => {
      progress.set(p.file, p);
      show();
    };
    show();
    offerRetry(this.status, null);
    try {
      const [model, kbBytes, report] = await Promise.all([
        loadModel("agent", { onProgress }),
        modelFile(KNOWLEDGE, { onProgress }),
        loadReport(),
      ]);
      let kb;
      try {
        kb = JSON.parse(new TextDecoder().decode(kbBytes));
        if (!Array.isArray(kb)) throw new Error("it is not a list of entries");
      } catch (err) {
        throw new LoadError(KNOWLEDGE, `it is not a valid search index (${err.message})`);
      }
      const s = report?.agent?.settings;
      if (!s || !Number.isInteger(s.max_turn_tokens) || !Number.isInteger(s.max_steps)) {
        throw new LoadError("report.json", "it has no agent settings (max_turn_tokens, max_steps)");
      }
      const tok = model.tokenizer;
      settled = true;
      this.agent = {
        model, tok, tools: makeTools(kb),
        decoder: new ConstrainedDecoder(compileSchema(TOOL_SCHEMA), tok),
        maxTurnTokens: s.max_turn_tokens, maxSteps: s.max_steps,
        // every special token ends a turn (token_generate_fn: tokenizer.special_ids)
        special: new Map(Object.entries(tok.specialIds).map(([name, id]) => [id, name])),
      };
      this.showTokens(0);
      this.setState("idle");
      return this.agent;
    } catch (err) {
      settled = true;
      this.setState("error");
      this.say(err instanceof LoadError ? `${err.message}.` : `Could not start the agent: ${err.message || err}.`, true);
      offerRetry(this.status, () => this.load().then(() => this.say("The agent is ready: try again."), () => {}));
      throw err;
    }
  }

  showTokens(count) {
    const block = this.agent.model.blockSize;
    this.meter.max = block;
    this.meter.value = Math.min(count, block);
    this.tokens.textContent = `${count} of ${block} tokens`;
    this.root.dataset.tokens = String(count);
  }

  // The transcript with its special tokens set apart (they are single tokens, not text).
  showTranscript(text) {
    this.transcript.textContent = "";
    for (const part of text.split(SPECIAL_SPLIT)) {
      if (!part) continue;
      this.transcript.append(SPECIAL_TOKENS.includes(part) ? el("span", { class: "agent-special" }, part) : part);
    }
    this.root.dataset.transcript = text;
  }
}

// One run of the loop on one question. Each assistant turn waits for a Step
// (or goes straight on after Run); everything it does is drawn as it happens.
class Session {
  constructor(panel, agent, question, constrained, mode) {
    Object.assign(this, { panel, agent, question, constrained });
    this.mode = mode; // "step": one turn per Step; "run": to the end
    this.allowed = mode === "step" ? 1 : 0;
    this.wake = null;
    this.aborted = false;
    this.finished = false;
    this.cache = new CachedLogits(agent.model);
    this.calls = [];
    this.turn = 0;
    this.turnItem = null;
  }

  abort() {
    this.aborted = true;
    this.wake?.();
  }

  allow(n) {
    this.allowed += n;
    this.wake?.();
  }

  runToEnd() {
    this.mode = "run";
    this.wake?.();
  }

  check() {
    if (this.aborted) throw new Aborted();
  }

  // Before each assistant turn: go on, or wait for the reader's Step or Run.
  async gate() {
    this.check();
    while (this.mode !== "run" && this.allowed === 0) {
      this.panel.setState("paused");
      this.panel.say(`Paused before turn ${this.turn + 1}. Press Step for the model's next turn, or Run to finish.`);
      await new Promise((resolve) => { this.wake = resolve; });
      this.wake = null;
      this.check();
    }
    if (this.mode !== "run") this.allowed -= 1;
    this.panel.setState("running");
    this.panel.say(`Turn ${this.turn + 1}: the model is writing…`);
  }

  async go() {
    const { panel, agent } = this;
    panel.setState("running");
    this.text = chatPrompt(this.question);
    panel.showTranscript(this.text);
    panel.showTokens(agent.tok.encode(this.text, { allowSpecial: true }).length);
    let result;
    try {
      result = await runQuestion((text) => this.generate(text), this.question, agent.tools, {
        maxSteps: agent.maxSteps,
        jsonFn: this.constrained ? (text) => this.writeCall(text) : null,
        onStep: (step, text) => this.onStep(step, text),
      });
    } catch (err) {
      if (err instanceof Aborted) return;
      this.finished = true;
      panel.setState("error");
      panel.say(`The agent failed: ${err.message || err}.`, true);
      return;
    }
    if (this.aborted) return;
    this.finish(result);
  }

  // One assistant turn, as agent.token_generate_fn: greedy tokens until a
  // special token (returned as its string), a token holding a newline, or max_turn_tokens.
  async generate(text) {
    await this.gate();
    const { agent } = this;
    this.turn += 1;
    this.text = text;
    const item = this.newTurn();
    const chips = this.chips(item, "The model's turn, token by token", false);
    const record = { kind: "turn", output: null };
    this.calls.push(record);
    const ids = agent.tok.encode(text, { allowSpecial: true });
    const out = [];
    let result = null;
    for (let i = 0; i < agent.maxTurnTokens; i++) {
      const logits = await this.cache.logits([...ids, ...out]);
      this.check();
      const id = argmax(logits, null);
      this.addChip(chips, id, null);
      this.panel.showTokens(ids.length + out.length + 1);
      if (agent.special.has(id)) {
        result = agent.tok.decode(out) + agent.special.get(id);
        break;
      }
      out.push(id);
      await yieldToBrowser();
      if (agent.tok.tokenBytes(id).includes(10)) break;
    }
    if (result === null) result = agent.tok.decode(out);
    this.check();
    record.output = result;
    this.showCalls();
    return result;
  }

  // A tool call under the constraint, as agent.constrained_json_fn: constrain.js's
  // decoder over TOOL_SCHEMA, greedy, at most max_turn_tokens tokens.
  async writeCall(text) {
    const { agent } = this;
    const { decoder, model } = agent;
    this.text = text;
    const item = this.turnItem;
    item.append(el("p", { class: "agent-note" },
      "The turn starts with “{”, so it is a tool call: the loop throws that draft away and has the model write the call "
      + "again, constrained to the tool schema. Under each token: how many of the vocabulary's tokens the mask ruled out."));
    const chips = this.chips(item, "The tool call, decoded under the schema", true);
    const record = { kind: "call", output: null };
    this.calls.push(record);
    const prefix = agent.tok.encode(text, { allowSpecial: true });
    let state = decoder.start(agent.maxTurnTokens);
    const ids = [];
    for (;;) {
      const mask = decoder.allowed(state);
      const logits = await this.cache.logits([...prefix, ...ids]);
      this.check();
      const id = argmax(logits, mask);
      let allowed = 0;
      for (let i = 0; i < mask.length; i++) allowed += mask[i];
      this.addChip(chips, id, model.vocabSize - allowed);
      if (id === decoder.eotId) break;
      state = decoder.advance(state, id);
      ids.push(id);
      this.panel.showTokens(prefix.length + ids.length);
      await yieldToBrowser();
    }
    this.check();
    record.output = decoder.text(ids);
    this.showCalls();
    const draft = firstLine(this.calls[this.calls.length - 2]?.output ?? "")[0];
    let note = "Same text as the draft: the model's own call was already valid.";
    if (draft !== record.output) {
      let valid = true;
      try {
        parseCall(draft);
      } catch {
        valid = false;
      }
      note = valid ? "The draft was a valid call too; decoded under the schema it came out differently."
        : "The constraint changed the call: without it, the draft would have been sent, and it is not a valid call.";
    }
    item.append(el("p", { class: "agent-note" }, note));
    return record.output;
  }

  newTurn() {
    const item = el("li", { class: "agent-turn" }, el("p", { class: "agent-turn-title" }, `Turn ${this.turn}`));
    this.panel.steps.append(item);
    this.turnItem = item;
    return item;
  }

  chips(item, caption, constrained) {
    const list = el("ol", { class: `agent-chips${constrained ? " agent-chips-constrained" : ""}`, "aria-label": caption });
    item.append(el("span", { class: "lab-caption" }, caption), list);
    return list;
  }

  // One decoded token; masked: how many tokens the constraint ruled out (null: no mask).
  addChip(list, id, masked) {
    const name = this.agent.special.get(id);
    const label = name ?? showToken(this.agent.tok.tokenText(id));
    list.append(el("li", { class: name ? "agent-chip agent-chip-special" : "agent-chip", title: `token ${id}` },
      el("span", { class: "agent-piece" }, label),
      masked === null ? null : el("small", { class: "agent-masked" }, `${masked} masked`)));
    this.showCalls();
  }

  showCalls() {
    this.panel.root.dataset.calls = JSON.stringify(this.calls);
  }

  onStep(step, text) {
    if (this.aborted) return;
    const item = this.turnItem;
    const line = (cls, label, ...content) => item.append(el("p", { class: cls }, el("strong", {}, label), " ", ...content));
    if (step.kind === "action") {
      line("agent-action", "Action:", el("code", {}, step.text),
        step.tool ? ` → the loop runs ${step.tool}` : " → not a valid call");
    } else if (step.kind === "observation") {
      line("agent-observation", "Observation:", el("span", { class: "agent-observation-text" }, step.text));
    } else if (step.kind === "answer") {
      line("agent-final", "Final Answer:", el("span", { class: "agent-answer" }, step.text));
    } else {
      line("agent-line", step.kind === "thought" ? "Thought:" : "Text (neither an action nor an answer):",
        el("span", {}, step.text));
    }
    this.text = text;
    this.panel.showTranscript(text);
    this.panel.showTokens(this.agent.tok.encode(text, { allowSpecial: true }).length);
  }

  finish(result) {
    const { panel } = this;
    this.finished = true;
    // Python keeps no transcript of a run that outgrew the context; the page shows what the model was reading.
    const transcript = result.transcript ?? this.text;
    panel.showTranscript(transcript);
    if (result.transcript !== null) panel.showTokens(this.agent.tok.encode(transcript, { allowSpecial: true }).length);
    this.showCalls();
    panel.root.dataset.result = JSON.stringify(result);
    panel.stop.querySelector(".agent-stopped").textContent = result.stopped;
    panel.stop.hidden = false;
    panel.setState("done");
    panel.say(result.answer !== null ? `Done. The final answer: “${result.answer}”`
      : `Done, without an answer: ${result.stopped.replace(/^stopped: /, "")}.`);
  }
}

export function mountAgentPanel(root) {
  if (root.dataset.mounted) return null;
  root.dataset.mounted = "1";
  return new Panel(root);
}
