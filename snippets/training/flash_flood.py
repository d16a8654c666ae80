flood = report["flash_flood"]
print(repr(flood["prompt"]), "... what comes next?\n")
print("the model's top next tokens:")
for candidate in flood["top"][:6]:
    print(f"  {candidate['token']!r:12} {candidate['prob']:.3f}")

# A word of several tokens gets the product of its tokens' probabilities,
# each given the tokens before it.
print("\nwhole words:")
word_probs = flood["words"]
for word, p in sorted(word_probs.items(), key=lambda wp: -wp[1]):
    print(f"  {word!r:13} {p:.2e}")
