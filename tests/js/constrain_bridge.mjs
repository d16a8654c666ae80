// Bridge for tests/test_constrain_js.py: runs docs/javascripts/constrain.js (with grammar.js
// and schema.js) on a batch.
//
// stdin: {"tokenizer": path to tokenizer JSON,
//         "cases": [{"schema": ..., "layout": "spaced", "max_tokens": null,
//                    "sequences": [[id, ...], ...], "texts": optional ["text", ...]}, ...],
//         "bench": optional [{"schema": ..., "layout": ..., "sequence": [id, ...]}, ...]}
// stdout: {"cases": [{"masks": [[allowed ids before token 0, before token 1, ..., after the last], ...],
//                     "complete": [is the document complete after the sequence, ...],
//                     "texts": [[is the text a prefix of a document, is it a whole document], ...]}
//                    or {"error": message} when the schema does not compile],
//          "validate": [errors of validate(JSON.parse(text), schema), ...] for the input's
//                      "validate": [[text, schema], ...],
//          "bench": [{"steps": n, "ms_per_mask": uncached mask time, "ms_per_step": cached
//                     allowed() + advance() as in a generation loop}, ...]}
import { readFileSync } from "node:fs";
import { ConstrainedDecoder, loadTokenizer } from "../../docs/javascripts/constrain.js";
import { compileSchema } from "../../docs/javascripts/grammar.js";
import { validate } from "../../docs/javascripts/schema.js";

const input = JSON.parse(readFileSync(0, "utf-8"));
const tokenizer = loadTokenizer(readFileSync(input.tokenizer, "utf-8"));

const ids = (mask) => {
  const out = [];
  for (let i = 0; i < mask.length; i++) if (mask[i]) out.push(i);
  return out;
};

const cases = (input.cases ?? []).map((c) => {
  let decoder;
  try {
    decoder = new ConstrainedDecoder(compileSchema(c.schema, c.layout ?? "spaced"), tokenizer);
  } catch (e) {
    return { error: String(e.message) };
  }
  const masks = [], complete = [];
  for (const seq of c.sequences) {
    let state = decoder.start(c.max_tokens ?? null);
    const steps = [ids(decoder.allowed(state))];
    for (const t of seq) {
      state = decoder.advance(state, t);
      steps.push(ids(decoder.allowed(state)));
    }
    masks.push(steps);
    complete.push(decoder.isComplete(state));
  }
  const utf8 = new TextEncoder();
  const texts = (c.texts ?? []).map((text) => {
    const stacks = decoder.grammar.advanceBytes(decoder.grammar.initial(), utf8.encode(text));
    return [stacks.length > 0, decoder.grammar.accepting(stacks)];
  });
  return { masks, complete, texts };
});

const validated = (input.validate ?? []).map(([text, schema]) => validate(JSON.parse(text), schema));

const bench = (input.bench ?? []).map((b) => {
  const decoder = new ConstrainedDecoder(compileSchema(b.schema, b.layout ?? "spaced"), tokenizer);
  const states = [decoder.start()];
  for (const t of b.sequence) states.push(decoder.advance(states[states.length - 1], t));
  for (const s of states) decoder.masks(s.stacks, false); // warm up the JIT
  const reps = Math.max(1, Math.ceil(2000 / states.length));
  let t0 = performance.now();
  for (let r = 0; r < reps; r++) for (const s of states) decoder.masks(s.stacks, false);
  const msPerMask = (performance.now() - t0) / (reps * states.length);
  decoder.cache.clear();
  t0 = performance.now();
  for (let r = 0; r < reps; r++) {
    let s = decoder.start();
    for (const t of b.sequence) { decoder.allowed(s); s = decoder.advance(s, t); }
  }
  const msPerStep = (performance.now() - t0) / (reps * b.sequence.length);
  return { steps: states.length, ms_per_mask: msPerMask, ms_per_step: msPerStep };
});

process.stdout.write(JSON.stringify({ cases, bench, validate: validated }));
