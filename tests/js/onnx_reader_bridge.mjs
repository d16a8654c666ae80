// Bridge for tests/test_onnx_reader_js.py: feeds readOnnx (docs/javascripts/onnx-reader.js)
// an .onnx file, then cut-short, damaged and garbage copies of it.
//
// stdin:  {"file": "path/to/model.onnx", "cuts": [n, ...],        // keep the first n bytes
//          "flips": [[offset, xor], ...],                          // one damaged byte each
//          "garbage": [[length, byte], ...], "randomGarbage": [length, ...]}
// stdout: {"full": {"metadata": {...}, "tensors": {name: {"dims": [...], "sum": x}}},
//          "cases": [{"kind", "arg", "outcome": "ok" | "LoadError" | "<other error name>",
//                     "message", "ms", "metadata", "tensors"}, ...]}

import { readFileSync } from "node:fs";
import { LoadError } from "../../docs/javascripts/assets.js";
import { readOnnx } from "../../docs/javascripts/onnx-reader.js";
import { xorShift } from "../../docs/javascripts/sampling.js";

const request = JSON.parse(readFileSync(0, "utf8"));
const bytes = new Uint8Array(readFileSync(request.file));

function summary(parsed) {
  const tensors = {};
  for (const [name, t] of Object.entries(parsed.tensors)) {
    let sum = 0;
    for (const v of t.data) sum += v;
    tensors[name] = { dims: t.dims, sum };
  }
  return { metadata: parsed.metadata, tensors };
}

function attempt(kind, arg, buffer) {
  const t0 = performance.now();
  try {
    const parsed = readOnnx(buffer, ["wte", "wpe"], "model.onnx");
    return { kind, arg, outcome: "ok", ms: performance.now() - t0, ...summary(parsed) };
  } catch (err) {
    const outcome = err instanceof LoadError ? "LoadError" : err.name || "Error";
    return { kind, arg, outcome, message: String(err.message), ms: performance.now() - t0 };
  }
}

const cases = [];
for (const n of request.cuts ?? []) cases.push(attempt("cut", n, bytes.slice(0, n).buffer));
for (const [offset, xor] of request.flips ?? []) {
  const copy = bytes.slice();
  copy[offset] ^= xor;
  cases.push(attempt("flip", [offset, xor], copy.buffer));
}
for (const [length, byte] of request.garbage ?? []) cases.push(attempt("garbage", [length, byte], new Uint8Array(length).fill(byte).buffer));
const rng = xorShift(1234);
for (const length of request.randomGarbage ?? []) {
  const junk = Uint8Array.from({ length }, () => Math.floor(rng() * 256));
  cases.push(attempt("random", length, junk.buffer));
}
process.stdout.write(JSON.stringify({ full: summary(readOnnx(bytes.buffer)), cases }));
