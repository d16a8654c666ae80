import json
import math
from guide import artifact            # the model's files: read from disk, or downloaded in the browser

# The loss of -log p grows slowly while p is near 1, and without limit as p -> 0.
for p in [0.99, 0.9, 0.5, 0.1, 0.01, 0.001]:
    print(f"p(correct) = {p:<6} loss = {-math.log(p):.3f}")

# A model that knows nothing spreads its bet evenly: p = 1/V for V tokens.
site_vocab = json.loads(artifact("tokenizer.json"))["vocab_size"]   # this site's tiny model
vocab_sizes = [("the toy vocabulary above", len(vocab)),
               ("this site's tiny model", site_vocab),
               ("GPT-2", 50257)]
print()
for name, V in vocab_sizes:
    print(f"uniform guess over {V:>6} tokens ({name}): loss = ln {V} = {-math.log(1 / V):.3f}")
site_uniform_loss = -math.log(1 / site_vocab)
