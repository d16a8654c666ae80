// Tokenizer playground: type text, see the model's tokens.
//
// Expected markup (styles in stylesheets/playground.css; widgets.js mounts it):
//
//   <div class="tokenizer-playground">
//     <textarea>The capital of France is Paris.</textarea>   <!-- optional: initial text -->
//   </div>
//
// The tokenizer is the site's model's (assets/model/tokenizer.json), unless the
// element names another with data-tokenizer-url (relative to the page's URL). The element's own content, if any
// <textarea>, is kept and becomes the input; everything else is built here.
//
// Nothing is downloaded when the page opens: the tokenizer JSON is fetched the
// first time the reader focuses the box, types, or presses "Show tokens".
// Then every edit (debounced) shows the tokens as alternately coloured pieces,
// their ids, and counts. A character the vocabulary has no token for is shown
// as its byte tokens, e.g. an emoji as <0xF0> <0x9F> <0x98> <0x80>. Pieces can
// be explored with the mouse, by tapping, or from the keyboard (Tab to the
// tokens, then arrow keys, Home, End): the line below them describes the
// selected token.

import { fetchJSON, MODEL_DIR, modelJSON } from "./assets.js";
import { offerRetry } from "./dom.js";
import { Tokenizer } from "./tokenizer.js";

const MAX_SHOWN = 2000; // pieces and ids drawn; counts always cover the whole text
const COLOURS = 5; // .tp-c0 .. .tp-c4 in playground.css

let uid = 0;

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

const number = (n) => n.toLocaleString("en-US");
const hex = (b) => b.toString(16).toUpperCase().padStart(2, "0");

// Whitespace made visible inside a piece: a token's leading space matters.
function appendVisible(parent, text) {
  let plain = "";
  const flush = () => {
    if (plain) parent.append(plain);
    plain = "";
  };
  for (const ch of text) {
    const mark = ch === " " ? "·" : ch === "\t" ? "→" : ch === "\n" ? "↵" : ch === "\r" ? "␍" : null;
    if (mark === null) {
      plain += ch;
      continue;
    }
    flush();
    parent.append(el("span", "tp-ws", mark));
    if (ch === "\n") parent.append("\n");
  }
  flush();
}

function describe(piece, source, index, total) {
  const bytes = Array.from(piece.bytes, hex).join(" ");
  const covered = source.slice(piece.start, piece.end);
  const what = piece.partial
    ? `${piece.bytes.length === 1 ? "a byte" : "bytes"} of ${JSON.stringify(covered)}`
    : JSON.stringify(piece.text);
  return `Token ${number(index + 1)} of ${number(total)}: id ${piece.id}, ${what}, UTF-8 bytes ${bytes}`;
}

export function mountTokenizerPlayground(element, { tokenizerUrl, delayMs = 120 } = {}) {
  if (!tokenizerUrl) throw new Error("mountTokenizerPlayground needs a tokenizerUrl");
  const url = new URL(tokenizerUrl, document.baseURI).href;
  const id = `tp-${++uid}`;

  const initial = element.querySelector("textarea");
  const input = initial || el("textarea");
  input.classList.add("tp-input");
  input.id ||= `${id}-input`;
  input.rows = Math.max(input.rows || 0, 3);
  input.spellcheck = false;
  input.setAttribute("autocapitalize", "off");
  input.setAttribute("autocomplete", "off");

  const label = el("label", "tp-label", "Type or paste any text:");
  label.htmlFor = input.id;
  const button = el("button", "tp-button", "Show tokens");
  button.type = "button";
  const status = el("p", "tp-status");
  status.setAttribute("role", "status");
  const stats = el("p", "tp-stats");
  stats.setAttribute("aria-live", "polite");
  const pieces = el("div", "tp-pieces");
  pieces.id = `${id}-pieces`;
  pieces.tabIndex = 0;
  pieces.setAttribute("role", "listbox");
  pieces.setAttribute("aria-label", "Tokens: use the arrow keys to go through them");
  pieces.setAttribute("aria-describedby", `${id}-detail`);
  const detail = el("p", "tp-detail");
  detail.id = `${id}-detail`;
  const note = el("p", "tp-note");
  const idsHeading = el("p", "tp-ids-label", "Token ids, what the model reads:");
  const ids = el("pre", "tp-ids");
  const output = el("div", "tp-output");
  output.append(stats, pieces, detail, note, idsHeading, ids);
  output.hidden = true;

  const bar = el("div", "tp-bar");
  bar.append(label, button);
  element.replaceChildren(bar, input, status, output);
  element.classList.add("tokenizer-playground");
  status.textContent = "The tokenizer loads when you click in the box or press Show tokens.";

  let tokenizer = null;
  let loading = null;
  let timer = 0;
  let shown = []; // the pieces drawn now
  let shownText = "";
  let selected = -1;

  function load() {
    if (tokenizer || loading) return loading;
    status.textContent = "Loading the tokenizer…";
    status.classList.remove("tp-error");
    offerRetry(status, null);
    // The site's own tokenizer is checked against the build's manifest; any other URL is only fetched.
    const site = url === new URL("tokenizer.json", MODEL_DIR).href;
    loading = (site ? modelJSON("tokenizer.json") : fetchJSON(url, url))
      .then((json) => {
        tokenizer = Tokenizer.fromJSON(json);
        render();
      })
      .catch((error) => {
        const why = error.name === "LoadError" ? error.message : `Could not load the tokenizer from ${url} (${error.message})`;
        status.textContent = `${why}. Click in the box or press Retry to try again.`;
        status.classList.add("tp-error");
        offerRetry(status, load);
      })
      .finally(() => {
        loading = null;
      });
    return loading;
  }

  function select(index, { scroll = true } = {}) {
    const old = pieces.querySelector(".tp-selected");
    if (old) {
      old.classList.remove("tp-selected");
      old.setAttribute("aria-selected", "false");
    }
    if (index < 0 || index >= shown.length) {
      selected = -1;
      pieces.removeAttribute("aria-activedescendant");
      detail.textContent = shown.length ? "Point at, tap, or arrow to a token to see its id and bytes." : "";
      return;
    }
    selected = index;
    const span = pieces.children[index];
    span.classList.add("tp-selected");
    span.setAttribute("aria-selected", "true");
    pieces.setAttribute("aria-activedescendant", span.id);
    detail.textContent = describe(shown[index], shownText, index, shown.length);
    if (scroll) span.scrollIntoView({ block: "nearest", inline: "nearest" });
  }

  function render() {
    if (!tokenizer) return;
    status.classList.remove("tp-error");
    const text = input.value;
    if (text === "") {
      status.textContent = "Type something above: a sentence, a number like 2023, an emoji, another language…";
      output.hidden = true;
      shown = [];
      return;
    }
    const all = tokenizer.encode(text);
    shown = tokenizer.pieces(text, { limit: MAX_SHOWN });
    shownText = text;
    status.textContent = "";
    output.hidden = false;

    const chars = [...text].length;
    const bytes = new TextEncoder().encode(text).length;
    stats.textContent = `${number(chars)} characters (${number(bytes)} bytes of UTF-8) → ` +
      `${number(all.length)} token${all.length === 1 ? "" : "s"}, ` +
      `${(chars / all.length).toFixed(2)} characters per token`;

    const fragment = document.createDocumentFragment();
    shown.forEach((piece, i) => {
      const span = el("span", `tp-piece tp-c${i % COLOURS}`);
      span.id = `${id}-piece-${i}`;
      span.setAttribute("role", "option");
      span.setAttribute("aria-selected", "false");
      span.dataset.index = i;
      span.title = `id ${piece.id}`;
      if (piece.partial) {
        span.classList.add("tp-bytes");
        span.textContent = piece.text; // e.g. "<0xF0><0x9F>"
      } else {
        appendVisible(span, piece.text);
      }
      fragment.append(span);
    });
    pieces.replaceChildren(fragment);
    select(-1);

    const cut = all.length > shown.length;
    note.textContent = cut
      ? `Showing the first ${number(shown.length)} of ${number(all.length)} tokens.`
      : "· is a space, → a tab, ↵ a new line. Dashed pieces are single bytes of a character the vocabulary has no token for.";
    ids.textContent = `[${all.slice(0, MAX_SHOWN).join(", ")}${cut ? ", …" : ""}]`;
  }

  function schedule() {
    if (!tokenizer) {
      load();
      return;
    }
    clearTimeout(timer);
    // Long texts wait a little longer, so typing stays smooth.
    timer = setTimeout(render, delayMs + Math.min(400, input.value.length / 250));
  }

  element.addEventListener("focusin", () => load(), { once: false });
  input.addEventListener("input", schedule);
  button.addEventListener("click", () => (tokenizer ? render() : load()));

  pieces.addEventListener("click", (event) => {
    const span = event.target.closest(".tp-piece");
    if (span) select(Number(span.dataset.index), { scroll: false });
  });
  pieces.addEventListener("mouseover", (event) => {
    const span = event.target.closest(".tp-piece");
    if (span) select(Number(span.dataset.index), { scroll: false });
  });
  pieces.addEventListener("focus", () => {
    if (selected < 0 && shown.length) select(0);
  });
  pieces.addEventListener("keydown", (event) => {
    const moves = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 };
    let next = null;
    if (event.key in moves) next = Math.max(0, Math.min(shown.length - 1, selected + moves[event.key]));
    else if (event.key === "Home") next = 0;
    else if (event.key === "End") next = shown.length - 1;
    if (next === null || !shown.length) return;
    event.preventDefault();
    select(next);
  });

  return { load, render, get tokenizer() { return tokenizer; } };
}
