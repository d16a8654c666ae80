# What was measured while this site's model was pre-trained.
import json
import math
from guide import artifact, LineChart

report = json.loads(artifact("report.json"))
model, corpus, final = report["model"], report["corpus"], report["final"]
print(f"model: {report['n_params']:,} parameters, {model['n_layer']} layers, "
      f"width {model['n_embd']}, {model['n_head']} heads, context {model['block_size']} tokens")
print(f"training text: {corpus['train_tokens']:,} tokens; held-out text: {corpus['val_tokens']:,} tokens")
print(f"loss of a uniform guess, ln(vocab):  {final['uniform_loss']:.3f}")
print(f"final loss on training text:         {final['train_loss']:.3f}")
print(f"final loss on held-out text:         {final['val_loss']:.3f}")
vocab_size = model["vocab_size"]                      # a uniform guess costs ln(vocab_size)
perplexity = math.exp(final["val_loss"])              # e^loss: the geometric-mean "number of choices"
print(f"held-out perplexity, e^loss:         {perplexity:.2f}")

curve, evals = report["loss_curve"], report["eval_curve"]
LineChart(
    {"training batches": (curve["step"], curve["train_loss"]),
     "held-out text": (evals["step"], evals["val"])},
    title=f"Pre-training loss fell from {evals['val'][0]:.2f} to {evals['val'][-1]:.2f} on held-out text",
    x_label="training step", y_label="loss (nats)",
)
