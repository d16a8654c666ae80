# The same mask over the model's real tokens: a token is allowed if the text
# stays completable after all of its characters.
import json
from guide import artifact              # the build's files: a file at build time, a download in the browser

spec = json.loads(artifact("tokenizer.json"))
vocab = [bytes([b]) for b in range(256)]
for a, b in spec["merges"]:             # each merge makes a new token from two older ones
    vocab.append(vocab[a] + vocab[b])
n_tokens = len(vocab) + len(spec["special_tokens"])   # special tokens are never allowed

def allowed_tokens(prefix):
    out = []
    for data in vocab:
        text = data.decode("ascii", errors="replace")   # the toy reads ASCII only
        if "\ufffd" not in text and can_complete(prefix + text):
            out.append(text)
    return out

age_prefix = '{"name": "John Doe", "age": 3'
age_ok = allowed_tokens(age_prefix)
print(f"after {age_prefix!r}: {len(age_ok)} of the model's {n_tokens} tokens allowed:")
print("  " + "  ".join(repr(t) for t in sorted(age_ok, key=lambda t: (len(t), t))))

name_prefix = '{"name": "Jo'
name_ok = allowed_tokens(name_prefix)
print(f"after {name_prefix!r}: {len(name_ok)} of {n_tokens} tokens allowed (counting ASCII tokens only)")
