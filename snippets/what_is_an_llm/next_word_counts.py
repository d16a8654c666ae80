# The smallest possible "language model": count which word follows which.
from collections import Counter, defaultdict

text = """the cat sat on the mat . the dog sat on the rug .
the cat chased the dog . the dog chased the ball ."""

follows = defaultdict(Counter)          # word -> Counter of the words seen after it
words = text.split()
for current, nxt in zip(words, words[1:]):
    follows[current][nxt] += 1

def next_word_probabilities(word):
    counts = follows[word]
    total = sum(counts.values())
    return {w: c / total for w, c in counts.most_common()}

for word, p in next_word_probabilities("the").items():
    print(f"P({word!r:7} | 'the') = {p:.3f}")
