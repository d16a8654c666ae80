# The same questions to the three checkpoints: pre-trained (base), instruction-tuned (SFT), after RLHF.
# The base model gets the bare question as text; we keep the first sentence it writes.
import json
from guide import artifact

report = json.loads(artifact("report.json"))
samples = report["align"]["samples"]
for s in samples:
    print(f"{s['question']}   ({s['kind']})")
    print(f"  expected  {s['expected']}")
    for name, label in (("base", "base"), ("sft", "SFT"), ("rlhf", "RLHF")):
        print(f"  {label:8}  {s[name]}")
    print()
