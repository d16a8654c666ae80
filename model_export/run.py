"""The run file: everything needed to use the tiny GPT, given its two data files.

    python run.py model.onnx tokenizer.json "The capital of France is"
    python run.py model.onnx tokenizer.json "A flash flood watch" --temperature 0.8 --top-p 0.9 --seed 1

model.onnx holds the parameters (every learned number) and the architecture's
computation graph; tokenizer.json holds the byte-pair merges. This file does
the rest: text -> token ids -> repeated forward passes, each picking one more
token -> text. Needs only numpy and onnxruntime (pip install numpy onnxruntime).
"""

import argparse
import json
import re

import numpy as np
import onnxruntime as ort


# ---------------------------------------------------------------------------
# Tokenizer: byte-level BPE

def load_tokenizer(path):
    with open(path, encoding="utf-8") as f:
        tok = json.load(f)
    vocab = [bytes([b]) for b in range(256)]               # ids 0-255 are the bytes themselves
    for a, b in tok["merges"]:                             # merge r creates id 256 + r
        vocab.append(vocab[a] + vocab[b])
    for name, i in sorted(tok["special_tokens"].items(), key=lambda kv: kv[1]):
        vocab.append(name.encode("utf-8"))
    ranks = {tuple(pair): r for r, pair in enumerate(tok["merges"])}
    return {"pattern": re.compile(tok["pattern"]), "ranks": ranks, "vocab": vocab,
            "special": tok["special_tokens"]}


def encode(tok, text, allow_special=False):
    """Cut the text into chunks (words with their leading space, single digits,
    punctuation runs, whitespace runs), then within each chunk repeatedly merge
    the adjacent pair of ids with the lowest merge rank. With allow_special,
    special-token names in the text (e.g. "<|endoftext|>") become their ids."""
    if allow_special:
        names = sorted(tok["special"], key=len, reverse=True)   # longest wins at one position
        parts = re.split("(" + "|".join(map(re.escape, names)) + ")", text)
        return [i for k, part in enumerate(parts)                 # odd parts are the special names
                for i in ([tok["special"][part]] if k % 2 else encode(tok, part))]
    ids = []
    for chunk in tok["pattern"].findall(text):
        # a lone UTF-16 surrogate becomes U+FFFD (as JavaScript's TextEncoder does)
        part = list(re.sub("[\ud800-\udfff]", "\ufffd", chunk).encode("utf-8"))
        while len(part) >= 2:
            pairs = list(zip(part, part[1:]))
            best = min(pairs, key=lambda p: tok["ranks"].get(p, float("inf")))
            if best not in tok["ranks"]:
                break
            new_id, merged, i = 256 + tok["ranks"][best], [], 0
            while i < len(part):                             # replace every occurrence, left to right
                if i + 1 < len(part) and (part[i], part[i + 1]) == best:
                    merged.append(new_id)
                    i += 2
                else:
                    merged.append(part[i])
                    i += 1
            part = merged
        ids += part
    return ids


def decode(tok, ids):
    return b"".join(tok["vocab"][i] for i in ids).decode("utf-8", errors="replace")


# ---------------------------------------------------------------------------
# Choosing the next token

def sample(logits, rng, temperature=1.0, top_k=0, top_p=1.0):
    """Pick a token id from the logits of the last position.

    temperature 0 means greedy (the most probable token). Otherwise the logits
    are divided by the temperature (below 1 sharpens, above 1 flattens), only
    the top_k most probable tokens are kept (0 = all), then only the smallest
    set of them whose probabilities add up to top_p; one is drawn at random."""
    if temperature == 0:
        return int(np.argmax(logits))
    logits = logits.astype(np.float64) / temperature
    probs = np.exp(logits - logits.max())
    probs /= probs.sum()
    order = np.argsort(-probs, kind="stable")               # most probable first
    if top_k > 0:
        order = order[:top_k]
    kept = probs[order]
    cumulative = np.cumsum(kept) / kept.sum()
    kept = kept[: int(np.searchsorted(cumulative, top_p)) + 1]  # first index reaching top_p
    return int(order[rng.choice(len(kept), p=kept / kept.sum())])


# ---------------------------------------------------------------------------
# Generation with a key/value cache

class Model:
    def __init__(self, path):
        self.session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        meta = self.session.get_modelmeta().custom_metadata_map
        self.block_size = int(meta["block_size"])
        self.eot_id = int(meta["eot_id"]) if "eot_id" in meta else None
        n_layer, two, _, n_head, _, head_dim = self.session.get_inputs()[1].shape
        self.empty_past = np.zeros((n_layer, 2, 1, n_head, 0, head_dim), np.float32)

    def forward(self, ids, past):
        """Logits for the new tokens `ids`, and the cache extended by them."""
        logits, present = self.session.run(["logits", "present_key_values"],
                                           {"input_ids": np.array([ids], np.int64), "past_key_values": past})
        return logits[0], present


def generate(model, prompt_ids, max_new_tokens=50, temperature=1.0, top_k=0, top_p=1.0, seed=0):
    """Feed the prompt once (prefill), then one token per step, reusing the
    cached keys and values of everything before it. When the context window
    is full the oldest tokens are dropped: the model forgets them."""
    rng = np.random.default_rng(seed)
    context = list(prompt_ids)[-(model.block_size - 1):]
    logits, past = model.forward(context, model.empty_past)
    out = []
    for _ in range(max_new_tokens):
        next_id = sample(logits[-1], rng, temperature, top_k, top_p)
        if next_id == model.eot_id:
            break
        out.append(next_id)
        context.append(next_id)
        if len(context) > model.block_size:                   # window full: slide it, re-read
            context = context[-(model.block_size - 1):]
            logits, past = model.forward(context, model.empty_past)
        else:
            logits, past = model.forward([next_id], past)
    return out


def main():
    ap = argparse.ArgumentParser(description="Generate text with the tiny GPT.")
    ap.add_argument("model", help="model.onnx")
    ap.add_argument("tokenizer", help="tokenizer.json")
    ap.add_argument("prompt")
    ap.add_argument("--max-new-tokens", type=int, default=40)
    ap.add_argument("--temperature", type=float, default=0.0, help="0 = greedy")
    ap.add_argument("--top-k", type=int, default=0, help="keep the k most probable tokens (0 = all)")
    ap.add_argument("--top-p", type=float, default=1.0, help="keep the most probable tokens up to this total probability")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    tok, model = load_tokenizer(args.tokenizer), Model(args.model)
    ids = generate(model, encode(tok, args.prompt), args.max_new_tokens, args.temperature, args.top_k, args.top_p, args.seed)
    print(args.prompt + decode(tok, ids))


if __name__ == "__main__":
    main()
