// The live-learning demo: a small network trained step by step in the reader's browser.
//
// The page holds a placeholder, <div class="live-training" data-steps="20">,
// whose fallback text says what the demo would do. This module swaps in
// buttons, a loss curve (inline SVG) and tables. Each step runs the Python
// the page's cells defined (class LiveRun, see snippets/neural_networks/
// training_live.py) through page.runAfterCells: the page's cells run first in
// the shared interpreter, so edits the reader made to them take effect. The
// Python side prints one JSON line per step.
//
// Nothing heavy loads with the page: Python starts on the first click.

import { CrashedError, page, StoppedError } from "./cells.js";

// Styles: stylesheets/live-training.css (in mkdocs.yml's extra_css).

// A learning rate that is too large can make the numbers grow without bound:
// a float overflows (OverflowError), or the loss or a weight becomes inf or
// nan, which JSON cannot carry. Either way the step reports {"diverged": true}.
const STEP_CODE = `
import json
try:
    live_run
except NameError:
    live_run = LiveRun()
_line = None
try:
    _step = live_run.step()
except OverflowError:
    _step = None
if _step is not None:
    try:
        _line = json.dumps(_step, allow_nan=False)
    except ValueError:  # inf or nan among the step's numbers
        pass
print(_line or json.dumps({"diverged": True, "lr": str(learning_rate)}))
`;
const RESET_CODE = "live_run = LiveRun()\n";

const SVG_NS = "http://www.w3.org/2000/svg";
// The curve's drawing area inside the SVG's viewBox.
const VIEW = { width: 520, height: 210, left: 44, right: 14, top: 12, bottom: 30 };

let uid = 0;

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  node.append(...children);
  return node;
}

function svgEl(tag, attrs = {}) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  return node;
}

const fmt = (v, digits = 4) => (v < 0 ? "−" : "") + Math.abs(v).toFixed(digits);
const signed = (v, digits = 4) => (v < 0 ? "−" : "+") + Math.abs(v).toFixed(digits);

// The needs (e.g. numpy) of the page's last cell cover every cell before it.
function pageNeeds() {
  const cells = document.querySelectorAll(".pycell");
  const last = cells[cells.length - 1];
  return ((last && last.dataset.needs) || "").split(" ").filter(Boolean);
}

// A Python error in the output items becomes one plain sentence.
function throwOnError(items) {
  const error = items.find((item) => item.type === "error");
  if (error) {
    const lines = error.text.trim().split("\n");
    throw new Error(`The training code raised an error (${lines[lines.length - 1]}). ` +
      "Fix or Reset the cells above, then try again.");
  }
}

// Output items from cellrun.py -> the step's dict, or throws a plain sentence.
function parseStep(items) {
  throwOnError(items);
  const stdout = items.filter((item) => item.type === "stdout").map((item) => item.text).join("");
  const line = stdout.trim().split("\n").reverse().find((l) => l.startsWith("{"));
  if (!line) throw new Error("The training step printed no result; did a cell above change LiveRun.step()?");
  const result = JSON.parse(line);
  if (result.diverged) {
    throw new Error(`The training diverged: with learning rate ${result.lr} each step ` +
      "overshoots, and the loss grew too large for a number to hold. Set a smaller learning rate in the " +
      "training cell above, run it, then press Reset weights.");
  }
  return result;
}

class LiveTraining {
  constructor(root) {
    this.root = root;
    this.batch = Math.max(2, parseInt(root.dataset.steps || "20", 10) || 20);
    this.history = []; // loss per step, in order
    this.running = false;
    this.pauseRequested = false;
    this.id = `live-training-${++uid}`;
    this.build();
  }

  build() {
    const root = this.root;
    root.replaceChildren();
    root.classList.add("lt-ready");
    root.setAttribute("role", "group");
    root.setAttribute("aria-label", "Live training demo");

    this.oneButton = el("button", { type: "button", class: "lt-button lt-step", text: "Train 1 step" });
    this.manyButton = el("button", { type: "button", class: "lt-button lt-many", text: `Train ${this.batch} steps` });
    this.resetButton = el("button", { type: "button", class: "lt-button lt-reset", text: "Reset weights" });
    this.oneButton.addEventListener("click", () => this.train(1));
    this.manyButton.addEventListener("click", () => {
      if (!this.running) this.train(this.batch);
      else if (this.manyButton.getAttribute("aria-pressed") === "true") this.pause();
    });
    this.resetButton.addEventListener("click", () => this.reset());

    this.status = el("p", { class: "lt-status", role: "status", "aria-live": "polite",
      text: "Press a Train button. The first press starts Python in your browser, which takes a few seconds." });
    this.readout = el("p", { class: "lt-readout", text: "No steps yet." });

    this.svg = svgEl("svg", {
      class: "lt-curve", viewBox: `0 0 ${VIEW.width} ${VIEW.height}`, role: "img",
      "aria-labelledby": `${this.id}-title ${this.id}-desc`, preserveAspectRatio: "xMidYMid meet",
    });
    this.svgTitle = svgEl("title", { id: `${this.id}-title` });
    this.svgDesc = svgEl("desc", { id: `${this.id}-desc` });
    this.svg.append(this.svgTitle, this.svgDesc);
    this.plot = svgEl("g", { class: "lt-plot" });
    this.svg.append(this.plot);

    this.forward = el("div", { class: "lt-scroll lt-forward", tabindex: "0", role: "region",
      "aria-label": "Forward pass table" });
    this.params = el("div", { class: "lt-scroll lt-params", tabindex: "0", role: "region",
      "aria-label": "Gradients and weights table" });

    root.append(
      el("div", { class: "lt-controls" }, this.oneButton, this.manyButton, this.resetButton),
      this.status,
      el("figure", { class: "lt-figure" }, this.svg, el("figcaption", {}, this.readout)),
      el("div", { class: "lt-tables" },
        el("section", { class: "lt-panel" }, el("h3", { text: "Forward pass" }), this.forward),
        el("section", { class: "lt-panel" }, el("h3", { text: "Gradients and weights" }), this.params)),
    );
    this.drawCurve();
  }

  setStatus(text) {
    this.status.textContent = text;
  }

  // Busy buttons are marked aria-disabled rather than disabled, so a button
  // that has keyboard focus keeps it (a disabled button would drop it).
  setRunning(running, steps = 0) {
    this.running = running;
    this.root.classList.toggle("lt-running", running);
    const batch = running && steps >= 2;
    // While a batch runs, its button pauses it.
    this.manyButton.textContent = batch ? "Pause" : `Train ${this.batch} steps`;
    this.manyButton.setAttribute("aria-pressed", String(batch));
    for (const [button, busy] of [[this.oneButton, running], [this.resetButton, running], [this.manyButton, running && !batch]]) {
      button.setAttribute("aria-disabled", String(busy));
    }
  }

  pause() {
    this.pauseRequested = true;
    this.setStatus("Pausing after this step…");
  }

  async train(steps) {
    if (this.running) return;
    this.pauseRequested = false;
    this.setRunning(true, steps);
    const startLoss = this.history.length ? this.history[this.history.length - 1] : null;
    let done = 0;
    try {
      for (; done < steps && !this.pauseRequested; done++) {
        const items = await page.runAfterCells(STEP_CODE, pageNeeds(), (text) => this.setStatus(text));
        const result = parseStep(items);
        // A fresh interpreter (after Stop, say) starts a fresh network at step 1.
        if (result.step === 1 && this.history.length) this.history = [];
        this.history.push(result.loss);
        this.show(result);
        this.setStatus(`Training… step ${result.step}`);
      }
      const last = this.history[this.history.length - 1];
      const from = startLoss === null ? this.history[0] : startLoss;
      const what = done === 1 ? "1 step" : `${done} steps`;
      this.setStatus(`${this.pauseRequested ? "Paused after" : "Trained"} ${what}: loss ${fmt(from)} → ${fmt(last)}.`);
    } catch (err) {
      this.setStatus(this.explain(err));
    } finally {
      this.pauseRequested = false;
      this.setRunning(false);
    }
  }

  async reset() {
    if (this.running) return;
    this.setRunning(true);
    try {
      const items = await page.runAfterCells(RESET_CODE, pageNeeds(), (text) => this.setStatus(text));
      throwOnError(items);
      this.history = [];
      this.drawCurve();
      this.readout.textContent = "No steps yet.";
      this.forward.replaceChildren();
      this.params.replaceChildren();
      this.setStatus("Weights reset: a fresh network with the same random start.");
    } catch (err) {
      this.setStatus(this.explain(err));
    } finally {
      this.setRunning(false);
    }
  }

  explain(err) {
    if (err instanceof StoppedError || err instanceof CrashedError) {
      const why = err instanceof StoppedError ? "Python was stopped" : err.message;
      return `${why}, so training stopped. The next press starts a fresh network.`;
    }
    const message = (err && err.message) || String(err);
    if (message.startsWith("The training") || message.startsWith("Cell ") || message.includes("could not be downloaded")) {
      return message;
    }
    return `Python could not run in this browser (${message}). ` +
      "The training output above was computed when the site was built.";
  }

  show(result) {
    const first = this.history[0];
    const last = this.history[this.history.length - 1];
    this.readout.textContent = `Step ${result.step}: loss ${fmt(result.loss)} (step 1: ${fmt(first)}), ` +
      `learning rate ${result.lr}.`;
    this.drawCurve();
    this.root.dataset.step = String(result.step);
    this.root.dataset.loss = String(last);

    const forward = el("table", { class: "lt-table" });
    forward.append(el("caption", { text: `Step ${result.step}: predictions with the weights before the step` }));
    forward.append(el("thead", {}, el("tr", {},
      el("th", { scope: "col", text: "input x₁" }), el("th", { scope: "col", text: "input x₂" }),
      el("th", { scope: "col", text: "target" }), el("th", { scope: "col", text: "prediction" }),
      el("th", { scope: "col", text: "right sign?" }))));
    const fbody = el("tbody");
    for (const ex of result.examples) {
      const right = Math.sign(ex.prediction) === Math.sign(ex.target);
      fbody.append(el("tr", { class: right ? "lt-right" : "lt-wrong" },
        el("td", { text: signed(ex.x[0], 1) }), el("td", { text: signed(ex.x[1], 1) }),
        el("td", { text: signed(ex.target, 1) }), el("td", { text: signed(ex.prediction, 3) }),
        el("td", { text: right ? "yes" : "no" })));
    }
    forward.append(fbody);
    const lossRow = el("p", { class: "lt-loss", text: `Mean squared error: ${fmt(result.loss)}` });
    this.forward.replaceChildren(forward, lossRow);

    const table = el("table", { class: "lt-table lt-weights" });
    table.append(el("caption", { text: `Step ${result.step}: new weight = before − ${result.lr} × gradient` }));
    table.append(el("thead", {}, el("tr", {},
      el("th", { scope: "col", text: "parameter" }), el("th", { scope: "col", text: "before" }),
      el("th", { scope: "col", text: "gradient" }), el("th", { scope: "col", text: "after" }))));
    const pbody = el("tbody");
    for (const p of result.params) {
      pbody.append(el("tr", {},
        el("th", { scope: "row", text: p.name }), el("td", { text: signed(p.before) }),
        el("td", { text: signed(p.grad) }), el("td", { class: "lt-after", text: signed(p.after) })));
    }
    table.append(pbody);
    this.params.replaceChildren(table);
  }

  drawCurve() {
    const n = this.history.length;
    const xMax = Math.max(this.batch, Math.ceil(n / this.batch) * this.batch);
    const yMax = n ? niceCeiling(Math.max(...this.history.filter(Number.isFinite), 1e-9)) : 1;
    const w = VIEW.width - VIEW.left - VIEW.right;
    const h = VIEW.height - VIEW.top - VIEW.bottom;
    const px = (step) => VIEW.left + (xMax <= 1 ? 0 : ((step - 1) / (xMax - 1)) * w);
    const py = (loss) => VIEW.top + h - (Math.min(Math.max(loss, 0), yMax) / yMax) * h;

    const g = this.plot;
    g.replaceChildren();
    g.append(svgEl("line", { class: "lt-axis", x1: VIEW.left, y1: VIEW.top, x2: VIEW.left, y2: VIEW.top + h }));
    g.append(svgEl("line", { class: "lt-axis", x1: VIEW.left, y1: VIEW.top + h, x2: VIEW.left + w, y2: VIEW.top + h }));
    const label = (text, attrs) => {
      const t = svgEl("text", { class: "lt-label", ...attrs });
      t.textContent = text;
      g.append(t);
    };
    label(String(yMax), { x: VIEW.left - 4, y: VIEW.top + 4, "text-anchor": "end" });
    label("0", { x: VIEW.left - 4, y: VIEW.top + h + 4, "text-anchor": "end" });
    label("loss", { x: 4, y: VIEW.top + h / 2, "text-anchor": "start" });
    label("1", { x: px(1), y: VIEW.height - 14, "text-anchor": "middle" });
    label(String(xMax), { x: px(xMax), y: VIEW.height - 14, "text-anchor": "end" });
    label("step", { x: VIEW.left + w / 2, y: VIEW.height - 4, "text-anchor": "middle" });

    if (n) {
      const points = this.history.map((loss, i) => `${px(i + 1).toFixed(1)},${py(loss).toFixed(1)}`);
      g.append(svgEl("polyline", { class: "lt-line", points: points.join(" ") }));
      this.history.forEach((loss, i) => {
        g.append(svgEl("circle", { class: "lt-point", cx: px(i + 1).toFixed(1), cy: py(loss).toFixed(1), r: 2.2 }));
      });
    }
    this.svg.dataset.points = String(n);
    const summary = n === 0
      ? "Loss curve: no training steps yet."
      : n === 1
        ? `Loss curve: loss ${fmt(this.history[0])} after 1 step.`
        : `Loss curve: loss ${this.history[n - 1] < this.history[0] ? "fell" : "went"} from ` +
          `${fmt(this.history[0])} to ${fmt(this.history[n - 1])} over ${n} steps.`;
    this.svgTitle.textContent = summary;
    this.svgDesc.textContent = "Each dot is one training step's loss on the four examples; lower is better.";
  }
}

// 0.93 -> 1, 1.3 -> 1.5, 7.8 -> 8, 871 -> 1000: a round top for the y axis.
function niceCeiling(value) {
  const power = 10 ** Math.floor(Math.log10(value));
  for (const m of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) {
    if (value <= m * power) return Number((m * power).toPrecision(3));
  }
  return 10 * power;
}

// Called by widgets.js for each .live-training placeholder; safe to call twice.
export function mountLiveTraining(root) {
  if (root.liveTraining) return root.liveTraining;
  root.liveTraining = new LiveTraining(root);
  return root.liveTraining;
}
