// The self-attention page's worked example, live: scores, weights and outputs
// of one attention step that the reader can edit.
//
// Markup (the build fills the numbers in from the page's cells, so they are
// never typed twice):
//
//   <div class="lab attention-matrix">
//     <div class="am-data" hidden>
//       <span data-name="tokens">Dogs bark</span>
//       <span data-name="Q">[[1.0, 1.0, 2.0], ...]</span>  (and K, V)
//     </div>
//   </div>
//
// What it computes is the page's cells, step by step: scores = Q Kᵀ (editable),
// optionally divided by √d_k, optionally masked (a later token's score becomes
// -∞), a softmax per row, then weights · V. Nothing is downloaded.
//
// Test hooks: the root carries data-state ("ready" or "error"); each weight
// cell carries data-weight, each output row data-output (exact values, JSON).

const MAX_SCORE = 1000; // beyond this a softmax is all-or-nothing anyway

let uid = 0;

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else node.setAttribute(k, v === true ? "" : v);
  }
  node.append(...children.flat().filter((c) => c !== null && c !== undefined));
  return node;
}

// Reads the example from the markup; throws with a reader-facing message if it is unusable.
function readExample(root) {
  const field = (name) => {
    const node = root.querySelector(`.am-data [data-name="${name}"]`);
    if (!node) throw new Error(`the example's ${name} is missing from the page`);
    return node.textContent.trim();
  };
  const tokens = field("tokens").split(/\s+/).filter(Boolean);
  const matrix = (name) => {
    let m;
    try { m = JSON.parse(field(name)); } catch { throw new Error(`the example's ${name} is not a list of numbers`); }
    const ok = Array.isArray(m) && m.length === tokens.length
      && m.every((row) => Array.isArray(row) && row.length === m[0].length && row.every(Number.isFinite));
    if (!ok) throw new Error(`the example's ${name} needs one row of numbers per token`);
    return m;
  };
  const [Q, K, V] = [matrix("Q"), matrix("K"), matrix("V")];
  if (Q[0].length !== K[0].length) throw new Error("queries and keys must have the same length");
  return { tokens, Q, K, V };
}

const dot = (a, b) => a.reduce((s, x, i) => s + x * b[i], 0);

// softmax of one row; -Infinity entries get weight 0 (the causal mask).
export function softmax(row) {
  const top = Math.max(...row);
  const e = row.map((s) => Math.exp(s - top)); // subtracting the max avoids overflow
  const total = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / total);
}

// One attention step: the scores as given, then the page's steps 2 and 3.
export function attend(scores, V, { scale, mask, dK }) {
  const used = scores.map((row, i) => row.map((s, j) => (mask && j > i ? -Infinity : scale ? s / Math.sqrt(dK) : s)));
  const weights = used.map(softmax);
  const outputs = weights.map((w) => V[0].map((_, c) => w.reduce((s, wj, j) => s + wj * V[j][c], 0)));
  return { used, weights, outputs };
}

function shade(w) {
  // weight 0..1 -> white mixed with the accent orange, as in the attention view:
  // opaque and never darker than the orange, so black text keeps 8:1 contrast.
  const a = Math.sqrt(Math.max(0, Math.min(1, w)));
  const mix = (c) => Math.round(255 + (c - 255) * a);
  return `rgb(${mix(255)}, ${mix(112)}, ${mix(67)})`;
}

const fmt = (x, digits) => (x === -Infinity ? "−∞" : String(Number(x.toFixed(digits))).replace("-", "−"));

class AttentionMatrix {
  constructor(root, example) {
    this.root = root;
    Object.assign(this, example);
    this.dK = this.K[0].length;
    this.initial = this.Q.map((q) => this.K.map((k) => dot(q, k)));
    this.build();
    this.reset();
    root.dataset.state = "ready";
  }

  build() {
    const n = ++uid;
    const T = this.tokens.length;
    const toggle = (cls, text) => {
      const id = `am-${cls}-${n}`;
      const box = el("input", { type: "checkbox", id, class: `am-${cls}` });
      box.addEventListener("change", () => this.update());
      return [box, el("label", { class: "am-toggle", for: id }, box, " ", text)];
    };
    let scaleLabel, maskLabel;
    [this.scaleBox, scaleLabel] = toggle("scale", `Divide the scores by √d_k = √${this.dK}`);
    [this.maskBox, maskLabel] = toggle("mask", "Causal mask: no looking at later tokens");
    const head = (corner) => el("thead", {}, el("tr", {}, el("th", { scope: "col", class: "am-corner" }, corner),
      this.tokens.map((t) => el("th", { scope: "col" }, t))));

    this.inputs = [];
    this.usedCells = [];
    const scoreRows = this.tokens.map((t, i) => {
      this.inputs[i] = [];
      this.usedCells[i] = [];
      return el("tr", {}, el("th", { scope: "row" }, t), this.tokens.map((u, j) => {
        const input = el("input", {
          type: "text", inputmode: "decimal", class: "am-score", size: 4,
          "aria-label": `Score of ${t} (row ${i + 1}) looking at ${u} (column ${j + 1})`,
        });
        input.addEventListener("input", () => this.update());
        this.inputs[i][j] = input;
        this.usedCells[i][j] = el("span", { class: "am-used", "aria-hidden": "true" });
        return el("td", {}, input, this.usedCells[i][j]);
      }));
    });
    this.weightCells = this.tokens.map(() => []);
    const weightRows = this.tokens.map((t, i) => el("tr", {}, el("th", { scope: "row" }, t),
      this.tokens.map((u, j) => (this.weightCells[i][j] = el("td", { class: "am-weight" })))));
    this.outputCells = [];
    const outputRows = this.tokens.map((t, i) => el("tr", {}, el("th", { scope: "row" }, t),
      (this.outputCells[i] = el("td", { class: "am-output" }))));

    this.status = el("p", { class: "lab-status", role: "status", "aria-live": "polite" });
    const resetBtn = el("button", { type: "button", class: "lab-button am-reset" }, "Reset");
    resetBtn.addEventListener("click", () => this.reset());
    this.panel = el("div", { class: "am-panel" },
      el("div", { class: "am-toggles" }, scaleLabel, maskLabel),
      el("div", { class: "am-tables" },
        el("figure", { class: "am-step" },
          el("figcaption", { class: "lab-label" }, "1. Scores: query · key (edit any)"),
          el("table", { class: "am-scores" }, head("looks at →"), el("tbody", {}, scoreRows)),
          el("p", { class: "lab-caption am-used-caption" })),
        el("figure", { class: "am-step" },
          el("figcaption", { class: "lab-label" }, "2. Weights: softmax of each row"),
          el("table", { class: "am-weights" }, head("looks at →"), el("tbody", {}, weightRows)),
          el("p", { class: "lab-caption" }, "Each row adds up to 1. Darker: more weight.")),
        el("figure", { class: "am-step" },
          el("figcaption", { class: "lab-label" }, "3. Output: weights × V"),
          el("table", { class: "am-outputs" }, el("tbody", {}, outputRows)),
          el("p", { class: "lab-caption" }, `V: ${this.tokens.map((t, i) => `${t} [${this.V[i].join(", ")}]`).join(", ")}`))),
      el("div", { class: "lab-buttons" }, resetBtn),
      this.status);
    this.usedCaption = this.panel.querySelector(".am-used-caption");
    this.root.replaceChildren(this.root.querySelector(".am-data") ?? "", this.panel);
    this.T = T;
  }

  reset() {
    this.scaleBox.checked = true;
    this.maskBox.checked = false;
    this.scores = this.initial.map((row) => row.slice());
    this.inputs.forEach((row, i) => row.forEach((input, j) => {
      input.value = fmt(this.scores[i][j], 4).replace("−", "-");
      input.removeAttribute("aria-invalid");
    }));
    this.update();
  }

  // Reads the inputs (keeping the last good value of any that is not a number), recomputes, redraws.
  update() {
    const bad = [];
    this.inputs.forEach((row, i) => row.forEach((input, j) => {
      const text = input.value.trim().replace("−", "-").replace(",", ".");
      const x = text === "" ? NaN : Number(text);
      if (Number.isFinite(x) && Math.abs(x) <= MAX_SCORE) {
        this.scores[i][j] = x;
        input.removeAttribute("aria-invalid");
      } else {
        input.setAttribute("aria-invalid", "true");
        bad.push(`${this.tokens[i]} → ${this.tokens[j]}`);
      }
    }));
    const scale = this.scaleBox.checked;
    const mask = this.maskBox.checked;
    const { used, weights, outputs } = attend(this.scores, this.V, { scale, mask, dK: this.dK });
    for (let i = 0; i < this.T; i++) {
      for (let j = 0; j < this.T; j++) {
        const masked = mask && j > i;
        this.inputs[i][j].disabled = masked;
        this.usedCells[i][j].textContent = masked ? "−∞" : scale ? `÷√${this.dK} → ${fmt(used[i][j], 3)}` : "";
        const w = weights[i][j];
        const cell = this.weightCells[i][j];
        cell.dataset.weight = String(w);
        cell.classList.toggle("am-masked", masked);
        cell.style.background = masked ? "" : shade(w);
        cell.style.color = masked ? "" : "#000";
        cell.replaceChildren(el("span", { class: "am-num" }, fmt(w, 4)),
          el("span", { class: "am-bar", style: `width: ${(w * 100).toFixed(1)}%` }));
        cell.title = `${this.tokens[i]} gives ${this.tokens[j]} ${(w * 100).toFixed(1)}% of its attention`;
      }
      this.outputCells[i].dataset.output = JSON.stringify(outputs[i]);
      this.outputCells[i].textContent = `[${outputs[i].map((x) => fmt(x, 3)).join(", ")}]`;
    }
    this.usedCaption.textContent = mask
      ? "Masked scores (−∞) are for later tokens: their weight becomes 0."
      : scale ? `Small print: the score after dividing by √${this.dK}, what the softmax receives.` : "The softmax receives the scores as they are.";
    this.status.classList.toggle("lab-error", bad.length > 0);
    this.status.textContent = bad.length
      ? `Type a number between −${MAX_SCORE} and ${MAX_SCORE} for ${bad.join(", ")}; the tables use its last valid value.`
      : `${this.tokens[0]} gives ${this.tokens.map((t, j) => `${(weights[0][j] * 100).toFixed(0)}% to ${t}`).join(" and ")}.`;
  }
}

export function mountAttentionMatrix(root) {
  if (root.dataset.mounted !== undefined) return null;
  root.dataset.mounted = "";
  try {
    return new AttentionMatrix(root, readExample(root));
  } catch (err) {
    root.dataset.state = "error";
    root.replaceChildren(root.querySelector(".am-data") ?? "",
      el("p", { class: "lab-status lab-error", role: "status" }, `This demo could not start: ${err.message}.`));
    return null;
  }
}
