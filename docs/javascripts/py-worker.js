// The page's Python interpreter, in a Web Worker so a busy cell never freezes
// the page, and so Stop can end a runaway loop by terminating the worker
// (GitHub Pages cannot send the cross-origin-isolation headers that Pyodide's
// gentler interrupt buffer needs).
//
// Messages in:  {type: "init", indexURL, packageBaseUrl, runnerUrl, artifactsUrl}
//               {type: "load", id, packages: ["numpy"]}
//               {type: "run", id, code, index}
// Messages out: {type: "progress", text} · {type: "ready"} · {type: "fatal", text}
//               {type: "loaded", id, ok, failed: [...], detail}
//               {type: "stream", id, kind, text} · {type: "done", id, items}

let pyodide = null;
let runner = null; // the cellrun module: the same file the build runs with CPython
let namespace = null; // one namespace per page, shared by its cells in order

async function init({ indexURL, packageBaseUrl, runnerUrl, artifactsUrl }) {
  postMessage({ type: "progress", text: "Loading Python (about 12 MB to download the first time)…" });
  let loadPyodide;
  try {
    ({ loadPyodide } = await import(indexURL + "pyodide.mjs"));
  } catch (err) {
    throw new Error(`could not load ${indexURL}pyodide.mjs (${err.message})`);
  }
  pyodide = await loadPyodide({ indexURL, packageBaseUrl });
  postMessage({ type: "progress", text: "Starting Python…" });
  const response = await fetch(runnerUrl);
  if (!response.ok) throw new Error(`could not load ${runnerUrl} (HTTP ${response.status})`);
  pyodide.FS.mkdirTree("/guide");
  pyodide.FS.writeFile("/guide/cellrun.py", await response.text());
  pyodide.runPython("import sys; sys.path.insert(0, '/guide')");
  runner = pyodide.pyimport("cellrun");
  runner.ARTIFACTS_URL = artifactsUrl; // cells' artifact("report.json") downloads from the site
  namespace = runner.new_namespace();
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

function run({ id, code, index }) {
  const onWrite = (kind, text) => postMessage({ type: "stream", id, kind, text });
  const result = runner.run_cell(code, namespace, index, onWrite);
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
