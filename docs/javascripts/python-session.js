// One Python interpreter per page, started on first use and restartable.
//
// A session wraps the worker in promises: start(), load(packages), run(code).
// stop() terminates the worker at once; whatever was pending rejects with a
// StoppedError, and the next start() boots a fresh interpreter. `generation`
// counts interpreters, so cells can tell whether their earlier run still
// lives in the current namespace.

export class StoppedError extends Error {}
// The interpreter died after it had started (a fatal error in the worker),
// as opposed to never starting: the page says so, and the next Run boots anew.
export class CrashedError extends Error {}

const SITE_ROOT = new URL("../", import.meta.url);

export class PythonSession {
  constructor(settings) {
    this.settings = settings;
    this.worker = null;
    this.ready = null; // promise of a started interpreter
    this.pending = new Map(); // request id -> {resolve, reject, onStream}
    this.nextId = 1;
    this.generation = 0;
    this.onProgress = () => {};
  }

  start(onProgress) {
    if (onProgress) this.onProgress = onProgress;
    if (this.ready) return this.ready;
    this.generation += 1;
    this.booted = false;
    const worker = new Worker(new URL("./py-worker.js", import.meta.url), { type: "module" });
    this.worker = worker;
    this.ready = new Promise((resolve, reject) => {
      const seconds = this.settings.pyodideTimeoutSeconds || 90;
      const timer = setTimeout(() => {
        this.stop(new Error(`Python did not start within ${seconds} s ` +
          "(vendor/pyodide/pyodide.asm.wasm stalled or was served with the wrong type)"));
      }, seconds * 1000);
      this.pending.set(0, {
        resolve: (v) => { clearTimeout(timer); resolve(v); },
        reject: (e) => { clearTimeout(timer); reject(e); },
      });
    });
    worker.onmessage = ({ data }) => this.receive(data);
    worker.onerror = (event) => {
      event.preventDefault();
      const detail = event.message || "load error";
      this.stop(this.booted
        ? new CrashedError(`Python stopped unexpectedly (${detail})`)
        : new Error(`the Python worker failed to start (javascripts/py-worker.js: ${detail})`));
    };
    worker.postMessage({
      type: "init",
      indexURL: new URL("vendor/pyodide/", SITE_ROOT).href,
      packageBaseUrl: this.settings.pyodidePackages,
      runnerUrl: new URL("assets/py/cellrun.py", SITE_ROOT).href,
      artifactsUrl: new URL("assets/model/", SITE_ROOT).href,
      manifestId: this.settings.modelManifest || "", // cells check the files they download against the manifest
      core: this.settings.runtimeFiles || {}, // sizes and SHA-256 of Pyodide's files, checked on arrival
    });
    return this.ready;
  }

  receive(data) {
    if (data.type === "progress") return this.onProgress(data.text);
    if (data.type === "ready") {
      this.booted = true;
      return this.settle(0, "resolve", true);
    }
    if (data.type === "fatal") {
      return this.stop(this.booted ? new CrashedError(`Python stopped unexpectedly (${data.text})`) : new Error(data.text));
    }
    if (data.type === "stream") {
      const onStream = this.pending.get(data.id)?.onStream;
      for (const [kind, text] of data.chunks) onStream?.(kind, text);
      return;
    }
    if (data.type === "loaded") return this.settle(data.id, "resolve", data);
    if (data.type === "done") return this.settle(data.id, "resolve", data.items);
  }

  settle(id, how, value) {
    const request = this.pending.get(id);
    this.pending.delete(id);
    request?.[how](value);
  }

  request(message, onStream) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onStream });
      this.worker.postMessage({ ...message, id });
    });
  }

  async load(packages) {
    await this.start();
    return this.request({ type: "load", packages });
  }

  async run(code, index, onStream) {
    await this.start();
    return this.request({ type: "run", code, index }, onStream);
  }

  // End the interpreter now. Pending requests reject with `reason`.
  stop(reason = new StoppedError("Stopped")) {
    this.worker?.terminate();
    this.worker = null;
    this.ready = null;
    const requests = [...this.pending.values()];
    this.pending.clear();
    for (const request of requests) request.reject(reason);
  }
}
