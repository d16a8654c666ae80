// Bridge for tests/test_reward_scorer_js.py: builds the reward model's inputs in JavaScript.
//
// stdin:  {"tokenizer": "path/to/tokenizer.json", "blockSize": 64,
//          "cases": [{"question": "...", "answer": "..."}, ...],   // stripped first, as the widget does
//          "strip": ["...", ...],                                   // for pyStrip alone
//          "presets": ["...", null, ...]}                           // data-presets texts, for parsePresets
// stdout: {"cases": [{"ids": [...], "answerStart": n, "cut": n}, ...], "strip": ["...", ...],
//          "presets": [[{label, question, answers}, ...] or null, ...]}
// One node process per batch: starting node costs far more than encoding.

import { readFileSync } from "node:fs";
import { Tokenizer } from "../../docs/javascripts/tokenizer.js";
import { conversation, parsePresets, pyStrip } from "../../docs/javascripts/reward-scorer.js";

const request = JSON.parse(readFileSync(0, "utf8"));
const tok = Tokenizer.fromJSON(JSON.parse(readFileSync(request.tokenizer, "utf8")));
const result = {
  cases: (request.cases ?? []).map(({ question, answer }) => {
    const c = conversation(tok, pyStrip(question), pyStrip(answer), request.blockSize);
    return { ids: c.ids, answerStart: c.answerStart, cut: c.cut };
  }),
  strip: (request.strip ?? []).map(pyStrip),
  presets: (request.presets ?? []).map(parsePresets),
};
process.stdout.write(JSON.stringify(result));
