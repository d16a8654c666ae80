// Interactive widgets: each page names its widgets in its HTML, this module
// imports the code of only those present. Every widget mounts here, through
// this one list; no page carries a script of its own. A widget's code is
// small; anything heavy it needs (tokenizer, model, Python) it fetches itself
// on first use.

const SITE_ROOT = new URL("../", import.meta.url);

const WIDGETS = [
  {
    selector: ".next-token",
    module: "./next-token.js",
    mount: (mod, el) => mod.mountNextToken(el),
  },
  {
    selector: ".tokenizer-playground",
    module: "./tokenizer-playground.js",
    mount: (mod, el) => mod.mountTokenizerPlayground(el, {
      tokenizerUrl: el.dataset.tokenizerUrl || new URL("assets/model/tokenizer.json", SITE_ROOT).href, // relative: to the page
    }),
  },
  {
    selector: ".embedding-map",
    module: "./embedding-map.js",
    mount: (mod, el) => mod.mountEmbeddingMap(el),
  },
  {
    selector: ".live-training",
    module: "./live-training.js",
    mount: (mod, el) => mod.mountLiveTraining(el),
  },
  {
    selector: ".schema-playground",
    module: "./schema-playground.js",
    mount: (mod, el) => mod.mountSchemaPlayground(el),
  },
  {
    selector: ".agent-panel",
    module: "./agent-panel.js",
    mount: (mod, el) => mod.mountAgentPanel(el),
  },
  {
    selector: ".reward-scorer",
    module: "./reward-scorer.js",
    mount: (mod, el) => mod.mountRewardScorer(el),
  },
  {
    selector: ".attention-matrix",
    module: "./attention-matrix.js",
    mount: (mod, el) => mod.mountAttentionMatrix(el),
  },
  {
    selector: ".attention-view",
    module: "./attention-view.js",
    mount: (mod, el) => mod.mountAttentionView(el),
  },
  {
    selector: ".generation-lab",
    module: "./generation-lab.js",
    mount: (mod, el) => mod.mountGenerationLab(el),
  },
  {
    selector: ".embedding-neighbours",
    module: "./embedding-neighbours.js",
    mount: (mod, el) => mod.mountEmbeddingNeighbours(el),
  },
];

for (const widget of WIDGETS) {
  const elements = document.querySelectorAll(widget.selector);
  if (!elements.length) continue;
  import(widget.module)
    .then((mod) => elements.forEach((el) => widget.mount(mod, el)))
    .catch((err) => elements.forEach((el) => {
      el.textContent = `This demo could not load (${widget.module}: ${err.message}).`;
    }));
}
