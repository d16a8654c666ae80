// The schema playground: the tiny model writes JSON for a schema, with the
// constraint (constrain.js masks every token that could not lead to a valid
// document) or without it, and the page says whether the result parses and
// validates and what the mask cost per step.
//
// Markup (registered in widgets.js, so this module loads only on pages that have it):
//
//   <div class="lab schema-playground" data-prompt="Lionel Messi is" data-max-tokens="48"></div>
//
// Nothing heavy loads with the page: the model, its tokenizer and ONNX Runtime
// load on the first Generate click (model-runtime.js), with progress. Both modes
// use the same loop and the same sampling code; the only difference is the mask,
// so the two "ms per step" figures differ by what masking costs.
//
// For tests the root element carries data-state (idle, loading, running, done,
// error, schema-error), data-mode (constrained, free), data-text (the generated
// text), data-parses and data-valid ("true"/"false"), data-allowed (JSON list of
// allowed-token counts per step), data-ms-constrained and data-ms-free (ms per step).

import { ConstrainedDecoder } from "./constrain.js";
import { compileSchema } from "./grammar.js";
import { normalizeSchema, validate } from "./schema.js";
import { TOOL_SCHEMA } from "./agent-tools.js";
import { el, loadModelWithStatus, showToken, yieldToBrowser } from "./dom.js";
import { Generation } from "./generation.js";
import { choose, distribution, xorShift } from "./sampling.js";
import { Widget } from "./widget.js";

const PRESETS = [
  { label: "The guide's example: a name and an age", schema: { name: "string", age: "integer" } },
  { label: "The agent's tool call (TOOL_SCHEMA)", schema: TOOL_SCHEMA },
  { label: "A city from a list (enum)", schema: { city: { enum: ["Paris", "Rome", "Madrid", "Tokyo"] } } },
];
const MAX_TOKENS_LIMIT = 200;

let uid = 0;

// JSON on one line, with the spacing the guide writes: {"name": "string", "age": "integer"}.
function flat(value) {
  if (Array.isArray(value)) return `[${value.map(flat).join(", ")}]`;
  if (value !== null && typeof value === "object") {
    return `{${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}: ${flat(v)}`).join(", ")}}`;
  }
  return JSON.stringify(value);
}

// A schema for the text box: one line when short, else one line per property
// (and per alternative of a list, such as anyOf).
function pretty(schema) {
  const line = flat(schema);
  if (line.length <= 60 || schema === null || typeof schema !== "object" || Array.isArray(schema)) return line;
  const props = Object.entries(schema).map(([k, v]) => {
    const body = Array.isArray(v) ? `[\n${v.map((x) => `    ${flat(x)}`).join(",\n")}\n  ]` : flat(v);
    return `  ${JSON.stringify(k)}: ${body}`;
  });
  return `{\n${props.join(",\n")}\n}`;
}

function field(label, attrs, help) {
  const id = `sp-in-${++uid}`;
  const input = el("input", { id, type: "number", ...attrs });
  return { input, node: el("div", { class: "lab-field" }, el("label", { for: id }, label), input, help ? el("small", {}, help) : null) };
}

// Choose a token from logits, among those the mask allows (mask null: all): the
// tokens it forbids get logit -Infinity (probability 0), then the same sampler as
// everywhere else (sampling.js; constrain.generate in Python). temperature <= 0:
// the highest allowed logit.
export function pick(logits, mask, temperature, rng) {
  if (mask && !mask.some(Boolean)) throw new Error("no token is allowed");
  const scores = mask ? logits.map((v, i) => (mask[i] ? v : -Infinity)) : logits;
  return choose(distribution(scores, { temperature }), rng).id;
}

function mean(xs) {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN;
}

function ms(x) {
  if (x < 0.005) return "<0.01 ms";
  return `${x.toFixed(x < 10 ? 2 : 1)} ms`;
}

class Playground extends Widget {
  constructor(root) {
    super(root, "Press a Generate button. The first press downloads the model and ONNX Runtime, the engine that runs it.",
      { statusClass: "sp-status" });
    this.model = null;
    this.decoders = new Map(); // schema JSON -> ConstrainedDecoder
    this.stopRequested = false;
    this.timing = { constrained: null, free: null };
    this.build();
    this.controls = [this.withBtn, this.freeBtn];
    this.stopControls = [this.stopBtn];
    this.checkSchema();
  }

  build() {
    const d = this.root.dataset;
    this.root.textContent = "";
    const presetId = `sp-preset-${++uid}`;
    const schemaId = `sp-schema-${++uid}`;
    const promptId = `sp-prompt-${++uid}`;
    this.preset = el("select", { id: presetId, class: "sp-preset" },
      PRESETS.map((p, i) => el("option", { value: String(i) }, p.label)),
      el("option", { value: "custom" }, "Your own (edit the schema)"));
    this.preset.addEventListener("change", () => {
      if (this.preset.value === "custom") return;
      this.schemaBox.value = pretty(PRESETS[Number(this.preset.value)].schema);
      this.fitSchemaBox();
      this.checkSchema();
    });
    this.schemaBox = el("textarea", { id: schemaId, class: "lab-prompt sp-schema", rows: 3, spellcheck: false, "aria-describedby": `${schemaId}-status` });
    this.schemaBox.value = pretty(PRESETS[0].schema);
    this.fitSchemaBox();
    this.schemaBox.addEventListener("input", () => {
      this.preset.value = "custom";
      clearTimeout(this.schemaTimer);
      this.schemaTimer = setTimeout(() => this.checkSchema(), 200);
    });
    this.schemaStatus = el("p", { id: `${schemaId}-status`, class: "sp-schema-status", role: "status", "aria-live": "polite" });

    this.prompt = el("textarea", { id: promptId, class: "lab-prompt sp-prompt", rows: 1, spellcheck: false });
    this.prompt.value = d.prompt ?? "Lionel Messi is";

    const t = field("Temperature", { min: 0, max: 5, step: 0.1, value: d.temperature ?? "0", class: "sp-temperature" }, "0 = greedy");
    const s = field("Seed", { min: 0, step: 1, value: d.seed ?? "1", class: "sp-seed" }, "same seed, same text");
    const m = field("Max tokens", { min: 1, max: MAX_TOKENS_LIMIT, step: 1, value: d.maxTokens ?? "48", class: "sp-max-tokens" });
    this.inputs = { temperature: t.input, seed: s.input, maxTokens: m.input };

    this.withBtn = el("button", { type: "button", class: "lab-button lab-primary sp-constrained", onclick: () => this.run(true) }, "Generate with constraint");
    this.freeBtn = el("button", { type: "button", class: "lab-button sp-free", onclick: () => this.run(false) }, "Generate without constraint");
    this.stopBtn = el("button", { type: "button", class: "lab-button lab-stop sp-stop", disabled: true, onclick: () => { this.stopRequested = true; } }, "Stop");

    for (const box of [this.schemaBox, this.prompt]) {
      box.addEventListener("keydown", (e) => {
        if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
          e.preventDefault();
          this.run(!e.shiftKey);
        }
      });
    }

    this.tokens = el("ol", { class: "sp-tokens", "aria-label": "Generated tokens, with how many tokens the mask allowed at each step" });
    this.text = el("div", { class: "lab-text sp-text" });
    this.verdict = el("p", { class: "sp-verdict", role: "status", "aria-live": "polite" });
    this.timingCells = {
      constrained: el("td", { class: "sp-ms-constrained" }, "not run yet"),
      free: el("td", { class: "sp-ms-free" }, "not run yet"),
    };
    const timingTable = el("table", { class: "sp-timing" },
      el("caption", {}, "Time per step (choose a token, run the model on it), this browser, the latest run of each"),
      el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Mode"), el("th", { scope: "col" }, "ms per step"))),
      el("tbody", {},
        el("tr", {}, el("th", { scope: "row" }, "With the constraint"), this.timingCells.constrained),
        el("tr", {}, el("th", { scope: "row" }, "Without"), this.timingCells.free)));

    this.root.append(
      el("div", { class: "sp-row" },
        el("label", { for: presetId, class: "lab-label" }, "Start from"), this.preset),
      el("label", { for: schemaId, class: "lab-label" }, "Schema (JSON; edit it freely)"),
      this.schemaBox,
      this.schemaStatus,
      el("label", { for: promptId, class: "lab-label" }, "Prompt (the model continues it)"),
      this.prompt,
      el("div", { class: "lab-fields" }, t.node, s.node, m.node),
      el("div", { class: "lab-buttons" }, this.withBtn, this.freeBtn, this.stopBtn),
      this.status,
      el("div", { class: "lab-text-wrap" }, el("span", { class: "lab-caption" }, "Tokens, one per step (below each: tokens the mask allowed)"), this.tokens),
      el("div", { class: "lab-text-wrap" }, el("span", { class: "lab-caption" }, "Generated text"), this.text),
      this.verdict,
      el("div", { class: "sp-timing-wrap" }, timingTable),
    );
  }

  fitSchemaBox() {
    this.schemaBox.rows = Math.min(10, Math.max(2, this.schemaBox.value.split("\n").length + 1));
  }

  // Parse and compile the schema box: {schema, grammar} or null (with the message shown).
  checkSchema() {
    const text = this.schemaBox.value;
    let schema;
    this.schemaStatus.classList.remove("lab-error");
    try {
      schema = JSON.parse(text);
    } catch (err) {
      return this.schemaError(`The schema is not valid JSON: ${err.message}.`);
    }
    let grammar;
    try {
      grammar = compileSchema(schema);
    } catch (err) {
      return this.schemaError(`This schema cannot be used: ${err.message}. Supported: types, properties, required, items, enum, const, anyOf, min/max lengths and items.`);
    }
    const minBytes = grammar.nodes[grammar.root].minLen;
    this.schemaStatus.textContent = `Schema OK: the shortest valid document is ${minBytes} characters long.`;
    if (this.root.dataset.state === "schema-error") this.setState("idle");
    return { schema, grammar, key: JSON.stringify(normalizeSchema(schema)) };
  }

  schemaError(message) {
    this.schemaStatus.textContent = message;
    this.schemaStatus.classList.add("lab-error");
    if (!this.busy) this.setState("schema-error");
    return null;
  }

  settings() {
    const num = (input, dflt) => {
      const v = Number(input.value);
      return input.value === "" || !Number.isFinite(v) ? dflt : v;
    };
    return {
      temperature: Math.max(0, num(this.inputs.temperature, 0)),
      seed: Math.min(Number.MAX_SAFE_INTEGER, Math.max(0, Math.floor(num(this.inputs.seed, 1)))), // xorShift's range
      maxTokens: Math.min(MAX_TOKENS_LIMIT, Math.max(1, Math.floor(num(this.inputs.maxTokens, 48)))),
    };
  }

  async ensureModel() {
    if (this.model) return this.model;
    this.setState("loading");
    const { model } = await loadModelWithStatus("model", this.status);
    this.model = model;
    return model;
  }

  decoderFor(compiled, tokenizer) {
    let decoder = this.decoders.get(compiled.key);
    if (!decoder) {
      decoder = new ConstrainedDecoder(compiled.grammar, tokenizer);
      this.decoders.set(compiled.key, decoder);
    }
    return decoder;
  }

  clearOutput(constrained) {
    this.tokens.textContent = "";
    this.text.textContent = "";
    this.verdict.textContent = "";
    this.verdict.className = "sp-verdict";
    this.root.dataset.mode = constrained ? "constrained" : "free";
    for (const k of ["text", "parses", "valid", "allowed"]) delete this.root.dataset[k];
  }

  async run(constrained) {
    if (this.busy) return;
    const compiled = this.checkSchema();
    if (!compiled) {
      this.say("Fix the schema first (see the message under it).");
      this.schemaBox.focus();
      return;
    }
    const s = this.settings();
    this.setBusy(true);
    this.stopRequested = false;
    this.clearOutput(constrained);
    try {
      const model = await this.ensureModel();
      await this.generate(model, compiled, constrained, s);
    } catch (err) {
      this.setState("error");
      if (!this.status.classList.contains("lab-error")) {
        this.status.classList.add("lab-error");
        this.status.textContent = `Generation failed: ${err.message || err}.`;
      }
    } finally {
      this.setBusy(false);
    }
  }

  async generate(model, compiled, constrained, s) {
    const tok = model.tokenizer;
    const V = model.vocabSize;
    let decoder = null;
    let cstate = null;
    if (constrained) {
      decoder = this.decoderFor(compiled, tok);
      try {
        cstate = decoder.start(s.maxTokens);
      } catch {
        const need = compiled.grammar.nodes[compiled.grammar.root].minLen;
        this.say(`No document of this schema fits in ${s.maxTokens} tokens: raise Max tokens to at least ${need}.`, true);
        this.setState("error");
        return;
      }
    }
    this.setState("running");
    this.say(constrained ? "Generating with the constraint…" : "Generating without the constraint…");
    const gen = new Generation(model, tok.encode(this.prompt.value));
    await gen.start();
    const rng = xorShift(s.seed);
    const ids = [];
    const allowedCounts = [];
    const stepMs = []; // whole steps: mask + choice + the model's forward pass on the chosen token
    const maskMs = []; // the constraint's share: computing the mask and advancing the decoder
    const modelMs = []; // the forward pass on the chosen token
    const chooseMs = []; // picking a token from the (masked) scores
    let ended = "max";
    // With the constraint, the decoder's budget guarantees the document closes within
    // maxTokens tokens, then one more step picks end-of-text.
    const limit = constrained ? s.maxTokens + 1 : s.maxTokens;
    for (let step = 0; step < limit; step++) {
      if (this.stopRequested) { ended = "stopped"; break; }
      const t0 = performance.now();
      let mask = null;
      let allowed = V;
      if (constrained) {
        mask = decoder.allowed(cstate);
        allowed = 0;
        for (let i = 0; i < V; i++) allowed += mask[i];
      }
      const t1 = performance.now();
      const id = pick(gen.logits, mask, s.temperature, rng);
      const t2 = performance.now();
      if (constrained) cstate = decoder.advance(cstate, id);
      const t3 = performance.now();
      allowedCounts.push(allowed);
      this.addToken(tok, id, allowed, V, constrained);
      if (id === model.eotId) {
        ended = "eot";
        break;
      }
      ids.push(id);
      const t4 = performance.now();
      await gen.append(id);
      const t5 = performance.now();
      stepMs.push(t1 - t0 + (t3 - t2) + (t2 - t1) + (t5 - t4));
      maskMs.push(t1 - t0 + (t3 - t2));
      chooseMs.push(t2 - t1);
      modelMs.push(t5 - t4);
      this.text.textContent = this.prompt.value;
      this.text.append(el("span", { class: "lab-text-new" }, constrained ? decoder.text(ids) : tok.decode(ids)));
      await yieldToBrowser();
    }
    const text = constrained ? decoder.text(ids) : tok.decode(ids);
    this.text.textContent = "";
    this.text.append(el("span", { class: "lab-text-prompt" }, this.prompt.value), el("span", { class: "lab-text-new" }, text));
    this.root.dataset.text = text;
    this.root.dataset.allowed = JSON.stringify(allowedCounts);
    this.report(text, compiled.schema, constrained, ended);
    this.recordTiming(constrained, { stepMs, modelMs, maskMs, chooseMs });
    const endedHow = { eot: "the model chose end-of-text", max: `it reached ${s.maxTokens} tokens`, stopped: "you pressed Stop" }[ended];
    this.status.textContent = `Done: ${ids.length} token${ids.length === 1 ? "" : "s"}; it ended because ${endedHow}.`;
    this.setState("done");
  }

  addToken(tok, id, allowed, V, constrained) {
    const isEot = id === tok.eotId;
    const label = isEot ? "end-of-text" : showToken(tok.tokenText(id));
    const count = constrained ? `${allowed} of ${V}` : `all ${V}`;
    this.tokens.append(el("li", {
      class: isEot ? "sp-token sp-eot" : "sp-token",
      title: `token ${id}; ${constrained ? `${allowed} of ${V} tokens allowed at this step` : "no mask: every token allowed"}`,
    }, el("span", { class: "sp-piece" }, label), el("small", { class: "sp-count" }, count)));
  }

  report(text, schema, constrained, ended) {
    let value;
    let parses = true;
    let problem = "";
    try {
      value = JSON.parse(text);
    } catch (err) {
      parses = false;
      problem = err.message;
    }
    const errors = parses ? validate(value, schema) : [];
    const valid = parses && errors.length === 0;
    this.root.dataset.parses = String(parses);
    this.root.dataset.valid = String(valid);
    this.verdict.textContent = "";
    this.verdict.className = `sp-verdict ${valid ? "sp-ok" : "sp-bad"}`;
    if (!parses) {
      this.verdict.append(el("strong", {}, "✗ Does not parse as JSON"), ` (${problem}).`);
      if (!constrained) this.verdict.append(" Without the constraint the model just writes whatever text is likely next.");
      else if (ended === "stopped") this.verdict.append(" Stopped before the document was finished.");
    } else if (!valid) {
      this.verdict.append(el("strong", {}, "✗ Parses as JSON, but does not match the schema"), `: ${errors.join("; ")}.`);
    } else {
      this.verdict.append(el("strong", {}, "✓ Parses as JSON and matches the schema."));
      if (constrained) this.verdict.append(" The constraint guaranteed the shape; the values are the model's choice.");
    }
  }

  // Means over the steps that ran the model (the last step, choosing end-of-text, ran none).
  recordTiming(constrained, { stepMs, modelMs, maskMs, chooseMs }) {
    const key = constrained ? "constrained" : "free";
    const cell = this.timingCells[key];
    if (!stepMs.length) {
      cell.textContent = "no full step ran";
      return;
    }
    const perStep = mean(stepMs);
    const prefix = constrained ? "msConstrained" : "msFree";
    this.root.dataset[prefix] = perStep.toFixed(3);
    this.root.dataset[`${prefix}Model`] = mean(modelMs).toFixed(3);
    const n = stepMs.length;
    cell.textContent = "";
    const parts = [`model ${ms(mean(modelMs))}`];
    if (constrained) {
      const mask = mean(maskMs);
      this.root.dataset.msMask = mask.toFixed(3);
      parts.push(`mask ${ms(mask)}`);
    }
    parts.push(`choosing ${ms(mean(chooseMs))}`);
    cell.append(el("strong", {}, ms(perStep)), ` (${parts.join(" + ")}; mean of ${n} step${n === 1 ? "" : "s"})`);
  }
}

export function mountSchemaPlayground(root) {
  if (root.dataset.mounted) return null;
  root.dataset.mounted = "1";
  return new Playground(root);
}
