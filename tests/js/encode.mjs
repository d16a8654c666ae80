// Bridge for tests/test_tokenizer_js.py: runs the JavaScript tokenizer on a batch.
//
// stdin:  {"tokenizer": "path/to/tokenizer.json",
//          "texts": ["...", ...], "allowSpecial": false,   // to encode
//          "decode": [[id, ...], ...],                     // to decode (optional)
//          "tokenTexts": [id, ...]}                        // for tokenText (optional)
// stdout: {"ids": [[...], ...],          // encode(text) for each text
//          "roundtrip": ["...", ...],    // decode(encode(text))
//          "pieces": [[[id, start, end, partial], ...], ...],
//          "decoded": ["...", ...],      // decode(ids) for each list in "decode"
//          "tokenTexts": ["...", ...]}
// One node process per batch: starting node costs far more than encoding.

import { readFileSync } from "node:fs";
import { Tokenizer } from "../../docs/javascripts/tokenizer.js";

const request = JSON.parse(readFileSync(0, "utf8"));
const tok = Tokenizer.fromJSON(JSON.parse(readFileSync(request.tokenizer, "utf8")));
const opts = { allowSpecial: Boolean(request.allowSpecial) };
const texts = request.texts ?? [];

const ids = texts.map((text) => tok.encode(text, opts));
const result = {
  ids,
  roundtrip: ids.map((list) => tok.decode(list)),
  pieces: texts.map((text) => tok.pieces(text, opts).map((p) => [p.id, p.start, p.end, p.partial])),
  decoded: (request.decode ?? []).map((list) => tok.decode(list)),
  tokenTexts: (request.tokenTexts ?? []).map((id) => tok.tokenText(id)),
};
process.stdout.write(JSON.stringify(result));
