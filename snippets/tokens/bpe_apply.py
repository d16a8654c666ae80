def tokenize(word):
    symbols = tuple(word)
    for pair in merges:                    # replay the merges in the order they were learned
        symbols = apply_merge(symbols, pair)
    return list(symbols)

for word in ["tokenization", "tokenizer", "nationalization", "zebra"]:
    print(f"{word:16} -> {tokenize(word)}")
