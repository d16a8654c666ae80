// The home page's demo: type a few words, see which tokens the model expects
// next, as bars; click a bar to add that token and see the next guess.
//
// Markup (in a page):
//
//   <div class="lab next-token" data-prompt="The capital of France is" data-top="8"></div>
//
// Nothing heavy loads with the page. The model (model.onnx, the pre-trained
// checkpoint: the right one for free text), its tokenizer and ONNX Runtime load
// on the reader's first focus, key press or click inside the widget.
//
// Each prediction is one forward pass over the whole text (at most block_size
// tokens: a longer text loses its start, and the widget says so). The text is
// short, so re-reading it costs a few milliseconds and keeps the code simple;
// the generation lab shows the KV cache that avoids it.
//
// Even dom.js and model-runtime.js (and the tokenizer and download code they import) are
// fetched on that first interaction: the home page is every reader's first
// page, so it carries only this file and builds its box with make() below.
//
// For tests the root carries data-state (idle, loading, busy: a prediction is
// due, ready: the bars are for the text as it is now, error) and data-ids (the
// token ids the model read for the bars shown, JSON).

let runtimePromise = null;
function runtime() {
  if (!runtimePromise) {
    runtimePromise = Promise.all([import("./dom.js"), import("./sampling.js")])
      .then(([dom, sampling]) => ({ ...dom, ...sampling }));
    runtimePromise.catch(() => { runtimePromise = null; }); // a later click tries again
  }
  return runtimePromise;
}

// make("button", {className: "x", type: "button"}, "text", childNode, ...): the
// few elements needed before the runtime (and its el()) has loaded.
function make(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "role" || k.startsWith("aria-")) node.setAttribute(k, v);
    else node[k] = v;
  }
  node.append(...children);
  return node;
}

const DEFAULT_TOP = 8;
const MAX_CHARS = 5000; // a pasted book would only slow the tokenizer: the model sees at most block_size tokens
const TYPING_PAUSE_MS = 120; // predict when the reader pauses, not on every key

let uid = 0;

function pct(p) {
  if (p < 0.0005) return "<0.1%";
  return `${(p * 100).toFixed(1)}%`;
}

class NextToken {
  constructor(root) {
    this.root = root;
    this.defaultPrompt = root.dataset.prompt ?? "The capital of France is";
    this.top = Math.max(1, Number(root.dataset.top) || DEFAULT_TOP);
    this.model = null;
    this.loading = null; // the load in progress, so focus + click start it once
    this.ids = null; // the tokens after a click on a bar; null: the box's text decides
    this.seq = 0; // the latest prediction asked for; older answers are dropped
    this.timer = 0;
    this.build();
    this.setState("idle");
  }

  build() {
    const id = `nt-input-${++uid}`;
    this.root.textContent = "";
    this.input = make("textarea", {
      id, className: "lab-prompt nt-input", rows: 2, spellcheck: false, maxLength: MAX_CHARS,
    });
    this.input.value = this.defaultPrompt;
    this.showBtn = make("button", { type: "button", className: "lab-button lab-primary nt-show", onclick: () => this.predictNow() },
      "Show the next token");
    this.resetBtn = make("button", { type: "button", className: "lab-button nt-reset", onclick: () => this.reset() }, "Reset");
    this.status = make("p", { className: "lab-status nt-status", role: "status", "aria-live": "polite" },
      "Click into the box, or press the button: the model downloads once, then answers as you type.");
    this.context = make("div", { className: "nt-context" });
    this.explain = make("p", { className: "nt-explain", hidden: true });
    this.bars = make("ol", { className: "nt-bars", "aria-label": "The most likely next tokens" });
    this.rest = make("p", { className: "nt-rest", hidden: true });
    this.root.append(
      make("label", { htmlFor: id, className: "lab-label" }, "Your text"),
      this.input,
      make("div", { className: "lab-buttons" }, this.showBtn, this.resetBtn),
      this.status,
      this.explain,
      this.bars,
      this.rest,
      this.context,
    );

    // The first sign of interest starts the download; the page itself stays light.
    for (const type of ["focusin", "pointerdown", "keydown"]) {
      this.root.addEventListener(type, () => this.ensureModel().catch(() => {}), { passive: true });
    }
    this.input.addEventListener("input", () => {
      this.ids = null; // the reader's text decides again
      if (this.model) this.setState("busy");
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.predict(), TYPING_PAUSE_MS);
    });
  }

  setState(state) {
    this.root.dataset.state = state;
  }

  ensureModel() {
    if (this.model) return Promise.resolve(this.model);
    if (!this.loading) {
      this.setState("loading");
      this.status.classList.remove("lab-error");
      this.status.textContent = "Loading the model…";
      this.loading = runtime()
        .catch((err) => {
          this.fail(`Could not load the demo's code (${err.message || err}); are you offline?`);
          throw err;
        })
        .then(async (rt) => {
          try {
            const { model } = await rt.loadModelWithStatus("model", this.status);
            this.rt = rt;
            this.model = model;
          } catch (err) {
            rt.showFailure(this.root, this.status, err);
            throw err;
          }
          this.predict();
          return this.model;
        });
      this.loading.catch(() => { this.loading = null; }); // a later click tries again
    }
    return this.loading;
  }

  fail(message) {
    this.setState("error");
    this.status.classList.add("lab-error");
    this.status.textContent = message;
  }

  predictNow() {
    clearTimeout(this.timer);
    if (this.model) this.predict();
    else this.ensureModel().catch(() => {}); // predicts once loaded
  }

  reset() {
    clearTimeout(this.timer);
    this.input.value = this.defaultPrompt;
    this.ids = null;
    if (this.model) this.predict();
  }

  // The tokens the model should read: the box's text, unless a bar was clicked since.
  currentIds() {
    if (this.ids) return this.ids;
    return this.model.tokenizer.encode(this.input.value.slice(0, MAX_CHARS));
  }

  async predict() {
    if (!this.model) return;
    const model = this.model;
    const seq = ++this.seq;
    this.setState("busy");
    const ids = this.currentIds();
    // An empty text starts where every training document starts: right after <|endoftext|>.
    const all = ids.length ? ids : [model.eotId];
    const dropped = Math.max(0, all.length - model.blockSize);
    const seen = all.slice(dropped);
    let result;
    try {
      result = await model.run(seen, model.emptyPast());
    } catch (err) {
      if (seq === this.seq) this.rt.showFailure(this.root, this.status, err);
      return;
    }
    if (seq !== this.seq) return; // the reader typed on: a newer prediction is coming
    this.setState("ready");
    this.root.dataset.ids = JSON.stringify(seen);
    this.render(ids, seen, dropped, this.rt.distribution(result.logits, { temperature: 1 }));
  }

  render(ids, seen, dropped, dist) {
    const { el, showToken } = this.rt;
    const model = this.model;
    const tok = model.tokenizer;
    const top = dist.order.slice(0, this.top);
    const label = (id) => (id === model.eotId ? "end of text" : showToken(tok.tokenText(id)));

    this.explain.hidden = false;
    this.explain.textContent = `The model gives every one of its ${model.vocabSize} tokens a probability of coming next; `
      + `these are the ${top.length} most likely. Click one to add it to your text.`;

    const hadFocus = this.bars.contains(document.activeElement);
    const best = dist.probs[top[0]];
    this.bars.textContent = "";
    for (const id of top) {
      const p = dist.probs[id];
      const ended = id === model.eotId;
      this.bars.append(el("li", {}, el("button", {
        type: "button",
        class: `nt-bar${ended ? " nt-end" : ""}`,
        "data-id": String(id),
        onclick: () => this.choose(id),
      },
      el("span", { class: "nt-token" }, label(id)),
      el("span", { class: "nt-track", "aria-hidden": "true" },
        el("span", { class: "nt-fill", style: { width: `${Math.max(0.5, (100 * p) / best).toFixed(1)}%` } })),
      el("span", { class: "nt-prob" }, pct(p)))));
    }
    if (hadFocus) this.bars.querySelector("button")?.focus();

    let shown = 0;
    for (const id of top) shown += dist.probs[id];
    this.rest.hidden = false;
    this.rest.textContent = `All ${model.vocabSize - top.length} other tokens together: ${pct(Math.max(0, 1 - shown))}. `
      + "Bar lengths are relative to the most likely token.";

    this.status.classList.remove("lab-error");
    this.status.textContent = `Most likely next: “${label(top[0])}” (${pct(best)}).`;
    this.renderContext(ids, seen, dropped);
  }

  // The tokens the model read, as chips; a text longer than the window says what was left out.
  renderContext(ids, seen, dropped) {
    const { el, pieceHue, showToken } = this.rt;
    const model = this.model;
    const tok = model.tokenizer;
    this.context.textContent = "";
    const lead = ids.length
      ? `The model read ${seen.length} token${seen.length === 1 ? "" : "s"}:`
      : "With no text, the model reads the end-of-text token alone and guesses how a new text begins:";
    this.context.append(el("p", { class: "nt-context-lead" }, lead));
    if (dropped) {
      this.context.append(el("p", { class: "lab-notice nt-truncated", role: "note" },
        `Your text is ${ids.length} tokens long, but the model can read at most ${model.blockSize} at a time `
        + `(its context window), so it does not see the first ${dropped}.`));
    }
    this.context.append(el("div", { class: "lab-chips nt-chips" }, seen.map((id, i) => el("span", {
      class: "lab-chip", style: { "--hue": pieceHue(i + dropped) },
    }, showToken(tok.tokenText(id)))))); // an empty text: the end-of-text token, by its name
    if (seen.some((id) => tok.tokenText(id).startsWith("<0x"))) {
      this.context.append(el("p", { class: "nt-bytes" },
        "A piece like <0xF0> is one byte of a character (an emoji, say) that has no token of its own: "
        + "the model reads it byte by byte."));
    }
  }

  choose(id) {
    const model = this.model;
    if (id === model.eotId) {
      this.status.classList.remove("lab-error");
      this.status.textContent = "That token means “the text ends here”: when it is picked, writing stops. Pick another to go on.";
      return;
    }
    clearTimeout(this.timer);
    this.ids = [...this.currentIds(), id];
    // The box shows the text; the ids stay exact (a token may hold part of a character).
    this.input.value = model.tokenizer.decode(this.ids);
    this.predict();
  }
}

export function mountNextToken(root) {
  if (root.dataset.mounted) return;
  root.dataset.mounted = "1";
  new NextToken(root);
}
