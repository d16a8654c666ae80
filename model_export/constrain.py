"""Schema-constrained decoding: make a language model's output valid JSON for a schema.

At every step of generation the decoder masks out each token whose bytes would
make the output impossible to complete into a document that parses and
validates. Sampling from the remaining tokens, at any temperature, therefore
always ends in valid output. Three modules share the work, each with a twin in
the browser (`docs/javascripts/`, same names; the tests check that both give
the same masks):

* schema.py: the schemas it accepts (JSON Schema subset or shorthand),
  validation of a parsed value, the canonical spelling of names and enum
  values, and the limits that keep a hostile schema cheap;
* grammar.py: compile_schema, a byte-level recogniser of the canonical JSON
  documents the schema allows, which also knows the fewest bytes that finish
  a document from any point;
* this module: the token masks built on the grammar, and generation.

Token masks
-----------
The tokenizer's tokens are byte strings. The decoder walks a trie of all token
byte strings from the current state of the grammar, so a token is allowed iff
walking its bytes leaves a stack alive; tokens that share a prefix share the
work. End-of-text is allowed iff the document is complete. Special tokens are
never allowed. Masks are cached by the grammar's state (the budget below is
applied afterwards): a generation loop often comes back to the same state, for
example between the characters of a string without length limits.

Token budget: `start(max_tokens=n)` also guarantees the document ends within n
tokens (plus the end-of-text token). The grammar knows the exact minimum number
of bytes needed to complete each state; every byte is a token (ids 0-255), so
a token is allowed only if what remains can still be finished in the tokens
left.

    grammar = compile_schema(schema, layout="spaced")      # grammar.py
    decoder = ConstrainedDecoder(grammar, tokenizer)
    state = decoder.start(max_tokens=None)
    mask = decoder.allowed(state)      # np.ndarray[bool], vocab_size
    state = decoder.advance(state, token_id)
    decoder.is_complete(state)         # the output so far is a valid document
    generate(logits_fn, decoder, rng, temperature, max_tokens) -> dict
"""

from __future__ import annotations

import json
from collections import namedtuple

import numpy as np

from model_export.decoding import sample
from model_export.grammar import BIG, Grammar

# A decoder state: the grammar's stacks, the tokens the budget has left (None: no
# budget), and whether end-of-text has been chosen.
State = namedtuple("State", "stacks remaining finished")


class ConstrainedDecoder:
    """Token masks for a grammar over a tokenizer's vocabulary (see the module docstring)."""

    CACHE_SIZE = 20000

    def __init__(self, grammar: Grammar, tokenizer):
        self.grammar = grammar
        self.vocab_size = tokenizer.vocab_size
        self.eot_id = tokenizer.eot_id
        self.special = set(tokenizer.special_ids.values())
        self.token_bytes = [tokenizer.token_bytes(i) for i in range(self.vocab_size)]
        # Trie of the non-special tokens' bytes: children[node] = {byte: child}, ends[node] = ids.
        self.children: list[dict] = [{}]
        self.ends: list[list] = [[]]
        for i, data in enumerate(self.token_bytes):
            if i in self.special or not data:
                continue
            node = 0
            for b in data:
                nxt = self.children[node].get(b)
                if nxt is None:
                    nxt = len(self.children)
                    self.children[node][b] = nxt
                    self.children.append({})
                    self.ends.append([])
                node = nxt
            self.ends[node].append(i)
        self._cache: dict = {}

    def start(self, max_tokens: int | None = None) -> State:
        """The state before the first token; with max_tokens, the document ends within it."""
        if max_tokens is not None and self.grammar.nodes[self.grammar.root].min_len > max_tokens:
            raise ValueError(f"no document of this schema fits in {max_tokens} tokens")
        return State(self.grammar.initial(), max_tokens, False)

    def masks(self, stacks: tuple):
        """(allowed, need): need[i] = fewest bytes to finish after token i (cached per state)."""
        hit = self._cache.get(stacks)
        if hit is not None:
            return hit
        g = self.grammar
        allowed = np.zeros(self.vocab_size, dtype=bool)
        need = np.full(self.vocab_size, BIG, dtype=np.int64)
        children, ends = self.children, self.ends
        todo = [(0, stacks)]
        while todo:
            node, st = todo.pop()
            for b, child in children[node].items():
                ns = g.advance(st, b)
                if not ns:
                    continue
                ids = ends[child]
                if ids:
                    mc = g.min_complete(ns)
                    for i in ids:
                        allowed[i] = True
                        need[i] = mc
                if children[child]:
                    todo.append((child, ns))
        if g.accepting(stacks):
            allowed[self.eot_id] = True
            need[self.eot_id] = 0
        if len(self._cache) >= self.CACHE_SIZE:
            self._cache.clear()
        self._cache[stacks] = (allowed, need)
        return allowed, need

    def allowed(self, state: State) -> np.ndarray:
        """Boolean mask over the vocabulary: the tokens that keep the output completable."""
        if state.finished:
            return np.zeros(self.vocab_size, dtype=bool)
        allowed, need = self.masks(state.stacks)
        if state.remaining is None:
            return allowed.copy()
        mask = allowed & (need <= state.remaining - 1)
        mask[self.eot_id] = allowed[self.eot_id]
        return mask

    def advance(self, state: State, token_id: int) -> State:
        """The state after token_id; raises ValueError if the token is not allowed."""
        if not self.allowed(state)[token_id]:
            raise ValueError(f"token {token_id} ({self.token_bytes[token_id]!r}) is not allowed here")
        if token_id == self.eot_id:
            return State(state.stacks, state.remaining, True)
        stacks = self.grammar.advance_bytes(state.stacks, self.token_bytes[token_id])
        remaining = None if state.remaining is None else state.remaining - 1
        return State(stacks, remaining, False)

    def is_complete(self, state: State) -> bool:
        """True if the output so far is a complete, valid document."""
        return self.grammar.accepting(state.stacks)

    def text(self, ids) -> str:
        return b"".join(self.token_bytes[i] for i in ids if i != self.eot_id).decode("utf-8", errors="replace")


def generate(logits_fn, decoder: ConstrainedDecoder, rng, temperature: float = 1.0,
             max_tokens: int | None = 256) -> dict:
    """Sample a document: logits_fn(ids) -> logits over the vocabulary, masked by the decoder.

    The tokens the decoder forbids get logit -inf (probability 0), then
    decoding.sample chooses (greedy when temperature <= 0; rng: a
    decoding.XorShift). The output always ends with end-of-text within
    max_tokens tokens (not counting end-of-text).
    Returns {"ids": generated ids without end-of-text, "text": str, "value": parsed JSON}.
    """
    state = decoder.start(max_tokens)
    ids: list[int] = []
    while True:
        mask = decoder.allowed(state)
        tok = sample(np.where(mask, np.asarray(logits_fn(ids)), -np.inf), rng, temperature)
        if tok == decoder.eot_id:
            break
        state = decoder.advance(state, tok)
        ids.append(tok)
    text = decoder.text(ids)
    return {"ids": ids, "text": text, "value": json.loads(text)}
