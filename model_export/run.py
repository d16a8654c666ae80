"""run.py: everything needed to use the tiny GPT, given its parameter file.

    python run.py model.safetensors "The capital of France is"
    python run.py model_sft.safetensors --chat "What is the capital of Norway?"
    python run.py model.safetensors "A flash flood watch" --temperature 0.8 --top-k 20 --seed 1

The parameter file holds every learned number, plus, in its header, the
model's sizes and the tokenizer's merge table. This file is the rest, top to
bottom: read the parameter file, turn text into token ids, run the transformer
over them, pick the next token, repeat, turn the ids back into text.
It needs numpy and nothing else (pip install numpy).
"""

import argparse
import json
import math
import re
import struct
import sys

import numpy as np

CHAT = ("<|user|>", "<|assistant|>")  # a question goes between these two special tokens
END = "<|endoftext|>"                  # ends a document; the model emits it when its text is finished


# ---------------------------------------------------------------------------
# 1. The parameter file (safetensors): 8 bytes giving the header's length N,
#    N bytes of JSON header (each tensor's name, shape and byte range, plus
#    string metadata), then the raw float32 numbers, back to back.

class Model:
    """Everything the parameter file holds: the sizes (config), the learned
    numbers (weights: name -> array) and the tokenizer."""

    def __init__(self, path):
        with open(path, "rb") as f:
            data = f.read()
        (n,) = struct.unpack("<Q", data[:8].ljust(8, b"\xff"))   # a file under 8 bytes fails below
        if n > len(data) - 8 or data[8:9] != b"{":
            raise ValueError("not a .safetensors parameter file")
        header = json.loads(data[8:8 + n])
        meta = header.pop("__metadata__", {})
        if "config" not in meta or "tokenizer" not in meta:
            raise ValueError("its header has no config and tokenizer: not one of this model's files")
        self.weights = {}
        for name, t in header.items():
            start, end = t["data_offsets"]                       # counted from the end of the header
            assert t["dtype"] == "F32", f"{name}: expected float32, got {t['dtype']}"
            self.weights[name] = np.frombuffer(data, "<f4", (end - start) // 4, 8 + n + start).reshape(t["shape"])
        self.config = json.loads(meta["config"])                # n_layer, n_head, n_embd, block_size, vocab_size
        self.tokenizer = load_tokenizer(json.loads(meta["tokenizer"]))
        self.block_size = self.config["block_size"]             # the context window, in tokens
        self.eot_id = self.tokenizer["special"][END]


# ---------------------------------------------------------------------------
# 2. The tokenizer: byte-level BPE. Ids 0-255 are the bytes themselves, merge
#    number r makes id 256 + r from two older ids, special tokens come last.

def load_tokenizer(spec):
    vocab = [bytes([b]) for b in range(256)]
    for a, b in spec["merges"]:
        vocab.append(vocab[a] + vocab[b])
    for name, i in sorted(spec["special_tokens"].items(), key=lambda kv: kv[1]):
        vocab.append(name.encode("utf-8"))                       # decoded as its name, e.g. "<|endoftext|>"
    return {"pattern": re.compile(spec["pattern"]), "vocab": vocab, "special": spec["special_tokens"],
            "ranks": {tuple(pair): r for r, pair in enumerate(spec["merges"])}}


def encode(tok, text, allow_special=False):
    """Cut the text into chunks (a word with its leading space, one digit, a run
    of punctuation, a run of whitespace), then inside each chunk merge the
    adjacent pair of ids with the lowest rank, again and again, as training did.
    With allow_special, special-token names in the text become their single ids."""
    if allow_special:
        names = sorted(tok["special"], key=len, reverse=True)   # longest name wins at one position
        parts = re.split("(" + "|".join(map(re.escape, names)) + ")", text)
        return [i for k, part in enumerate(parts)                # odd parts are the special names
                for i in ([tok["special"][part]] if k % 2 else encode(tok, part))]
    ids = []
    for chunk in tok["pattern"].findall(text):
        # a lone UTF-16 surrogate becomes U+FFFD, as in the browser's TextEncoder
        part = list(re.sub("[\ud800-\udfff]", "\ufffd", chunk).encode("utf-8"))
        while len(part) >= 2:
            best = min(zip(part, part[1:]), key=lambda p: tok["ranks"].get(p, math.inf))
            if best not in tok["ranks"]:
                break                                             # no pair here was ever merged
            new_id, merged, i = 256 + tok["ranks"][best], [], 0
            while i < len(part):                                  # every occurrence, left to right
                if part[i:i + 2] == list(best):
                    merged.append(new_id)
                    i += 2
                else:
                    merged.append(part[i])
                    i += 1
            part = merged
        ids += part
    return ids


def decode(tok, ids):
    # a character cut between two tokens decodes as U+FFFD until its other half arrives
    return b"".join(tok["vocab"][i] for i in ids).decode("utf-8", errors="replace")


# ---------------------------------------------------------------------------
# 3. The transformer (GPT-2's architecture): embeddings, then blocks of
#    attention and MLP, each added to the running vector of every token
#    (the residual stream), then a final LayerNorm and the output head.

def layernorm(x, g, b):
    """Each token's vector shifted to mean 0 and scaled to variance 1, then a learned gain and bias."""
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + 1e-5) * g + b


def gelu(x):
    """GPT-2's smooth ReLU (its tanh approximation)."""
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


def softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))                      # minus the max: no overflow
    return e / e.sum(-1, keepdims=True)


def new_cache(model):
    """The KV cache: per layer, the keys and values of every position read so far (none yet)."""
    c = model.config
    empty = np.zeros((c["n_head"], 0, c["n_embd"] // c["n_head"]), np.float32)
    return [[empty, empty] for _ in range(c["n_layer"])]


def forward(model, ids, cache):
    """Logits (one row of vocab_size scores per new token) for the tokens `ids`,
    which continue the text whose keys and values are in `cache`. Extends the
    cache, so the next call passes only the newest token."""
    w, H = model.weights, model.config["n_head"]
    T, past = len(ids), cache[0][0].shape[1]
    C = w["wte"].shape[1]
    D = C // H                                                    # each head works in D of the C dimensions
    x = w["wte"][ids] + w["wpe"][past:past + T]                   # what each token is + where it is
    # causal mask: the new token t sits at position past + t and may see positions 0 .. past + t
    sees = np.arange(past + T)[None, :] <= past + np.arange(T)[:, None]
    for layer, kv in enumerate(cache):
        p = f"h{layer}."
        # attention: each token's query is scored against every visible key; the
        # softmax of the scores weighs the values it takes in, head by head
        h = layernorm(x, w[p + "ln1.g"], w[p + "ln1.b"])
        q, k, v = np.split(h @ w[p + "attn.w_qkv"] + w[p + "attn.b_qkv"], 3, axis=-1)
        q, k, v = (a.reshape(T, H, D).transpose(1, 0, 2) for a in (q, k, v))   # (heads, T, D)
        kv[0] = np.concatenate([kv[0], k], axis=1)                 # remember them for later tokens
        kv[1] = np.concatenate([kv[1], v], axis=1)
        scores = q @ kv[0].transpose(0, 2, 1) / math.sqrt(D)      # (heads, T, past + T)
        weights = softmax(np.where(sees, scores, -np.inf))        # each row sums to 1
        heads = (weights @ kv[1]).transpose(1, 0, 2).reshape(T, C)  # the heads side by side again
        x = x + heads @ w[p + "attn.w_proj"] + w[p + "attn.b_proj"]
        # MLP: each token on its own, widened 4x, bent by GELU, projected back
        h = layernorm(x, w[p + "ln2.g"], w[p + "ln2.b"])
        x = x + gelu(h @ w[p + "mlp.w_fc"] + w[p + "mlp.b_fc"]) @ w[p + "mlp.w_proj"] + w[p + "mlp.b_proj"]
    # the head is tied: the token embedding table, read the other way, scores every token
    return layernorm(x, w["ln_f.g"], w["ln_f.b"]) @ w["wte"].T


# ---------------------------------------------------------------------------
# 4. Choosing the next token, and the generation loop

class XorShift:
    """Random numbers (xorshift64*, as in llama2.c): one seed, one text, here, in the build and on the page."""

    def __init__(self, seed):
        self.state = seed + 1                                     # never 0: a zero state stays 0 forever

    def random(self):
        """A float in [0, 1): the top 24 bits of the scrambled state."""
        s = self.state ^ (self.state >> 12)
        s ^= (s << 25) & 0xFFFFFFFFFFFFFFFF                       # 64-bit arithmetic: drop what overflows
        self.state = s = s ^ (s >> 27)
        return (((s * 0x2545F4914F6CDD1D) & 0xFFFFFFFFFFFFFFFF) >> 40) / 16777216


def sample(logits, rng, temperature=0.0, top_k=0, top_p=1.0):
    """temperature 0 is greedy: the most probable token. Otherwise the logits are divided by
    the temperature (below 1 sharpens, above 1 flattens), turned into probabilities, cut to
    the top_k most probable (0 = all), then to the shortest run of the most probable whose
    share reaches top_p; those are laid end to end on [0, 1) and a random number picks one."""
    if temperature <= 0:
        return int(np.argmax(logits))
    e = np.exp((logits.astype(np.float64) - logits.max()) / temperature)
    probs = e / np.cumsum(e)[-1]             # (cumsum: added one by one, in the web page's order, to the last bit)
    order = np.argsort(-probs, kind="stable")[:top_k or None]    # most probable first, ties by lower id
    kept = probs[order]
    running = np.cumsum(kept)
    n = min(int(np.searchsorted(np.cumsum(kept / running[-1]), top_p)) + 1, len(kept))   # first to reach top_p
    final = kept[:n] / running[n - 1]
    i = int(np.searchsorted(np.cumsum(final), rng.random(), side="right"))   # the slice the number falls in
    return int(order[min(i, np.count_nonzero(final) - 1)])        # (past the last edge by rounding: the last one)


def generate(model, prompt_ids, max_new_tokens=40, temperature=0.0, top_k=0, top_p=1.0, seed=0):
    """Read the prompt in one pass (prefill), then one token per step, reusing the
    cached keys and values. Stops at end-of-text. When the text outgrows the
    context window, the oldest tokens are dropped and the rest read again."""
    rng = XorShift(seed)
    context = (list(prompt_ids) or [model.eot_id])[-(model.block_size - 1):]   # empty: a new document
    cache = new_cache(model)
    logits = forward(model, context, cache)
    out = []
    for _ in range(max_new_tokens):
        next_id = sample(logits[-1], rng, temperature, top_k, top_p)
        if next_id == model.eot_id:
            break
        out.append(next_id)
        context.append(next_id)
        if len(context) > model.block_size:                       # window full: slide it, re-read
            context = context[-(model.block_size - 1):]
            cache = new_cache(model)
            logits = forward(model, context, cache)
        else:
            logits = forward(model, [next_id], cache)
    return out


def chat_ids(tok, question):
    """The chat format the tuned checkpoints learned: <|user|>question<|assistant|>,
    the two markers as their single special ids (typed, they would be plain characters)."""
    return [tok["special"][CHAT[0]]] + encode(tok, question) + [tok["special"][CHAT[1]]]


def main():
    ap = argparse.ArgumentParser(description="Generate text with the tiny GPT (numpy only).")
    ap.add_argument("model", help="a parameter file, e.g. model.safetensors")
    ap.add_argument("prompt", nargs="?", help="text for the model to continue")
    ap.add_argument("--chat", metavar="QUESTION", help="ask a tuned checkpoint (model_sft.safetensors) a question")
    ap.add_argument("--max-new-tokens", type=int, default=40)
    ap.add_argument("--temperature", type=float, default=0.0, help="0 = greedy (the default)")
    ap.add_argument("--top-k", type=int, default=0, help="keep the k most probable tokens (0 = all)")
    ap.add_argument("--top-p", type=float, default=1.0, help="keep the most probable tokens up to this total")
    ap.add_argument("--seed", type=int, default=0, help="the random draws, when sampling")
    args = ap.parse_args()
    if (args.prompt is None) == (args.chat is None):
        ap.error("give a prompt to continue, or --chat QUESTION (not both)")
    if (args.temperature < 0 or args.top_k < 0 or not 0 < args.top_p <= 1 or args.max_new_tokens < 0
            or not 0 <= args.seed < 2 ** 64 - 1):
        ap.error("need --temperature >= 0, --top-k >= 0, 0 < --top-p <= 1, --max-new-tokens >= 0, "
                 "0 <= --seed < 2**64 - 1")
    try:
        model = Model(args.model)
    except (OSError, ValueError, KeyError, TypeError, AssertionError) as exc:
        sys.exit(f"run.py: cannot load {args.model}: {exc}")
    tok = model.tokenizer
    ids = chat_ids(tok, args.chat) if args.chat is not None else encode(tok, args.prompt)
    out = generate(model, ids, args.max_new_tokens, args.temperature, args.top_k, args.top_p, args.seed)
    print(decode(tok, out) if args.chat is not None else args.prompt + decode(tok, out))


if __name__ == "__main__":
    main()
