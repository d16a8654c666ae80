// The chat format: how a conversation is written as one token stream.
//
//   <|user|>What is the capital of France?<|assistant|>The capital of France is Paris.<|endoftext|>
//
// The markers are the tokenizer's special tokens, each a single id that typed
// text can never produce. An agent's turn adds tool calls and their results:
// <|assistant|>{"tool": ...}<|tool|>result<|assistant|>... (agent-tools.js).
// The JavaScript twin of model_export/chat.py (tests/test_shared_definitions.py
// keeps them equal).

import { ASSISTANT, EOT, TOOL, USER } from "./tokenizer.js";

export { ASSISTANT, EOT, TOOL, USER };

// The text a tuned model reads before it answers: the question between the two markers.
export function chatPrompt(question) {
  return `${USER}${question}${ASSISTANT}`;
}
