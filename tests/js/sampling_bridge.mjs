// Bridge for tests/test_sampling_twins.py: runs docs/javascripts/sampling.js on a batch.
//
// stdin:  {"streams": {"seeds": [seed, ...], "n": draws},      // xorShift(seed)() n times
//          "cases": [{"logits": base64 of float32 little-endian, "masked": [id, ...],   // logit -Infinity
//                     "temperature", "topK", "topP", "seed", "draws"}, ...]}
// stdout: {"streams": [[float, ...], ...],
//          "cases": [{"ids": [token id per draw], "final": [[id, probability], ...]}, ...],
//          "msPerChoice": time of one distribution() + choose() over all cases}
// Seeds travel as strings so that those above 2**53 stay exact (BigInt).
import { readFileSync } from "node:fs";
import { choose, distribution, xorShift } from "../../docs/javascripts/sampling.js";

const input = JSON.parse(readFileSync(0, "utf-8"));
const seedOf = (s) => BigInt(s);

const streams = (input.streams?.seeds ?? []).map((seed) => {
  const rng = xorShift(seedOf(seed));
  return Array.from({ length: input.streams.n }, () => rng());
});

let choices = 0;
const t0 = performance.now();
const cases = (input.cases ?? []).map((c) => {
  const bytes = Buffer.from(c.logits, "base64");
  const logits = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  for (const id of c.masked ?? []) logits[id] = -Infinity;
  const rng = xorShift(seedOf(c.seed));
  const ids = [];
  let dist = null;
  for (let k = 0; k < c.draws; k++) {
    dist = distribution(logits, { temperature: c.temperature, topK: c.topK, topP: c.topP });
    ids.push(choose(dist, rng).id);
    choices++;
  }
  return { ids, final: [...dist.final] };
});
const msPerChoice = (performance.now() - t0) / Math.max(1, choices);

process.stdout.write(JSON.stringify({ streams, cases, msPerChoice }));
