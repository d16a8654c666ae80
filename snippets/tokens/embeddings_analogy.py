# The classic analogy: king - man + woman lands nearest to ... ?
target = [k - m + w for k, m, w in zip(vectors["king"], vectors["man"], vectors["woman"])]
ranked = sorted(((cosine(target, v), word) for word, v in vectors.items()
                 if word not in ("king", "man", "woman")), reverse=True)
for similarity, word in ranked:
    print(f"{word:6} {similarity:.3f}")
analogy_answer = ranked[0][1]
