// Bridge for tests/test_shared_definitions.py: what the page's modules define
// that Python defines too (special tokens, chat template, checkpoints).
//
// stdin:  {"questions": ["...", ...]}
// stdout: {"specialTokens": [...], "markers": {EOT, USER, ASSISTANT, TOOL},
//          "defaultSpecialIds": {name: id}, "chatMarkers": {...},
//          "prompts": ["...", ...], "checkpoints": [{name, file, label}, ...]}

import { readFileSync } from "node:fs";
import * as chat from "../../docs/javascripts/chat.js";
import { CHECKPOINTS } from "../../docs/javascripts/checkpoints.js";
import { ASSISTANT, EOT, SPECIAL_TOKENS, TOOL, Tokenizer, USER } from "../../docs/javascripts/tokenizer.js";

const request = JSON.parse(readFileSync(0, "utf8"));
process.stdout.write(JSON.stringify({
  specialTokens: SPECIAL_TOKENS,
  markers: { EOT, USER, ASSISTANT, TOOL },
  defaultSpecialIds: new Tokenizer([]).specialIds,
  chatMarkers: { EOT: chat.EOT, USER: chat.USER, ASSISTANT: chat.ASSISTANT, TOOL: chat.TOOL },
  prompts: request.questions.map(chat.chatPrompt),
  checkpoints: CHECKPOINTS,
}));
