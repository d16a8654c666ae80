# Count the parameters of this site's trained model from its configuration,
# using the same shapes as above, and compare with what its training run reported.
import json
from guide import artifact

report = json.loads(artifact("report.json"))
cfg = report["model"]
V, C, T_max, L = cfg["vocab_size"], cfg["n_embd"], cfg["block_size"], cfg["n_layer"]
per_block = (2 * C                      # ln1 scale and shift
             + C * 3 * C + 3 * C        # query/key/value projection
             + C * C + C                # attention output projection
             + 2 * C                    # ln2
             + C * 4 * C + 4 * C        # MLP up
             + 4 * C * C + C)           # MLP down
total = V * C + T_max * C + L * per_block + 2 * C   # embeddings, blocks, final LayerNorm
print(f"{L} blocks of {per_block:,} parameters, embeddings {V * C + T_max * C:,}")
print(f"counted: {total:,}   reported by the training run: {report['n_params']:,}")
