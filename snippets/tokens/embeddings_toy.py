# Hand-made 4-number "embeddings", one per word. Real models learn theirs, with
# hundreds or thousands of numbers per token; these four are chosen to mean
# roughly: royalty, maleness, femaleness, is-a-fruit.
import math

vectors = {
    "king":  [0.9, 0.8, 0.1, 0.0],
    "queen": [0.9, 0.1, 0.8, 0.0],
    "man":   [0.1, 0.9, 0.1, 0.0],
    "woman": [0.1, 0.1, 0.9, 0.0],
    "apple": [0.0, 0.1, 0.1, 0.9],
}

def cosine(a, b):
    # 1 = same direction, 0 = unrelated (at right angles), -1 = opposite
    dot = sum(x * y for x, y in zip(a, b))
    return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))

for word in ["queen", "man", "apple"]:
    print(f"cosine(king, {word:5}) = {cosine(vectors['king'], vectors[word]):.3f}")
