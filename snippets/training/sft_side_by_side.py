# The same questions to the pre-trained (base) and the instruction-tuned (SFT)
# model. The base model gets the bare question as text; we keep the first
# sentence it writes. The RLHF model's answers come in the next chapter.
samples = align["samples"]
for s in samples:
    print(f"{s['question']}   ({s['kind']})")
    print(f"  expected  {s['expected']}")
    for name, label in (("base", "base"), ("sft", "SFT")):
        print(f"  {label:8}  {s[name]}")
    print()
