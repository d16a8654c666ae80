"""The chat format: how a conversation is written as one token stream.

    <|user|>What is the capital of France?<|assistant|>The capital of France is Paris.<|endoftext|>

The markers are the tokenizer's special tokens (tokenizer.SPECIAL_TOKENS), each
a single id that typed text can never produce. An agent's turn adds tool calls
and their results: <|assistant|>{"tool": ...}<|tool|>result<|assistant|>...
(agent.py). This is the only place the template is written in Python; its
JavaScript twin is docs/javascripts/chat.js, and tests/test_shared_definitions.py
keeps the two the same.
"""

from __future__ import annotations

from model_export.tokenizer import ASSISTANT, EOT, TOOL, USER

__all__ = ["USER", "ASSISTANT", "TOOL", "EOT", "chat_prompt", "encode_prompt", "encode_pair"]


def chat_prompt(question: str) -> str:
    """The text a tuned model reads before it answers: the question between the two markers."""
    return f"{USER}{question}{ASSISTANT}"


def encode_prompt(tok, question: str) -> list[int]:
    return tok.encode(chat_prompt(question), allow_special=True)


def encode_pair(tok, question: str, response: str) -> tuple[list[int], list[float]]:
    """Token ids of prompt + response + <|endoftext|>, and a 0/1 mask marking
    the tokens the model must learn to produce (the response and its end)."""
    p = encode_prompt(tok, question)
    r = tok.encode(response) + [tok.eot_id]
    return p + r, [0.0] * len(p) + [1.0] * len(r)
