// Small DOM helpers shared by the demos: building elements, loading with the
// progress and any failure written into a status line (with a Retry button),
// and the reader-visible form of a token.

import { formatBytes, LoadError } from "./assets.js";
import { loadModel } from "./model-runtime.js";

// el("button", {class: "x", onclick: f, type: "button"}, "text", childNode, ...)
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") node.addEventListener(k.slice(2), v);
    else if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k === "style" && typeof v === "object") {
      for (const [prop, val] of Object.entries(v)) {
        if (prop.startsWith("--")) node.style.setProperty(prop, String(val)); // custom properties need setProperty
        else node.style[prop] = val;
      }
    }
    else if (k in node && typeof v !== "string") node[k] = v;
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

// Loads checkpoint `name` while writing what is downloading into statusEl
// (bytes of model.onnx and of the runtime); on failure, says which file and why.
export async function loadModelWithStatus(name, statusEl) {
  const t0 = performance.now();
  const model = await loadWithStatus(statusEl, "the model", (onProgress) => loadModel(name, { onProgress }));
  return { model, ms: performance.now() - t0 };
}

// load(onProgress) with its progress written into statusEl ("Loading the
// model: model.onnx 1.2 MB of 2.7 MB, …"), and on failure a message naming the
// file (LoadError) or the reason, with statusEl marked as an error and a Retry
// button after it. Resolves to what load resolves to; rethrows its error. The
// loaders forget a failed attempt, so Retry downloads again: by default it
// re-runs load here; `retry` (a function) replaces that, e.g. a demo's own action.
export async function loadWithStatus(statusEl, what, load, { retry } = {}) {
  const progress = new Map();
  let settled = false; // after success or failure, late progress (another file still arriving) must not overwrite the message
  const show = () => {
    if (settled) return;
    const parts = [];
    for (const [file, p] of progress) {
      parts.push(p.done ? `${file} ${formatBytes(p.loaded)} ✓` : `${file} ${formatBytes(p.loaded)} of ${formatBytes(p.total)}`);
    }
    statusEl.textContent = `Loading ${what}: ${parts.join(", ") || "starting"}…`;
  };
  statusEl.classList.remove("lab-error");
  statusEl.textContent = `Loading ${what}…`;
  offerRetry(statusEl, null);
  try {
    const loaded = await load((p) => {
      progress.set(p.file, p);
      show();
    });
    settled = true;
    return loaded;
  } catch (err) {
    settled = true;
    statusEl.classList.add("lab-error");
    statusEl.textContent = err instanceof LoadError ? `${err.message}.` : `Could not start ${what}: ${err.message || err}.`;
    offerRetry(statusEl, retry || (() => loadWithStatus(statusEl, what, load).then(
      () => { statusEl.textContent = `Loaded ${what}: ready, try again.`; },
      () => {}, // the failure is on screen again, with its own Retry
    )));
    throw err;
  }
}

// A Retry button right after statusEl that calls retry() once (null: remove it).
// Outside the status, so a demo that rewrites its status keeps the button.
const retryButtons = new WeakMap();
export function offerRetry(statusEl, retry) {
  retryButtons.get(statusEl)?.remove();
  retryButtons.delete(statusEl);
  if (!retry || !statusEl.parentNode) return;
  const button = el("button", { type: "button", class: "lab-button lab-retry" }, "Retry");
  button.addEventListener("click", () => {
    offerRetry(statusEl, null);
    retry();
  }, { once: true });
  statusEl.after(button);
  retryButtons.set(statusEl, button);
}

// A demo's run failed: its state and status say so. A failed load has already
// written its message (loadWithStatus); anything else gets one here.
export function showFailure(root, statusEl, err) {
  root.dataset.state = "error";
  statusEl.classList.add("lab-error");
  if (!(err instanceof LoadError)) statusEl.textContent = `Something went wrong: ${err.message || err}`;
}

// A colour per token position (alternating hues, readable in light and dark).
export function pieceHue(i) {
  return (i * 67) % 360;
}

// A stable, reader-visible form of a token's text: spaces as "␣", newlines as "↵".
export function showToken(text) {
  return text.replace(/ /g, "␣").replace(/\n/g, "↵").replace(/\t/g, "⇥");
}

// Yield to the browser (input, Stop clicks, painting) without setTimeout's 4 ms clamp.
export function yieldToBrowser() {
  return new Promise((resolve) => {
    const ch = new MessageChannel();
    ch.port1.onmessage = () => resolve();
    ch.port2.postMessage(0);
  });
}
