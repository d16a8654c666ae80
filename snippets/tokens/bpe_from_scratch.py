# Byte pair encoding, learned from a tiny corpus: start from single characters,
# then repeatedly glue together the pair of neighbours that occurs most often.
from collections import Counter

corpus = ("token tokens tokenize tokenization organization realization "
          "nation station relation tokenizer").split()
words = Counter(tuple(w) for w in corpus)          # each word as a tuple of symbols

def most_common_pair(words):
    pairs = Counter()
    for symbols, count in words.items():
        for pair in zip(symbols, symbols[1:]):
            pairs[pair] += count
    # the most frequent pair; ties go to the alphabetically first, so it is deterministic
    return min(pairs, key=lambda p: (-pairs[p], p)), pairs

def apply_merge(symbols, pair):
    out, i = [], 0
    while i < len(symbols):
        if symbols[i:i + 2] == pair:
            out.append(symbols[i] + symbols[i + 1]); i += 2
        else:
            out.append(symbols[i]); i += 1
    return tuple(out)

merges = []
for step in range(12):
    pair, counts = most_common_pair(words)
    merges.append(pair)
    words = Counter({apply_merge(s, pair): c for s, c in words.items()})
    print(f"merge {step + 1:2}: {pair[0]!r} + {pair[1]!r} -> {pair[0] + pair[1]!r} (seen {counts[pair]} times)")
