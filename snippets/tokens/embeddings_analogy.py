# The classic analogy: king - man + woman lands nearest to ... ?
target = [k - m + w for k, m, w in zip(vectors["king"], vectors["man"], vectors["woman"])]
# The three words that went into the sum are not candidates (the usual rule in analogy tests).
ranked = sorted(((cosine(target, v), word) for word, v in vectors.items()
                 if word not in ("king", "man", "woman")), reverse=True)
for similarity, word in ranked:
    print(f"{word:6} {similarity:.3f}")
analogy_answer = ranked[0][1]
winner_if_kept = max(vectors, key=lambda word: cosine(target, vectors[word]))  # without the rule
