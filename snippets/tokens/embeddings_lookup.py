# In a model, "embedding a token" is nothing more than reading one row of a table.
import random

rng = random.Random(0)
vocab_size, width = 6, 4                     # 6 tokens, 4 numbers each (real models: ~50,000 x 4,096)
embedding_table = [[round(rng.gauss(0, 1), 2) for _ in range(width)] for _ in range(vocab_size)]

token_ids = [3, 1, 3]                        # a three-token text: the same token twice
for i in token_ids:
    print(f"token {i} -> row {i}: {embedding_table[i]}")
