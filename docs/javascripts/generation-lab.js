// The generation lab: type a prompt, watch the tiny model write, one step at a time.
//
// Markup (in a page; widgets.js mounts it):
//
//   <div class="lab generation-lab" data-prompt="The capital of France is"
//        data-max-new="40" data-temperature="0" data-window-control
//        data-examples='[{"label": "...", "prompt": "...", "window": 16}]'></div>
//
// Nothing heavy loads with the page: the model, its tokenizer and ONNX Runtime
// load on the first Step or Generate (model-runtime.js). Each step shows the
// loop: tokens and their ids, the ids' embedding vectors, the transformer's
// forward pass, the candidates with their logits and probabilities (and which
// temperature, top-k and top-p cut), the choice, and the text growing. Generate
// yields to the browser between steps, so the page never freezes and Stop works.
//
// For tests and benchmarks the root element carries data-state (idle, loading,
// running, done, error), data-done-reason (eot, max, stopped), data-ids (the
// generated ids, JSON), data-tokens-per-second and data-first-token-ms.
//
// The logit lens (stage 3, on request): the graph's lens_hidden output holds, for the
// last position, the final LayerNorm of the residual stream after each block; the
// tied head turns each into scores, and the lab shows each depth's top candidates.
// It re-reads the step's context in one extra pass, only when the reader asks; its
// last depth is the model's own prediction (the logits of stage 4). Its box carries
// data-lens-state (loading, ready, error).

import { el, loadModelWithStatus, pieceHue, showToken, yieldToBrowser } from "./dom.js";
import { Generation } from "./generation.js";
import { availableCheckpoints } from "./model-runtime.js";
import { choose, distribution, xorShift } from "./sampling.js";
import { EOT } from "./tokenizer.js";
import { Widget } from "./widget.js";

const TOP_ROWS = 10; // candidates shown in the table
const SLICE_MS = 8; // Generate yields to the browser at least this often (input, Stop, painting every frame)
const EMBED_DIMS = 16; // numbers of each embedding vector drawn
const EMBED_ROWS = 6; // tokens whose vectors are drawn (the last ones)
const LENS_TOP = 5; // candidates shown for each depth of the logit lens

let uid = 0;

function numberInput(label, attrs, help) {
  const id = `lab-in-${++uid}`;
  const input = el("input", { id, type: "number", ...attrs });
  return {
    input,
    node: el("div", { class: "lab-field" }, el("label", { for: id }, label), input, help ? el("small", {}, help) : null),
  };
}

function fmt(x, digits = 3) {
  if (!Number.isFinite(x)) return String(x);
  return x.toFixed(digits);
}

// The logit lens for the context `ids`: one array of vocab_size scores per depth (after
// block 1, 2, ..., n_layer), for the token after the last one. The graph's lens_hidden
// output is the final LayerNorm of the residual stream after each block, [1, n_layer,
// n_embd]; the tied head (the embedding table, read the other way) scores it here. A
// fresh pass with no cache, queued behind any run in progress (one run at a time).
async function runLens(model, ids) {
  if (!model.session.outputNames?.includes("lens_hidden")) {
    throw new Error(`${model.checkpoint.file} has no per-block output (lens_hidden) for the lens to read`);
  }
  if (!model.wte) throw new Error(`the embedding table was not found in ${model.checkpoint.file}`);
  const input = new model.ort.Tensor("int64", BigInt64Array.from(ids, (id) => BigInt(id)), [1, ids.length]);
  const out = await model.serial(() => model.session.run({ input_ids: input, past_key_values: model.emptyPast() }, ["lens_hidden"]));
  const hidden = out.lens_hidden.data;
  const [, L, C] = out.lens_hidden.dims;
  const V = model.vocabSize;
  return Array.from({ length: L }, (_, l) => {
    const h = hidden.subarray(l * C, (l + 1) * C);
    const scores = new Float32Array(V);
    for (let t = 0; t < V; t++) {
      const row = t * C;
      let s = 0;
      for (let i = 0; i < C; i++) s += h[i] * model.wte[row + i];
      scores[t] = s;
    }
    return scores;
  });
}

function pct(p) {
  if (p === 0) return "0%";
  if (p < 0.0001) return "<0.01%";
  return `${(p * 100).toFixed(p < 0.1 ? 2 : 1)}%`;
}

// Diverging colour for an embedding number: blue negative, orange positive.
export function valueColour(v, scale) {
  const a = Math.min(1, Math.abs(v) / (scale || 1));
  return v >= 0 ? `rgba(230, 120, 20, ${a.toFixed(3)})` : `rgba(40, 110, 220, ${a.toFixed(3)})`;
}

class Lab extends Widget {
  constructor(root) {
    super(root, "Press Step to run one step of the loop, or Generate to let it run.");
    this.model = null;
    this.checkpoint = "model";
    this.gen = null; // the Generation in progress
    this.rng = null;
    this.draws = 0;
    this.last = null; // what the latest step did, for display
    this.stopRequested = false;
    this.renderPending = false;
    this.lensOn = false; // the reader asked to see the logit lens (it stays open for later steps)
    this.build();
    this.controls = [this.stepBtn, this.genBtn];
    this.stopControls = [this.stopBtn];
  }

  // --- markup ---------------------------------------------------------------

  build() {
    const d = this.root.dataset;
    this.root.textContent = "";
    const promptId = `lab-prompt-${++uid}`;
    this.prompt = el("textarea", { id: promptId, class: "lab-prompt", rows: 2, spellcheck: false });
    this.prompt.value = d.prompt ?? "The capital of France is";
    this.prompt.addEventListener("input", () => this.invalidate());
    this.prompt.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
        e.preventDefault();
        this.generate();
      }
    });

    this.stepBtn = el("button", { type: "button", class: "lab-button lab-primary lab-step", onclick: () => this.stepOnce() }, "Step");
    this.genBtn = el("button", { type: "button", class: "lab-button lab-primary lab-generate", onclick: () => this.generate() }, "Generate");
    this.stopBtn = el("button", { type: "button", class: "lab-button lab-stop", disabled: true, onclick: () => { this.stopRequested = true; } }, "Stop");
    this.resetBtn = el("button", { type: "button", class: "lab-button lab-reset", onclick: () => this.reset() }, "Reset");

    const t = numberInput("Temperature", { min: 0, max: 5, step: 0.1, value: d.temperature ?? "0", class: "lab-temperature" }, "0 = greedy");
    const k = numberInput("Top-k", { min: 0, step: 1, value: d.topK ?? "0", class: "lab-top-k" }, "0 = all tokens");
    const p = numberInput("Top-p", { min: 0.01, max: 1, step: 0.05, value: d.topP ?? "1", class: "lab-top-p" }, "1 = no cut");
    const s = numberInput("Seed", { min: 0, step: 1, value: d.seed ?? "1", class: "lab-seed" }, "same seed, same text");
    const m = numberInput("Max new tokens", { min: 1, max: 500, step: 1, value: d.maxNew ?? "40", class: "lab-max-new" });
    this.inputs = { temperature: t.input, topK: k.input, topP: p.input, seed: s.input, maxNew: m.input };
    t.input.addEventListener("input", () => this.render());
    k.input.addEventListener("input", () => this.render());
    p.input.addEventListener("input", () => this.render());
    s.input.addEventListener("input", () => this.invalidate());
    const fieldNodes = [t.node, k.node, p.node, s.node, m.node];
    if ("windowControl" in d) {
      const w = numberInput("Window (tokens)", { min: 4, step: 1, value: d.window ?? "", class: "lab-window", placeholder: "model's" },
        "pretend the model sees only this many");
      this.inputs.window = w.input;
      w.input.addEventListener("input", () => this.invalidate());
      fieldNodes.push(w.node);
    }

    this.checkpointBox = el("div", { class: "lab-checkpoint" }, "Model: the pre-trained checkpoint (loads when you press Step or Generate).");
    this.notice = el("div", { class: "lab-notice", hidden: true, role: "note" });
    this.textBox = el("div", { class: "lab-text", "aria-label": "The text so far" });
    this.pipeline = el("ol", { class: "lab-pipeline" });

    let examples;
    try {
      examples = d.examples ? JSON.parse(d.examples) : [];
    } catch {
      examples = []; // a malformed data-examples: no example buttons
    }
    const exampleBox = examples.length
      ? el("div", { class: "lab-examples" }, "Try: ", examples.map((ex) => el("button", {
        type: "button", class: "lab-button lab-example", onclick: () => this.useExample(ex),
      }, ex.label)))
      : null;

    this.root.append(
      this.checkpointBox,
      el("label", { for: promptId, class: "lab-label" }, "Prompt"),
      this.prompt,
      exampleBox,
      el("div", { class: "lab-buttons" }, this.stepBtn, this.genBtn, this.stopBtn, this.resetBtn),
      el("details", { class: "lab-settings" }, el("summary", {}, "Choosing the next token: temperature, top-k, top-p, seed"),
        el("div", { class: "lab-fields" }, fieldNodes)),
      this.status,
      this.notice,
      el("div", { class: "lab-text-wrap" }, el("span", { class: "lab-caption" }, "Text so far"), this.textBox),
      this.pipeline,
    );
    this.renderText();
  }

  useExample(ex) {
    this.prompt.value = ex.prompt ?? "";
    if (ex.window !== undefined && this.inputs.window) this.inputs.window.value = ex.window;
    if (ex.temperature !== undefined) this.inputs.temperature.value = ex.temperature;
    this.invalidate();
    this.prompt.focus();
  }

  setState(state, reason) {
    super.setState(state);
    if (reason) this.root.dataset.doneReason = reason;
    else delete this.root.dataset.doneReason;
  }

  settings() {
    const num = (input, dflt) => {
      const v = Number(input.value);
      return input.value === "" || !Number.isFinite(v) ? dflt : v;
    };
    return {
      temperature: Math.max(0, num(this.inputs.temperature, 0)),
      topK: Math.max(0, Math.floor(num(this.inputs.topK, 0))),
      topP: Math.min(1, Math.max(0.001, num(this.inputs.topP, 1))),
      seed: Math.min(Number.MAX_SAFE_INTEGER, Math.max(0, Math.floor(num(this.inputs.seed, 1)))), // xorShift's range
      maxNew: Math.max(1, Math.floor(num(this.inputs.maxNew, 40))),
      window: this.inputs.window ? num(this.inputs.window, 0) : 0,
    };
  }

  // The prompt or seed changed: the next Step starts over.
  invalidate() {
    if (this.busy) this.stopRequested = true;
    this.gen = null;
    this.last = null;
    this.finishMessage = "";
    this.setState("idle");
    delete this.root.dataset.ids;
    this.notice.hidden = true;
    this.renderText();
    this.pipeline.textContent = "";
  }

  reset() {
    this.invalidate();
    this.say("Reset. Press Step or Generate to start again from the prompt.");
  }

  // --- the model ------------------------------------------------------------

  async ensureModel() {
    if (this.model && this.model.checkpoint.name === this.checkpoint) return this.model;
    this.setState("loading");
    const { model } = await loadModelWithStatus(this.checkpoint, this.status);
    this.model = model;
    this.status.textContent = `Model ready: ${model.nLayer} layer${model.nLayer > 1 ? "s" : ""}, ${model.nHead} heads, `
      + `vectors of ${model.nEmbd} numbers, a vocabulary of ${model.vocabSize} tokens, a window of ${model.blockSize} tokens.`;
    this.showCheckpoints();
    return model;
  }

  async showCheckpoints() {
    const list = await availableCheckpoints();
    const current = list.find((c) => c.name === this.checkpoint) || list[0];
    this.checkpointBox.textContent = "";
    if (list.length < 2) {
      this.checkpointBox.append(`Model: the ${current.label} checkpoint (${current.file}).`);
      return;
    }
    const id = `lab-ckpt-${++uid}`;
    const select = el("select", { id, class: "lab-checkpoint-select" },
      list.map((c) => el("option", { value: c.name, selected: c.name === this.checkpoint }, `${c.label} (${c.file})`)));
    select.addEventListener("change", () => {
      this.checkpoint = select.value;
      this.invalidate();
      this.ensureModel().catch(() => this.setState("error"));
    });
    this.checkpointBox.append(el("label", { for: id }, "Model: "), select);
  }

  async begin() {
    const model = await this.ensureModel();
    const s = this.settings();
    // Typed special tokens (<|user|>, <|assistant|>) are the real chat tokens, as in training.
    const ids = model.tokenizer.encode(this.prompt.value, { allowSpecial: true });
    this.gen = new Generation(model, ids, { window: s.window || model.blockSize });
    this.rng = xorShift(s.seed);
    this.draws = 0;
    this.last = null;
    this.startedAt = performance.now();
    await this.gen.start();
    this.notice.hidden = true;
  }

  // One step of the loop: choose from the current logits, append, run the model again.
  // Returns false when generation is over (end of text, or the maximum length).
  async advance() {
    const gen = this.gen;
    const s = this.settings();
    if (gen.finished) return false;
    if (gen.generated.length >= s.maxNew) {
      gen.finished = "max";
      return false;
    }
    const dist = distribution(gen.logits, s);
    const pick = choose(dist, this.rng);
    if (pick.draw !== null) this.draws += 1;
    this.last = {
      logits: gen.logits, dist, pick, settings: s, draw: this.draws,
      contextBefore: [...gen.context], position: gen.generated.length,
      pass: gen.lastPass, slid: [],
    };
    if (pick.id === gen.model.eotId) {
      gen.finished = "eot";
      return false;
    }
    const r = await gen.append(pick.id);
    this.last.slid = r.slid;
    this.last.nextMs = r.ms;
    return true;
  }

  async stepOnce() {
    if (this.busy) return;
    this.finishMessage = "";
    this.setBusy(true);
    try {
      if (!this.gen || this.gen.finished) await this.begin();
      const more = await this.advance();
      this.setState(more ? "paused" : "done", more ? undefined : this.gen.finished);
      this.renderAll();
    } catch (err) {
      this.fail(err);
    } finally {
      this.setBusy(false);
    }
  }

  async generate() {
    if (this.busy) return;
    const clickedAt = performance.now();
    this.finishMessage = "";
    this.setBusy(true);
    this.stopRequested = false;
    let reason;
    try {
      if (!this.gen || this.gen.finished) await this.begin();
      this.setState("running");
      const gen = this.gen;
      const startCount = gen.generated.length;
      const t0 = performance.now();
      let first = true;
      let sliceStart = -Infinity; // the first token is shown at once
      for (;;) {
        const more = await this.advance();
        if (first) {
          this.root.dataset.firstTokenMs = (performance.now() - clickedAt).toFixed(1);
          first = false;
        }
        this.scheduleRender(); // drawn once per animation frame, however many tokens came in between
        if (!more) {
          reason = gen.finished;
          break;
        }
        // A KV-cache step takes well under a millisecond, and yielding after every token
        // would spend much of the time in the event loop (a yield costs about a frame when
        // a repaint is due). Yield every SLICE_MS instead: every frame still paints and a
        // click on Stop lands within a few ms.
        if (performance.now() - sliceStart >= SLICE_MS) {
          await yieldToBrowser();
          sliceStart = performance.now();
        }
        if (this.stopRequested || this.gen !== gen) {
          reason = "stopped";
          break;
        }
      }
      const n = gen.generated.length - startCount;
      const secs = (performance.now() - t0) / 1000;
      this.root.dataset.tokensPerSecond = (n / secs).toFixed(1);
      this.root.dataset.generatedInRun = n;
      this.finishMessage = `${n} new token${n === 1 ? "" : "s"} in ${secs.toFixed(2)} s (${(n / secs).toFixed(0)} tokens per second in this page).`;
      this.setState("done", reason);
      this.renderAll(); // state "done": draws the pipeline too
    } catch (err) {
      this.fail(err);
    } finally {
      this.setBusy(false);
    }
  }

  // --- display --------------------------------------------------------------

  scheduleRender() {
    if (this.renderPending) return;
    this.renderPending = true;
    requestAnimationFrame(() => {
      this.renderPending = false;
      this.renderAll();
    });
  }

  renderAll() {
    this.renderText();
    this.renderNotice();
    // While Generate runs, the heavy pipeline tables are redrawn at most every 200 ms (text and status every frame).
    const now = performance.now();
    if (!this.busy || this.root.dataset.state !== "running" || !(now - (this.pipelineAt || 0) < 200)) {
      this.pipelineAt = now;
      this.render();
    }
    this.renderStatus();
    if (this.gen) this.root.dataset.ids = JSON.stringify(this.gen.generated);
    else delete this.root.dataset.ids;
  }

  renderStatus() {
    const gen = this.gen;
    if (!gen || !this.last) return;
    const tok = gen.model.tokenizer;
    const n = gen.generated.length;
    const state = this.root.dataset.state;
    let msg = `Step ${this.last.position + 1}: picked “${showToken(tok.tokenText(this.last.pick.id))}”.`;
    if (state === "done") {
      const why = { eot: "The model chose the end-of-text token: it considers the text finished.",
        max: `Stopped at the maximum of ${this.settings().maxNew} new tokens.`, stopped: "Stopped." }[gen.finished || this.root.dataset.doneReason] || "";
      msg = `${why} ${n} token${n === 1 ? "" : "s"} generated. ${this.finishMessage || ""}`;
    }
    this.say(msg.trim());
  }

  renderText() {
    const box = this.textBox;
    box.textContent = "";
    const gen = this.gen;
    const promptText = this.prompt.value;
    if (!gen) {
      box.append(el("span", { class: "lab-text-prompt" }, promptText || "(empty prompt)"));
      return;
    }
    const tok = gen.model.tokenizer;
    if (gen.emptyPrompt) box.append(el("span", { class: "lab-text-marker", title: "An empty prompt starts after the end-of-text token, like a new document" }, EOT));
    else box.append(el("span", { class: "lab-text-prompt" }, promptText));
    const ids = gen.generated;
    if (ids.length) {
      const lastId = ids[ids.length - 1];
      const before = tok.decode(ids.slice(0, -1));
      const all = tok.decode(ids);
      // the newest token, highlighted (when it completes whole characters)
      const newest = all.startsWith(before) ? all.slice(before.length) : "";
      box.append(el("span", { class: "lab-text-new" }, newest ? all.slice(0, before.length) : all));
      if (newest) box.append(el("span", { class: "lab-text-new lab-text-newest", title: `token ${lastId}` }, newest));
    }
    if (gen.finished === "eot") box.append(el("span", { class: "lab-text-marker", title: "The model chose this token: end of text" }, EOT));
  }

  renderNotice() {
    const gen = this.gen;
    const n = this.notice;
    n.textContent = "";
    if (!gen) {
      n.hidden = true;
      return;
    }
    const parts = [];
    if (gen.emptyPrompt) {
      parts.push(el("p", {}, "The prompt is empty, so the model starts from the end-of-text token ",
        el("code", {}, EOT), ", exactly as if a new document were beginning: whatever it writes is its idea of a typical opening."));
    }
    if (gen.truncated.length) {
      parts.push(el("p", { class: "lab-truncated" }, `Your prompt is ${gen.prompt.length} tokens long, but the model reads at most ${gen.window} `
        + `tokens, and one place must stay free for the token it writes. So only the last ${gen.window - 1} were kept: the first `
        + `${gen.truncated.length} (greyed below) were cut off, and the model never saw them.`));
    }
    const slidNow = gen.hidden - gen.truncated.length;
    if (slidNow > 0) {
      parts.push(el("p", { class: "lab-slid" }, `The text is now longer than the window of ${gen.window} tokens, so each time it `
        + `fills up the oldest tokens drop out and the model re-reads what is left. ${slidNow} token${slidNow === 1 ? " has" : "s have"} `
        + `dropped out so far (greyed below): the model can no longer see ${slidNow === 1 ? "it" : "them"}, and nothing it writes from now on can depend on `
        + `${slidNow === 1 ? "it" : "them"}.`));
    }
    n.append(...parts);
    n.hidden = parts.length === 0;
  }

  tokenChips(gen, highlightLast) {
    const tok = gen.model.tokenizer;
    const all = gen.all;
    const hidden = gen.hidden;
    const wrap = el("div", { class: "lab-chips", role: "list" });
    all.forEach((id, i) => {
      const out = i < hidden;
      const chip = el("span", {
        role: "listitem",
        class: `lab-chip${out ? " lab-dropped" : ""}${i >= gen.prompt.length ? " lab-generated" : ""}${highlightLast && i === all.length - 1 ? " lab-newest" : ""}`,
        style: { "--hue": pieceHue(i) },
        title: out ? `token ${id}: out of the window, the model cannot see it` : `token ${id}`,
        "data-id": id,
      }, el("span", { class: "lab-chip-text" }, showToken(tok.tokenText(id))), el("span", { class: "lab-chip-id" }, String(id)));
      wrap.append(chip);
    });
    return wrap;
  }

  section(title, ...body) {
    return el("li", { class: "lab-stage" }, el("h4", {}, title), ...body);
  }

  // --- logit lens -----------------------------------------------------------

  // Stage 3's button and, once pressed, what each depth would predict for this step.
  lensView(gen, last) {
    const box = el("div", { class: "lab-lens" });
    const toggle = el("button", {
      type: "button", class: "lab-button lab-lens-toggle", "aria-expanded": String(this.lensOn),
      onclick: () => {
        this.lensOn = !this.lensOn;
        this.render();
        this.pipeline.querySelector(".lab-lens-toggle")?.focus(); // the redraw replaced the button
      },
    }, this.lensOn ? "Hide what each layer predicts" : "Show what each layer predicts");
    box.append(toggle);
    if (!this.lensOn) return box;
    const out = el("div", { class: "lab-lens-out", role: "status", "aria-live": "polite" });
    box.append(out);
    if (last.lens) {
      this.drawLens(out, gen, last);
    } else if (this.root.dataset.state === "running") {
      out.textContent = "Each layer's guess appears when the text stops growing (press Stop, or Step).";
    } else {
      box.dataset.lensState = "loading";
      out.textContent = "Reading the residual stream after each block…";
      last.lensPromise ||= runLens(gen.model, last.contextBefore);
      last.lensPromise.then((lens) => {
        last.lens = lens;
        if (this.last === last && out.isConnected) {
          out.textContent = "";
          this.drawLens(out, gen, last);
          box.dataset.lensState = "ready";
        }
      }, (err) => {
        last.lensPromise = null; // a later redraw may try again
        if (!out.isConnected) return;
        box.dataset.lensState = "error";
        out.classList.add("lab-error");
        out.textContent = `The lens could not run: ${err && err.message ? err.message : err}`;
      });
      return box;
    }
    box.dataset.lensState = "ready";
    return box;
  }

  drawLens(out, gen, last) {
    const model = gen.model;
    const tok = model.tokenizer;
    const depths = last.lens.map((logits) => distribution(logits));
    const final = depths[depths.length - 1];
    const answer = final.order[0]; // the model's top token: marked at every depth
    const answerText = `“${showToken(tok.tokenText(answer))}”`;
    const item = (dist, id, rank) => el("li", {
      class: `lab-lens-item${id === answer ? " lab-lens-answer" : ""}`, "data-id": id, "data-p": String(dist.probs[id]),
    }, el("span", { class: "lab-lens-token lab-mono" }, showToken(tok.tokenText(id))),
    el("span", { class: "lab-lens-p" }, pct(dist.probs[id])),
    el("span", { class: "lab-lens-bar", "aria-hidden": "true", style: { width: `${(100 * dist.probs[id]).toFixed(1)}%` } }),
    rank ? el("span", { class: "lab-lens-rank" }, `rank ${rank}`) : null);
    const rows = depths.map((dist, l) => {
      const top = dist.order.slice(0, LENS_TOP);
      const items = top.map((id) => item(dist, id));
      // where the final answer stands at this depth, when it is not among the top ones
      if (!top.includes(answer)) items.push(item(dist, answer, dist.order.indexOf(answer) + 1));
      const isFinal = l === depths.length - 1;
      return el("tr", { class: isFinal ? "lab-lens-final" : "", "data-depth": l + 1 },
        el("th", { scope: "row" }, `after block ${l + 1}`, isFinal ? el("span", { class: "lab-lens-note" }, "the model's prediction") : null),
        el("td", {}, el("ol", { class: "lab-lens-top" }, items)));
    });
    out.append(
      el("p", {}, `Each block adds its contribution to a running vector (the residual stream). The logit lens applies the final `
        + `normalisation and the output head to that vector after each block, as if the model stopped there. The last row is what the `
        + `model actually predicts; ${answerText}, its favourite, is highlighted wherever it appears.`),
      el("table", { class: "lab-lens-table" },
        el("caption", {}, `The ${Math.min(LENS_TOP, model.vocabSize)} most probable next tokens at each depth, and where ${answerText} stands`),
        el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "depth"), el("th", { scope: "col" }, "top candidates, probability"))),
        el("tbody", {}, rows)));
  }

  // The pipeline for the latest step (or, with no step yet, nothing but a hint).
  render() {
    const gen = this.gen;
    const last = this.last;
    this.pipeline.textContent = "";
    if (!gen || !last) return;
    const model = gen.model;
    const tok = model.tokenizer;
    const s = this.settings(); // current controls: the table previews them for the next step
    const ctx = last.contextBefore;

    // 1. tokens and ids
    this.pipeline.append(this.section("1. Text → tokens → IDs",
      el("p", {}, `The tokenizer cut the text into ${gen.all.length} tokens; each is a number, its ID in the vocabulary of ${model.vocabSize}.`
        + (gen.hidden ? ` The model sees the last ${gen.context.length}; the ${gen.hidden} greyed ones are outside its window.` : "")),
      this.tokenChips(gen, true)));

    // 2. embeddings
    const rows = ctx.slice(-EMBED_ROWS);
    const firstPos = ctx.length - rows.length;
    let embedBody;
    if (model.wte) {
      let scale = this.embedScale;
      if (!scale) {
        let sq = 0;
        for (const v of model.wte) sq += v * v;
        scale = this.embedScale = 2.5 * Math.sqrt(sq / model.wte.length);
      }
      const table = el("table", { class: "lab-embed" },
        el("thead", {}, el("tr", {}, el("th", {}, "position"), el("th", {}, "token"), el("th", {}, "ID"),
          el("th", {}, `first ${Math.min(EMBED_DIMS, model.nEmbd)} of its ${model.nEmbd} numbers`))),
        el("tbody", {}, rows.map((id, j) => {
          const vec = model.embedding(id);
          return el("tr", {}, el("td", {}, String(firstPos + j)), el("td", { class: "lab-mono" }, showToken(tok.tokenText(id))),
            el("td", {}, String(id)),
            el("td", {}, el("span", { class: "lab-strip" }, Array.from(vec.subarray(0, EMBED_DIMS), (v) => el("span", {
              class: "lab-cell", style: { background: valueColour(v, scale) }, title: fmt(v, 3),
            })))));
        })));
      embedBody = [el("p", {}, `Each ID picks one row of the embedding table (${model.vocabSize} rows of ${model.nEmbd} learned numbers); `
        + "a second table adds a vector for each position, so the model knows the order. Orange is positive, blue negative. "
        + `The last ${rows.length} of the ${ctx.length} tokens the model read:`), el("div", { class: "lab-scroll" }, table)];
    } else {
      embedBody = [el("p", {}, `Each ID picks one row of the embedding table: a vector of ${model.nEmbd} learned numbers, plus one for its position.`)];
    }
    this.pipeline.append(this.section("2. IDs → vectors", ...embedBody));

    // 3. transformer
    const pass = last.pass;
    const reread = pass.kind === "step"
      ? "only the newest token, reusing the keys and values it had cached for the earlier ones"
      : last.position === 0 ? `all ${pass.tokens} tokens of the prompt in one pass (the prefill)`
        : `all ${pass.tokens} tokens still in the window again, from scratch, because the window had slid`;
    this.pipeline.append(this.section("3. The transformer",
      el("p", {}, `The vectors pass through ${model.nLayer === 1 ? "one transformer block" : `${model.nLayer} transformer blocks`}: `
        + `attention with ${model.nHead} heads (every token looks at the ones before it), then a small feed-forward network. For this step it read ${reread} `
        + `(${fmt(pass.ms, 2)} ms); ${ctx.length} token${ctx.length === 1 ? "" : "s"} in view. The last position's output vector is compared with every row of the embedding table, `
        + `giving one score (a logit) per vocabulary entry.`), this.lensView(gen, last)));

    // 4. logits -> probabilities
    const dist = last.dist;
    const live = distribution(last.logits, s); // what the controls would do now
    const changed = live.greedy !== dist.greedy || s.temperature !== last.settings.temperature || s.topK !== last.settings.topK || s.topP !== last.settings.topP;
    const show = live;
    const ids = show.order.slice(0, TOP_ROWS);
    if (!ids.includes(last.pick.id) && !changed) ids.push(last.pick.id);
    // bars: the probability the choice used (softmax for greedy; rescaled after the cuts when sampling)
    const used = (id) => (show.greedy ? show.probs[id] : show.final.get(id) || 0);
    const maxP = Math.max(...ids.map(used), 1e-12);
    const tempShown = !show.greedy && s.temperature !== 1;
    const head = el("tr", {}, el("th", {}, "rank"), el("th", {}, "token"), el("th", {}, "ID"), el("th", {}, "logit"),
      el("th", {}, "softmax"), tempShown ? el("th", {}, `÷ temperature ${s.temperature}`) : null,
      el("th", {}, show.greedy ? "greedy" : "after top-k / top-p"), el("th", { class: "lab-bar-col" }, show.greedy ? "probability" : "chance of being drawn"));
    const body = ids.map((id) => {
      const rank = show.order.indexOf(id) + 1;
      const cut = show.cutBy.get(id);
      const kept = show.final.get(id);
      const chosen = !changed && id === last.pick.id;
      return el("tr", { class: `${cut && !show.greedy ? "lab-cut" : ""}${chosen ? " lab-chosen" : ""}`, "data-id": id },
        el("td", {}, String(rank)), el("td", { class: "lab-mono" }, showToken(tok.tokenText(id))), el("td", {}, String(id)),
        el("td", {}, fmt(last.logits[id], 2)), el("td", {}, pct(show.probs[id])),
        tempShown ? el("td", {}, pct(show.scaled[id])) : null,
        el("td", {}, show.greedy ? (kept ? "highest" : "") : (cut ? `cut by ${cut}` : pct(kept))),
        el("td", { class: "lab-bar-col" }, el("span", { class: "lab-bar", style: { width: `${(100 * used(id) / maxP).toFixed(1)}%` } }),
          chosen ? el("span", { class: "lab-picked" }, " ← picked") : null));
    });
    const cutCount = show.greedy ? 0 : model.vocabSize - show.kept.size;
    this.pipeline.append(this.section("4. Logits → probabilities",
      el("p", {}, "Softmax turns the scores into probabilities that add up to 1 (the bars). "
        + (show.greedy ? "With temperature 0 only the top one matters."
          : `Temperature ${s.temperature} ${s.temperature < 1 ? "sharpens" : s.temperature > 1 ? "flattens" : "leaves"} them; `
          + `top-k and top-p then keep ${show.kept.size} of the ${model.vocabSize} tokens (${cutCount} cut) and rescale the rest to add up to 1.`)
        + (changed ? " (Showing what your new settings would do to this step; the next step uses them.)" : "")),
      el("div", { class: "lab-scroll" }, el("table", { class: "lab-candidates" }, el("thead", {}, head), el("tbody", {}, body)))));

    // 5. choice
    const pick = last.pick;
    const pickText = `“${showToken(tok.tokenText(pick.id))}” (ID ${pick.id})`;
    let why;
    if (dist.greedy) {
      why = `Greedy decoding: it takes the highest-scoring token, ${pickText}, with probability ${pct(dist.probs[pick.id])}. The same prompt always gives the same text.`;
    } else {
      why = `Sampling: draw #${last.draw} of the random-number generator seeded with ${last.settings.seed} gave ${fmt(pick.draw, 4)}. `
        + `Stacking the kept tokens' probabilities from most to least likely, ${pickText} owns the slice from ${fmt(pick.lo, 4)} to ${fmt(pick.hi, 4)}, `
        + `so it is chosen (it had a ${pct(dist.final.get(pick.id))} chance). Another seed can pick differently.`;
    }
    if (pick.id === model.eotId) why += " This is the end-of-text token, so generation stops here.";
    this.pipeline.append(this.section("5. Choose", el("p", {}, why)));

    // 6. append and repeat
    let appendText;
    if (pick.id === model.eotId) appendText = "Nothing is appended: the text is finished.";
    else if (last.slid.length) {
      appendText = `The token is appended, but the text no longer fits the window of ${gen.window}: the oldest `
        + `${last.slid.length === 1 ? "token" : `${last.slid.length} tokens`} dropped out, and the model re-read the remaining ${gen.context.length} from scratch `
        + `(${fmt(last.nextMs, 1)} ms). Then the loop repeats.`;
    } else {
      appendText = `The token is appended (the text is now ${gen.all.length} tokens) and the model runs again on just that new token `
        + `(${fmt(last.nextMs, 2)} ms), producing the next scores. Then the loop repeats until end-of-text or the length limit.`;
    }
    this.pipeline.append(this.section("6. Append, repeat", el("p", {}, appendText)));
  }
}

export function mountGenerationLab(root) {
  if (root.dataset.mounted !== undefined) return null;
  root.dataset.mounted = "";
  return new Lab(root);
}
