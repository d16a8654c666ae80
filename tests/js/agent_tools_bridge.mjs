// Bridge for tests/test_agent_tools_js.py: runs docs/javascripts/agent-tools.js on a batch.
//
// stdin:  {"calculator": ["expression", ...],
//          "search": {"kb": path to a knowledge base JSON, "queries": ["...", ...]},
//          "format": [number, ...],                 // formatNumber
//          "calls": [["search", "argument"], ...],  // toolCall
//          "parse": ["action text", ...],           // parseCall: {"call": [tool, argument]} or {"error": message}
//          "strip": ["text", ...],                  // stripWs
//          "agents": [{"question": "...", "outputs": ["generated text", ...], "json": ["call", ...] or null,
//                      "max_steps": 4, "context_full": null or block_size}, ...]}
//                                                   // runAgent with a scripted model; with context_full,
//                                                   // runQuestion, and the model throws ContextFull once
//                                                   // its outputs run out
// stdout: {"calculator": [...], "search": [...], "format": [...], "calls": [...], "parse": [...], "strip": [...],
//          "agents": [result, ...],
//          "ms": {"calculator": per call, "search": per call}}
// One node process per batch: starting node costs far more than the work.
import { readFileSync } from "node:fs";
import { calculator, ContextFull, formatNumber, makeTools, parseCall, runAgent, runQuestion, search, stripWs, toolCall }
  from "../../docs/javascripts/agent-tools.js";

const input = JSON.parse(readFileSync(0, "utf-8"));
const out = { ms: {} };

let t0 = performance.now();
out.calculator = (input.calculator ?? []).map((e) => calculator(e));
out.ms.calculator = (performance.now() - t0) / Math.max(1, out.calculator.length);

const kb = input.search ? JSON.parse(readFileSync(input.search.kb, "utf-8")) : [];
t0 = performance.now();
out.search = (input.search?.queries ?? []).map((q) => search(q, kb));
out.ms.search = (performance.now() - t0) / Math.max(1, out.search.length);

out.format = (input.format ?? []).map((v) => formatNumber(v));
out.calls = (input.calls ?? []).map(([tool, arg]) => toolCall(tool, arg));
out.parse = (input.parse ?? []).map((text) => {
  try {
    return { call: parseCall(text) };
  } catch (e) {
    return { error: e.message };
  }
});
out.strip = (input.strip ?? []).map((text) => stripWs(text));

// A scripted model: each call to generate returns the next canned output
// (an empty string once they run out), as the Python tests' fake does.
out.agents = [];
for (const a of input.agents ?? []) {
  const outputs = [...a.outputs], calls = a.json ? [...a.json] : null;
  const full = a.context_full ?? null;
  const next = (queue, dflt) => {
    if (queue.length) return queue.shift();
    if (full !== null) throw new ContextFull(full);
    return dflt;
  };
  const generate = async () => next(outputs, "");
  const jsonFn = calls ? async () => next(calls, "{}") : null;
  const run = full !== null ? runQuestion : runAgent;
  out.agents.push(await run(generate, a.question, makeTools(kb), { maxSteps: a.max_steps ?? 4, jsonFn }));
}
process.stdout.write(JSON.stringify(out));
