// Attention, seen from inside the tiny model: which earlier tokens each token looks at.
//
// Markup (in a page; widgets.js mounts it):
//
//   <div class="lab attention-view" data-text="The capital of France is Paris."></div>
//
// The model loads on the first click (Show attention, or the pronoun sentence
// button). One forward pass over the text returns the attention probabilities
// of every layer and head ([n_layer, 1, n_head, T, T]). Hovering, focusing or
// tapping a token shows how strongly it attends to each token up to itself
// (rows sum to 1; later tokens are masked: it cannot see them); the heatmap
// shows all rows at once, scaled to fit the column: its cells shrink with the
// number of tokens, and when they get too narrow for the column labels those
// labels are hidden (the tokens above still name every column). Arrow keys
// move between tokens.
//
// Test hooks: each token chip carries data-index and, while a token is
// selected, data-weight (the exact probability); the root carries data-state.

import { el, loadModelWithStatus, showToken } from "./dom.js";
import { attentionWeight } from "./model-runtime.js";
import { Widget } from "./widget.js";

export const PRONOUN_SENTENCE = "The animal didn't cross the road because it was too wide";
const AVERAGE = -1;

let uid = 0;

function shade(w) {
  // weight 0..1 -> white mixed with the accent orange (sqrt: small weights stay
  // visible). Opaque and never darker than the orange itself, so black text on
  // it keeps a contrast of at least 8:1 at every weight, in both colour schemes.
  const a = Math.sqrt(Math.max(0, Math.min(1, w)));
  const mix = (c) => Math.round(255 + (c - 255) * a);
  return `rgb(${mix(255)}, ${mix(112)}, ${mix(67)})`;
}

class AttentionView extends Widget {
  constructor(root) {
    super(root, "Press Show attention to run the model over this text (it loads on the first click).");
    this.model = null;
    this.att = null;
    this.ids = [];
    this.query = -1;
    this.layer = 0;
    this.head = AVERAGE;
    this.build();
    this.controls = [this.showBtn, this.pronounBtn];
  }

  build() {
    const d = this.root.dataset;
    this.root.textContent = "";
    const inputId = `att-text-${++uid}`;
    this.input = el("input", { id: inputId, type: "text", class: "att-input", value: d.text ?? PRONOUN_SENTENCE, spellcheck: false });
    this.input.addEventListener("keydown", (e) => {
      if (e.key === "Enter") {
        e.preventDefault();
        this.show();
      }
    });
    this.showBtn = el("button", { type: "button", class: "lab-button lab-primary att-show", onclick: () => this.show() }, "Show attention");
    this.pronounBtn = el("button", {
      type: "button", class: "lab-button att-pronoun",
      onclick: () => {
        this.input.value = PRONOUN_SENTENCE;
        this.show(PRONOUN_SENTENCE.indexOf(" it ") + 1); // select the pronoun
      },
    }, "Load the pronoun sentence");
    const layerId = `att-layer-${++uid}`;
    const headId = `att-head-${++uid}`;
    this.layerSel = el("select", { id: layerId, class: "att-layer", disabled: true });
    this.headSel = el("select", { id: headId, class: "att-head", disabled: true });
    this.layerSel.addEventListener("change", () => { this.layer = Number(this.layerSel.value); this.draw(); });
    this.headSel.addEventListener("change", () => { this.head = Number(this.headSel.value); this.draw(); });
    this.notice = el("p", { class: "lab-notice", hidden: true });
    this.tokens = el("div", { class: "att-tokens", role: "group", "aria-label": "Tokens: hover, tap or focus one to see what it attends to" });
    this.summary = el("p", { class: "att-summary", "aria-live": "polite" });
    this.heat = el("div", { class: "att-heat-wrap" });
    // Column labels need about a line's height of width; hide them when the cells get narrower.
    this.fit = new ResizeObserver(() => this.fitLabels());
    this.fit.observe(this.heat);
    this.root.append(
      el("label", { for: inputId, class: "lab-label" }, "Text"),
      el("div", { class: "att-inputrow" }, this.input),
      el("div", { class: "lab-buttons" }, this.showBtn, this.pronounBtn),
      el("div", { class: "lab-fields att-fields" },
        el("div", { class: "lab-field" }, el("label", { for: layerId }, "Layer"), this.layerSel),
        el("div", { class: "lab-field" }, el("label", { for: headId }, "Head"), this.headSel)),
      this.status, this.notice, this.tokens, this.summary, this.heat,
    );
  }

  // selectAt: a character offset in the text whose token to select (default: the last token).
  show(selectAt) {
    return this.perform(() => this.showNow(selectAt));
  }

  async showNow(selectAt) {
    if (!this.model) {
      ({ model: this.model } = await loadModelWithStatus("model", this.status));
      const m = this.model;
      this.layerSel.replaceChildren(...Array.from({ length: m.nLayer }, (_, l) => el("option", { value: l }, `layer ${l + 1} of ${m.nLayer}`)));
      this.headSel.replaceChildren(el("option", { value: AVERAGE }, "average over heads"),
        ...Array.from({ length: m.nHead }, (_, h) => el("option", { value: h }, `head ${h + 1}`)));
      this.layerSel.disabled = false;
      this.headSel.disabled = false;
    }
    const m = this.model;
    const tok = m.tokenizer;
    let ids = tok.encode(this.input.value);
    let pieces = tok.pieces(this.input.value);
    this.notice.hidden = true;
    if (ids.length === 0) {
      this.ids = [];
      this.att = null;
      this.tokens.textContent = "";
      this.heat.textContent = "";
      this.summary.textContent = "";
      this.say("Type some text first: with no tokens there is nothing to attend to.");
      return;
    }
    if (ids.length > m.blockSize) {
      const cut = ids.length - m.blockSize;
      ids = ids.slice(cut);
      pieces = pieces.slice(cut);
      this.notice.textContent = `The text is ${cut + m.blockSize} tokens, longer than the model's window of ${m.blockSize}: `
        + `only its last ${m.blockSize} tokens are shown (the first ${cut} were dropped).`;
      this.notice.hidden = false;
    }
    const r = await m.run(ids, m.emptyPast(), true);
    this.ids = ids;
    this.pieces = pieces;
    this.att = r.attentions;
    this.layer = Math.min(this.layer, m.nLayer - 1);
    this.say(`${ids.length} tokens. Hover, tap or focus a token (arrow keys move) to see how much it attends to each earlier token.`);
    this.renderTokens();
    let q = ids.length - 1;
    if (Number.isInteger(selectAt) && selectAt >= 0) {
      const at = pieces.findIndex((p) => p.end > selectAt);
      if (at >= 0) q = at;
    }
    this.select(q);
  }

  weight(q, k) {
    return attentionWeight(this.att, this.layer, this.head, q, k);
  }

  renderTokens() {
    const tok = this.model.tokenizer;
    this.tokens.textContent = "";
    this.chips = this.ids.map((id, i) => {
      const chip = el("button", {
        type: "button", class: "att-token", "data-index": i, "data-id": id,
        title: `token ${id}`,
      }, el("span", { class: "att-token-text" }, showToken(tok.tokenText(id))), el("span", { class: "att-token-w" }, ""));
      chip.addEventListener("mouseenter", () => this.select(i));
      chip.addEventListener("focus", () => this.select(i));
      chip.addEventListener("click", () => this.select(i));
      chip.addEventListener("keydown", (e) => {
        const to = e.key === "ArrowRight" ? i + 1 : e.key === "ArrowLeft" ? i - 1 : e.key === "Home" ? 0 : e.key === "End" ? this.ids.length - 1 : null;
        if (to !== null && to >= 0 && to < this.ids.length) {
          e.preventDefault();
          this.chips[to].focus();
        }
      });
      this.tokens.append(chip);
      return chip;
    });
  }

  select(q) {
    this.query = q;
    this.draw();
  }

  draw() {
    if (!this.att || this.query < 0) return;
    const tok = this.model.tokenizer;
    const q = this.query;
    const weights = this.ids.map((_, k) => this.weight(q, k));
    this.chips.forEach((chip, k) => {
      const w = weights[k];
      chip.dataset.weight = String(w);
      chip.classList.toggle("att-query", k === q);
      chip.classList.toggle("att-future", k > q);
      chip.setAttribute("aria-pressed", k === q ? "true" : "false");
      chip.style.background = k > q ? "" : shade(w);
      chip.style.color = k > q ? "" : "#000";
      chip.querySelector(".att-token-w").textContent = k > q ? "" : `${Math.round(w * 100)}%`;
      chip.title = k > q ? `after the selected token: masked, it cannot be seen (weight ${w})`
        : `token ${this.ids[k]}: weight ${(w * 100).toFixed(1)}%`;
    });
    const headName = this.head === AVERAGE ? "averaged over its heads" : `head ${this.head + 1}`;
    const top = weights.slice(0, q + 1).map((w, k) => [w, k]).sort((a, b) => b[0] - a[0]).slice(0, 3);
    const name = (k) => `“${showToken(tok.tokenText(this.ids[k]))}”`;
    this.summary.textContent = `In layer ${this.layer + 1}, ${headName}, token ${q + 1} ${name(q)} attends most to `
      + top.map(([w, k]) => `${k === q ? "itself" : name(k)} ${(w * 100).toFixed(0)}%`).join(", ")
      + (q + 1 < this.ids.length ? `. The ${this.ids.length - q - 1} later token${this.ids.length - q - 1 === 1 ? " is" : "s are"} masked out: a token never sees the future.` : ".");
    this.drawHeat();
  }

  drawHeat() {
    const tok = this.model.tokenizer;
    const T = this.ids.length;
    const label = (k) => showToken(tok.tokenText(this.ids[k]));
    const table = el("table", { class: "att-heat", "aria-label": "Attention heatmap: rows are the tokens looking, columns the tokens looked at" },
      el("thead", {}, el("tr", {}, el("th", { class: "att-corner" }, "looks at →"),
        this.ids.map((_, k) => el("th", { class: "att-col" }, el("span", {}, label(k)))))),
      el("tbody", {}, this.ids.map((_, q) => el("tr", { class: q === this.query ? "att-row-selected" : "" },
        el("th", { class: "att-rowhead", scope: "row" }, el("button", { type: "button", class: "att-rowbtn", tabindex: -1, onclick: () => this.select(q) }, label(q))),
        this.ids.map((__, k) => {
          const w = this.weight(q, k);
          return el("td", { class: k > q ? "att-masked" : "", style: { background: k > q ? "" : shade(w), color: k > q ? "" : "#000" }, title: `${label(q)} → ${label(k)}: ${(w * 100).toFixed(1)}%` });
        })))));
    table.style.setProperty("--cols", T);
    this.heat.replaceChildren(el("p", { class: "lab-caption" }, "All rows at once: each row is one token, its cells how much it attends to each token (darker = more); the upper triangle is masked."), table);
    this.fitLabels();
  }

  fitLabels() {
    const table = this.heat.querySelector(".att-heat");
    const cell = table?.querySelector("td");
    if (!cell) return;
    const lineHeight = parseFloat(getComputedStyle(table).fontSize) * 1.1;
    table.classList.toggle("att-heat-narrow", cell.getBoundingClientRect().width < lineHeight);
  }
}

export function mountAttentionView(node) {
  if (node.dataset.mounted !== undefined) return null;
  node.dataset.mounted = "";
  return new AttentionView(node);
}
