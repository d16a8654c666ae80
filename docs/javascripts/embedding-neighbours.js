// Nearest neighbours in the tiny model's embedding table, by cosine similarity.
//
// Markup (in a page; widgets.js mounts it):
//
//   <div class="lab embedding-neighbours" data-word=" France"></div>
//
// The table (vocab_size rows of n_embd numbers) is read from model.onnx's
// initializer "wte" (onnx-reader.js), so no extra file is needed; the model
// loads on the first click. A text that is several tokens offers each of them.
// Clicking a neighbour explores it in turn.

import { el, loadModelWithStatus, showToken } from "./dom.js";
import { Widget } from "./widget.js";

const SHOW = 10;
let uid = 0;

// Cosine similarity of row `id` with every row of table [V, C]. Returns Float64Array(V).
export function cosineAll(table, V, C, id) {
  const out = new Float64Array(V);
  const a = table.subarray(id * C, (id + 1) * C);
  let na = 0;
  for (let c = 0; c < C; c++) na += a[c] * a[c];
  na = Math.sqrt(na) || 1;
  for (let v = 0; v < V; v++) {
    let dot = 0;
    let nb = 0;
    const off = v * C;
    for (let c = 0; c < C; c++) {
      dot += a[c] * table[off + c];
      nb += table[off + c] * table[off + c];
    }
    out[v] = dot / (na * (Math.sqrt(nb) || 1));
  }
  return out;
}

class Neighbours extends Widget {
  constructor(root) {
    super(root, "Type a word (with its leading space, as it appears inside a sentence) and press Find neighbours; "
      + "the model loads on the first click.");
    this.model = null;
    const inputId = `emb-word-${++uid}`;
    this.input = el("input", { id: inputId, type: "text", class: "emb-input", value: root.dataset.word ?? " France", spellcheck: false });
    this.input.addEventListener("keydown", (e) => {
      if (e.key === "Enter") {
        e.preventDefault();
        this.find();
      }
    });
    this.findBtn = el("button", { type: "button", class: "lab-button lab-primary emb-find", onclick: () => this.find() }, "Find neighbours");
    this.choices = el("div", { class: "emb-choices" });
    this.result = el("div", { class: "emb-result" });
    root.textContent = "";
    root.append(el("label", { for: inputId, class: "lab-label" }, "Word or text"), el("div", { class: "att-inputrow" }, this.input),
      el("div", { class: "lab-buttons" }, this.findBtn), this.status, this.choices, this.result);
    this.controls = [this.findBtn];
  }

  find() {
    return this.perform(() => this.findNow());
  }

  async findNow() {
    if (!this.model) ({ model: this.model } = await loadModelWithStatus("model", this.status));
    const m = this.model;
    if (!m.wte) throw new Error("this model file has no embedding table named wte");
    const tok = m.tokenizer;
    const ids = tok.encode(this.input.value);
    this.choices.textContent = "";
    if (ids.length === 0) {
      this.result.textContent = "";
      this.say("Type a word first.");
      return;
    }
    if (ids.length > 1) {
      this.choices.append(`“${this.input.value}” is ${ids.length} tokens; pick one: `,
        ...ids.slice(0, 40).map((id) => el("button", { type: "button", class: "lab-button emb-choice", onclick: () => this.showFor(id) },
          showToken(tok.tokenText(id)))));
    }
    this.showFor(ids[0]);
  }

  showFor(id) {
    const m = this.model;
    const tok = m.tokenizer;
    const sims = cosineAll(m.wte, m.vocabSize, m.nEmbd, id);
    const order = Array.from({ length: m.vocabSize }, (_, i) => i).filter((i) => i !== id).sort((a, b) => sims[b] - sims[a]);
    const top = order.slice(0, SHOW);
    const name = showToken(tok.tokenText(id));
    this.say(`The ${SHOW} tokens whose embedding vectors point most nearly the same way as “${name}” (ID ${id}), out of ${m.vocabSize}. `
      + "1 means the same direction, 0 unrelated, −1 opposite. Click one to explore from there.");
    const table = el("table", { class: "emb-table", "data-query": id },
      el("thead", {}, el("tr", {}, el("th", {}, "rank"), el("th", {}, "token"), el("th", {}, "ID"), el("th", {}, "cosine similarity"))),
      el("tbody", {}, top.map((j, r) => el("tr", { "data-id": j, "data-sim": String(sims[j]) },
        el("td", {}, String(r + 1)),
        el("td", {}, el("button", { type: "button", class: "emb-token", onclick: () => { this.input.value = tok.decode([j]); this.showFor(j); } },
          showToken(tok.tokenText(j)))),
        el("td", {}, String(j)),
        el("td", {}, el("span", { class: "lab-bar", style: { width: `${Math.max(0, sims[j]) * 100}%` } }), ` ${sims[j].toFixed(3)}`)))));
    this.result.replaceChildren(el("div", { class: "lab-scroll" }, table));
  }
}

export function mountEmbeddingNeighbours(root) {
  if (root.dataset.mounted !== undefined) return null;
  root.dataset.mounted = "";
  return new Neighbours(root);
}
