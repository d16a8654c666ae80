import json
from guide import artifact

cfg = json.loads(artifact("report.json"))["model"]    # the trained model behind the demos
n_layer, n_head, width = cfg["n_layer"], cfg["n_head"], cfg["n_embd"]
head_size = width // n_head               # each head works on its own slice of the vector
print(f"{n_layer} layers x {n_head} heads; vectors of {width} numbers, {head_size} per head")
