// The page's Python interpreter, in a Web Worker so a busy cell never freezes
// the page, and so Stop can end a runaway loop by terminating the worker
// (GitHub Pages cannot send the cross-origin-isolation headers that Pyodide's
// gentler interrupt buffer needs).
//
// Messages in:  {type: "init", indexURL, packageBaseUrl, runnerUrl, artifactsUrl, manifestId, core}
//               {type: "load", id, packages: ["numpy"]}
//               {type: "run", id, code, index}
// Messages out: {type: "progress", text} · {type: "ready"} · {type: "fatal", text}
//               {type: "loaded", id, ok, failed: [...], detail}
//               {type: "stream", id, chunks: [[kind, text], ...]} · {type: "done", id, items}

import { watchedFetch } from "./assets.js";

let pyodide = null;
let booted = false;
// Pyodide waits forever when its core fails to download or compile (it logs
// and never settles): every fetch here has a stall timer, and a failed
// download or an unhandled rejection while booting ends the boot, naming the file.
const bootFailed = (text) => { if (!booted) postMessage({ type: "fatal", text }); };
const expected = {}; // Pyodide's core files: {file: {bytes, sha256}}, from the page's settings
self.fetch = watchedFetch(self.fetch.bind(self), (err) => bootFailed(err.message), { expect: expected });
self.addEventListener("unhandledrejection", (event) => {
  if (booted) return;
  event.preventDefault(); // reported as the boot's failure instead
  bootFailed(String(event.reason?.message || event.reason));
});
let runner = null; // the cellrun module: the same file the build runs with CPython
let namespace = null; // one namespace per page, shared by its cells in order

async function init({ indexURL, packageBaseUrl, runnerUrl, artifactsUrl, manifestId, core }) {
  Object.assign(expected, core);
  postMessage({ type: "progress", text: "Loading Python (about 12 MB to download the first time)…" });
  let loadPyodide;
  try {
    ({ loadPyodide } = await import(indexURL + "pyodide.mjs"));
  } catch (err) {
    throw new Error(`could not load ${indexURL}pyodide.mjs (${err.message})`, { cause: err });
  }
  pyodide = await loadPyodide({ indexURL, packageBaseUrl });
  postMessage({ type: "progress", text: "Starting Python…" });
  const response = await fetch(runnerUrl);
  if (!response.ok) throw new Error(`could not load ${runnerUrl} (HTTP ${response.status})`);
  pyodide.FS.mkdirTree("/guide");
  pyodide.FS.writeFile("/guide/cellrun.py", await response.text());
  pyodide.runPython("import sys; sys.path.insert(0, '/guide')");
  runner = pyodide.pyimport("cellrun");
  runner.ARTIFACTS_URL = artifactsUrl; // cells' artifact("report.json") downloads from the site,
  runner.MANIFEST_ID = manifestId || ""; // checked against the build's manifest
  namespace = runner.new_namespace();
  booted = true;
}

async function load({ id, packages }) {
  // loadPackage does not throw when a download fails: it reports through
  // errorCallback and resolves anyway, so check what actually got loaded.
  const errors = [];
  await pyodide.loadPackage(packages, {
    messageCallback: () => {},
    errorCallback: (text) => errors.push(text),
  });
  const failed = packages.filter((name) => !(name in pyodide.loadedPackages));
  postMessage({ type: "loaded", id, ok: failed.length === 0, failed, detail: errors.join("\n") });
}

// A cell that prints in a tight loop would post one message per print(), and
// the page would redraw for each. Writes are gathered here and posted at most
// every FLUSH_MS: Python runs synchronously, so no timer can fire while it
// runs, and the clock is checked on each write instead.
const FLUSH_MS = 50;

function run({ id, code, index }) {
  let pending = []; // [kind, text] chunks not yet posted
  let lastFlush = performance.now();
  const flush = () => {
    if (!pending.length) return;
    postMessage({ type: "stream", id, chunks: pending });
    pending = [];
    lastFlush = performance.now();
  };
  const onWrite = (kind, text) => {
    const last = pending[pending.length - 1];
    if (last && last[0] === kind) last[1] += text;
    else pending.push([kind, text]);
    if (performance.now() - lastFlush >= FLUSH_MS) flush();
  };
  const result = runner.run_cell(code, namespace, index, onWrite);
  flush();
  const items = result.toJs({ dict_converter: Object.fromEntries });
  result.destroy();
  postMessage({ type: "done", id, items });
}

self.onmessage = async ({ data }) => {
  try {
    if (data.type === "init") {
      await init(data);
      postMessage({ type: "ready" });
    } else if (data.type === "load") {
      await load(data);
    } else if (data.type === "run") {
      run(data);
    }
  } catch (err) {
    postMessage({ type: "fatal", text: String(err && err.message ? err.message : err) });
  }
};
