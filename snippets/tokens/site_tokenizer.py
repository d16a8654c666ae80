# The tokenizer of the model behind this site, in a few lines of plain Python.
# Its merges were learned from the model's own training text.
import json, re
from guide import artifact             # the model's files: read from disk, or downloaded in the browser

spec = json.loads(artifact("tokenizer.json"))
vocab = [bytes([b]) for b in range(256)]            # ids 0-255: the 256 possible bytes
for a, b in spec["merges"]:                         # merge number r creates id 256 + r
    vocab.append(vocab[a] + vocab[b])
special = {i: name for name, i in spec["special_tokens"].items()}   # markers, not text: the last ids
rank = {tuple(pair): r for r, pair in enumerate(spec["merges"])}
chunker = re.compile(spec["pattern"])               # words, single digits, punctuation, spaces

def encode(text):
    ids = []
    for chunk in chunker.findall(text):
        parts = list(chunk.encode("utf-8"))         # start from raw bytes: any text works
        while len(parts) > 1:
            # of the neighbouring pairs, merge the one that was learned first
            pairs = [(rank.get(p, 1e9), i) for i, p in enumerate(zip(parts, parts[1:]))]
            best, i = min(pairs)
            if best == 1e9:                         # no learned merge applies any more
                break
            pair = (parts[i], parts[i + 1])
            merged, j = [], 0
            while j < len(parts):                   # merge every occurrence, left to right
                if tuple(parts[j:j + 2]) == pair:
                    merged.append(256 + best); j += 2
                else:
                    merged.append(parts[j]); j += 1
            parts = merged
        ids += parts
    return ids

def piece(i):
    if i in special:
        return special[i]
    try:
        return vocab[i].decode("utf-8")
    except UnicodeDecodeError:                      # part of a character: show the raw byte
        return "".join(f"<0x{b:02X}>" for b in vocab[i])

def show(text):
    ids = encode(text)
    pieces = [piece(i) for i in ids]
    print(f"{text!r}: {len(ids)} tokens")
    print("   pieces:", pieces)
    print("   ids:   ", ids)
    return ids

question_ids = show("What should I eat today?")
word_ids = show("tokenization")
number_ids = show("He scored 2023 goals")
emoji_ids = show("I love 🍕!")
print("special tokens:", special)

# For scale, the vocabularies of two production models' tokenizers:
production_vocab = {"GPT-2": 50_257, "Llama 3": 128_256}
print(f"vocabulary: {spec['vocab_size']} tokens here;",
      ", ".join(f"{n:,} in {name}" for name, n in production_vocab.items()))
