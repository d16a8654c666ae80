import random

def generate(word, n_words, seed):
    rng = random.Random(seed)              # a seeded generator: the same seed, the same text
    out = [word]
    for _ in range(n_words):
        probs = next_word_probabilities(out[-1])
        if not probs:                      # a word never seen with a successor: stop
            break
        out.append(rng.choices(list(probs), weights=list(probs.values()))[0])
    return " ".join(out)

for seed in range(3):
    print(generate("the", 8, seed))
