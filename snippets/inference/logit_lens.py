# The logit lens: stop the model after block 1, 2, ... and read its guess.
# The site's own run file does the maths: its forward pass runs one block per
# entry of the key/value cache it is given, then the final LayerNorm and the
# head, so a cache of the first d blocks' entries stops the model after block d.
import os
import tempfile
import numpy as np
from guide import artifact, artifact_bytes, change, lens_verdict

run_file = {"__name__": "run_file"}
exec(artifact("run.py"), run_file)                    # run.py's tokenizer and forward pass
weights_path = os.path.join(tempfile.mkdtemp(), "model.safetensors")
with open(weights_path, "wb") as f:
    f.write(artifact_bytes("model.safetensors"))      # the pre-trained model's parameters
gpt = run_file["Model"](weights_path)
encode, decode, forward = run_file["encode"], run_file["decode"], run_file["forward"]

lens_prompt = "The capital of France is"
prompt_ids = encode(gpt.tokenizer, lens_prompt)
n_layer = gpt.config["n_layer"]
lens = []                                             # lens[d - 1]: next-token probabilities after block d
for depth in range(1, n_layer + 1):
    scores = forward(gpt, prompt_ids, run_file["new_cache"](gpt)[:depth])[-1]   # the last position's scores
    lens.append(run_file["softmax"](scores.astype(np.float64)))

def shown(i):
    return repr(decode(gpt.tokenizer, [int(i)]))

print(f"{lens_prompt!r}: the most probable next tokens after each block")
for depth, probs in enumerate(lens, start=1):
    top = np.argsort(-probs, kind="stable")[:5]
    label = f"after block {depth}" + (" (the model's prediction)" if depth == n_layer else "")
    print(f"{label}:\n   " + ", ".join(f"{shown(i)} {probs[i]:.1%}" for i in top))

favourites = [shown(np.argmax(probs)) for probs in lens]
paris = encode(gpt.tokenizer, " Paris")[0]            # " Paris", or its first piece
paris_by_depth = [float(probs[paris]) for probs in lens]
paris_rank_by_depth = [int(np.sum(probs > probs[paris])) + 1 for probs in lens]   # 1 = the favourite
print(f"\n{shown(paris)} after each block:",
      ", ".join(f"{p:.1%} (rank {r})" for p, r in zip(paris_by_depth, paris_rank_by_depth)))
