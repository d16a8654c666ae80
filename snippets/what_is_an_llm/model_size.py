# How big is "tiny"? The model this site trained, against one weight matrix of a
# 7-billion-parameter model such as Llama 2 7B, whose vectors have 4096 numbers:
# each of its attention layers holds four 4096 x 4096 tables of weights.
import json
from guide import artifact

report = json.loads(artifact("report.json"))     # what the site's training run wrote down
site_params = report["n_params"]
one_matrix = 4096 * 4096
layers = 32                                       # Llama 2 7B stacks 32 such layers
print(f"{'this site, whole model':23}{site_params:>11,}")
print(f"{'one 4096 x 4096 table':23}{one_matrix:>11,}")
print(f"{'table / whole model':23}{one_matrix / site_params:>11.0f}")
print(f"{'tables in 7B attention':23}{4 * layers:>11}")
