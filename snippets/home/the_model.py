# The model behind the demo above, read from the report its training wrote.
import json
from guide import artifact

report = json.loads(artifact("report.json"))
shape = report["model"]

print("learned numbers (parameters):", f"{report['n_params']:,}")
print("layers of the network:       ", shape["n_layer"])
print("numbers per token's vector:  ", shape["n_embd"])
print("tokens it knows (vocabulary):", shape["vocab_size"])
print("tokens it reads at most:     ", shape["block_size"])
print("tokens of training text:     ", f"{report['corpus']['train_tokens']:,}")

# For scale: GPT-3 (Brown et al., 2020, "Language Models are Few-Shot Learners").
gpt3_params = 175e9
print("GPT-3 has", f"{gpt3_params / report['n_params']:,.0f}", "times as many parameters")

# How its tokenizer cuts a sentence into tokens (␣ marks a space):
print(" | ".join(piece.replace(" ", "␣") for piece in report["tokenizer"]["example"]))
