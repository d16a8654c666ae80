// Downloading the site's own files, so that no network fault can freeze or fool a demo.
//
//   const bytes = await modelFile("model.onnx", { onProgress });   // ArrayBuffer, checked
//   const report = await modelJSON("report.json");
//
// * Every download has a stall timer (nothing arrived for assetStallSeconds:
//   abort) and an overall limit, both through an AbortController, so a dead
//   connection ends in an error that names the file instead of a spinner.
// * The build writes assets/model/manifest.json: each model file's size and
//   SHA-256. A file whose bytes differ (cut short, damaged, or from another
//   build) is refused, with a message that names it and suggests a reload.
// * Model files are requested as `file?v=<its hash>`, and the manifest as
//   `manifest.json?v=<the manifest's hash>` (the page's settings carry it), so a
//   browser cache can never hand out one build's file next to another's.
// * Every failure is a LoadError: which file, and why in words.
//
// No DOM work here (workers and the Node test bridges import this module).

export const MODEL_DIR = new URL("../assets/model/", import.meta.url);
export const MANIFEST = "manifest.json";

export class LoadError extends Error {
  constructor(file, reason) {
    super(`Could not load ${file}: ${reason}`);
    this.name = "LoadError";
    this.file = file;
    this.reason = reason;
  }
}

// The page's runtime settings (sitebuild/hooks.py writes them into every page); {} elsewhere.
function pageSettings() {
  try {
    const node = globalThis.document?.getElementById("guide-settings");
    return node ? JSON.parse(node.textContent) : {};
  } catch {
    return {};
  }
}

const settings = pageSettings();

// The build's size and SHA-256 of a runtime file (onnxruntime-web's wasm, say), or null.
export function runtimeEntry(file) {
  const files = settings.runtimeFiles;
  return files && Object.hasOwn(files, file) ? files[file] : null;
}
// Long enough for a slow mobile connection to deliver its next packet; short
// enough that a reader is told within seconds that nothing is coming.
export const STALL_MS = (Number(settings.assetStallSeconds) || 10) * 1000;
// Even a trickle that never quite stalls ends: the largest file (14 MB) at 50 kB/s.
export const TOTAL_MS = 300_000;

export function formatBytes(n) {
  if (n < 1000) return `${n} B`;
  if (n < 1e6) return `${(n / 1e3).toFixed(n < 1e4 ? 1 : 0)} kB`;
  return `${(n / 1e6).toFixed(n < 1e7 ? 2 : 1)} MB`;
}

function describeFetchError(err) {
  if (err instanceof LoadError) return err.reason;
  const msg = String(err && err.message ? err.message : err);
  return /fetch|network/i.test(msg) ? `network error (${msg}); are you offline?` : msg;
}

// GET url as an ArrayBuffer, naming `file` in any error. onProgress({file, loaded,
// total, done}) as bytes arrive. Aborts when nothing arrives for stallMs (the
// response headers included) or the whole download passes totalMs; `signal`
// (an AbortSignal) lets the caller cancel.
export async function fetchBytes(url, file, { onProgress, stallMs = STALL_MS, totalMs = TOTAL_MS, signal } = {}) {
  const controller = new AbortController();
  let why = null; // set by our own timers, so the error says what happened
  const abort = (reason) => {
    if (why) return;
    why = reason;
    controller.abort();
  };
  let stallTimer = 0;
  const watch = () => {
    clearTimeout(stallTimer);
    stallTimer = setTimeout(() => abort(`the download stalled (nothing arrived for ${stallMs / 1000} s)`), stallMs);
  };
  const totalTimer = setTimeout(() => abort(`the download took longer than ${totalMs / 1000} s`), totalMs);
  const cancel = () => abort("the download was cancelled");
  if (signal?.aborted) cancel();
  signal?.addEventListener("abort", cancel);
  let loaded = 0;
  try {
    watch();
    let response;
    try {
      response = await fetch(url, { signal: controller.signal });
    } catch (err) {
      throw new LoadError(file, why || describeFetchError(err));
    }
    if (!response.ok) {
      throw new LoadError(file, `the server answered ${response.status} ${response.statusText || ""}`.trim());
    }
    // Content-Length is the compressed size when the host gzips: then loaded may pass it.
    const total = Number(response.headers.get("Content-Length")) || 0;
    if (!response.body) { // nothing to stream (an empty response)
      const buf = await response.arrayBuffer();
      onProgress?.({ file, loaded: buf.byteLength, total: buf.byteLength, done: true });
      return buf;
    }
    const chunks = [];
    try {
      const reader = response.body.getReader();
      for (;;) {
        watch();
        const { done, value } = await reader.read();
        if (done) break;
        chunks.push(value);
        loaded += value.length;
        onProgress?.({ file, loaded, total: Math.max(total, loaded), done: false });
      }
    } catch (err) {
      throw new LoadError(file, `${why || `the download broke off (${describeFetchError(err)})`}, after ${formatBytes(loaded)}`);
    }
    const out = new Uint8Array(loaded);
    let at = 0;
    for (const c of chunks) {
      out.set(c, at);
      at += c.length;
    }
    onProgress?.({ file, loaded, total: loaded, done: true });
    return out.buffer;
  } finally {
    clearTimeout(stallTimer);
    clearTimeout(totalTimer);
    signal?.removeEventListener("abort", cancel);
  }
}

// A fetch() for code that downloads by itself (Pyodide, in the Python worker):
// the same stall timer, and a failure (HTTP error, stall) is a LoadError naming
// the file, passed to onFailure as well, since such code may swallow the error
// and wait forever. The body is passed on as it streams (wasm compiles as it
// arrives); for a file in `expect` ({file: {bytes, sha256}}, filled in any time
// before its download ends) the stream ends in that error instead of closing
// when the bytes are not the expected ones.
export function watchedFetch(baseFetch, onFailure, { stallMs = STALL_MS, expect = {} } = {}) {
  return async (input, init = {}) => {
    const url = new URL(typeof input === "string" || input instanceof URL ? input : input.url, globalThis.location?.href);
    const file = decodeURIComponent(url.pathname.split("/").pop() || url.href);
    const controller = new AbortController();
    init.signal?.addEventListener("abort", () => controller.abort());
    const fail = (err) => {
      onFailure?.(err);
      return err;
    };
    let timer = setTimeout(() => controller.abort(), stallMs);
    let response;
    try {
      response = await baseFetch(input, { ...init, signal: controller.signal });
    } catch (err) {
      clearTimeout(timer);
      throw fail(new LoadError(file, controller.signal.aborted && !init.signal?.aborted
        ? `the server did not answer within ${stallMs / 1000} s` : describeFetchError(err)));
    }
    clearTimeout(timer);
    if (!response.ok) {
      throw fail(new LoadError(file, `the server answered ${response.status} ${response.statusText || ""}`.trim()));
    }
    if (!response.body) return response;
    const reader = response.body.getReader();
    let loaded = 0;
    const kept = Object.hasOwn(expect, file) ? [] : null; // a copy to check at the end
    const body = new ReadableStream({
      async pull(stream) {
        timer = setTimeout(() => controller.abort(), stallMs);
        let value;
        try {
          let done;
          ({ done, value } = await reader.read());
          if (done) {
            clearTimeout(timer);
            if (kept) await verify(await new Blob(kept).arrayBuffer(), file, expect[file]);
            stream.close();
            return;
          }
        } catch (err) {
          if (err instanceof LoadError) {
            stream.error(fail(err));
            return;
          }
          const why = controller.signal.aborted && !init.signal?.aborted
            ? `the download stalled (nothing arrived for ${stallMs / 1000} s)` : `the download broke off (${describeFetchError(err)})`;
          stream.error(fail(new LoadError(file, `${why}, after ${formatBytes(loaded)}`)));
          return;
        } finally {
          clearTimeout(timer);
        }
        loaded += value.length;
        kept?.push(value);
        stream.enqueue(value);
      },
      cancel(reason) {
        reader.cancel(reason);
      },
    });
    return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
  };
}

export function parseJSON(buffer, file) {
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(buffer));
  } catch (err) {
    throw new LoadError(file, `it is not valid JSON (${err.message})`);
  }
}

// GET url and parse it as JSON (unchecked: for files outside the manifest).
export async function fetchJSON(url, file, options) {
  return parseJSON(await fetchBytes(url, file, options), file);
}

// Lowercase hex SHA-256 of the bytes, or null where WebCrypto is missing
// (crypto.subtle exists only on https and localhost pages).
export async function sha256Hex(buffer) {
  if (!globalThis.crypto?.subtle) return null;
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", buffer));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

const RELOAD = "reload the page (if it persists, the site's copy is broken)";

// The manifest: {file: {bytes, sha256}}. Loaded once; a failure is forgotten so a retry refetches.
let manifestPromise = null;

export function loadManifest() {
  if (!manifestPromise) {
    manifestPromise = (async () => {
      const id = typeof settings.modelManifest === "string" ? settings.modelManifest : "";
      const url = new URL(MANIFEST, MODEL_DIR);
      if (id) url.search = `v=${id}`;
      const bytes = await fetchBytes(url, MANIFEST);
      const digest = id ? await sha256Hex(bytes) : null;
      if (digest && !digest.startsWith(id)) {
        throw new LoadError(MANIFEST, `it belongs to another version of the site than this page; ${RELOAD}`);
      }
      const manifest = parseJSON(bytes, MANIFEST);
      const entries = manifest && typeof manifest === "object" ? Object.values(manifest) : [];
      if (!entries.length || !entries.every((e) => Number.isInteger(e?.bytes) && /^[0-9a-f]{64}$/.test(e?.sha256))) {
        throw new LoadError(MANIFEST, "it does not list files with their size and SHA-256");
      }
      return manifest;
    })();
    manifestPromise.catch(() => { manifestPromise = null; });
  }
  return manifestPromise;
}

// Does `buffer` hold exactly the bytes the manifest lists for `file`? Throws a LoadError if not.
export async function verify(buffer, file, entry) {
  if (buffer.byteLength !== entry.bytes) {
    const how = buffer.byteLength < entry.bytes ? "cut short" : "longer than it should be";
    throw new LoadError(file, `it arrived ${how} (${formatBytes(buffer.byteLength)} instead of ${formatBytes(entry.bytes)}); ${RELOAD}`);
  }
  const digest = await sha256Hex(buffer);
  if (digest !== null && digest !== entry.sha256) {
    throw new LoadError(file, `its contents are damaged or from another version of the site (SHA-256 ${digest.slice(0, 12)}… instead of ${entry.sha256.slice(0, 12)}…); ${RELOAD}`);
  }
}

// A file under assets/model/, as the manifest lists it: fetched as file?v=<hash>, then checked.
export async function modelFile(file, options = {}) {
  const manifest = await loadManifest();
  const entry = Object.hasOwn(manifest, file) ? manifest[file] : null;
  if (!entry) throw new LoadError(file, "this version of the site does not include it");
  const url = new URL(file, MODEL_DIR);
  url.search = `v=${entry.sha256.slice(0, 16)}`;
  const bytes = await fetchBytes(url, file, options);
  await verify(bytes, file, entry);
  return bytes;
}

export async function modelJSON(file, options) {
  return parseJSON(await modelFile(file, options), file);
}
