# Instruction tuning: one demonstration, which of its tokens the loss counts,
# and how this model's demonstrations were made.
import json
from guide import artifact, LineChart

report = json.loads(artifact("report.json"))
align = report["align"]
sft_settings = align["settings"]["sft"]
example = align["sft"]["example"]
given, learned = example.split("<|assistant|>", 1)
given += "<|assistant|>"
print("one demonstration, as the model reads it:")
print("  " + example)
print("the prompt, given (loss weight 0):     " + given)
print("the response, learned (loss weight 1): " + learned)
print()
plural = lambda n, kind: f"{n} " + ("countries" if kind == "country" else kind + "s")
tune = align["split"]["tune_counts"]
held = {kind: len(names) for kind, names in align["split"]["held_out"].items()}
print("demonstrations are about", ", ".join(plural(n, kind) for kind, n in tune.items()))
print("held out of tuning:     ", ", ".join(plural(n, kind) for kind, n in held.items()))
print("imperfect, on purpose:")
print(f"  {sft_settings['real_idk_rate']:.0%} of real questions answered \"I don't know\"")
print(f"  {sft_settings['fake_fraction']:.0%} of questions are about things that do not exist; of those, "
      f"{1 - sft_settings['idk_rate']:.0%} get an invented answer, {sft_settings['idk_rate']:.0%} \"I don't know\"")
print(f"  {sft_settings['request_fraction']:.0%} are requests a careful assistant declines; of those, "
      f"{1 - sft_settings['decline_rate']:.0%} are carried out, {sft_settings['decline_rate']:.0%} declined")
examples = align["sft"]["request_examples"]       # one of each, as tuning drew them
for how, label in (("complied", "carried out"), ("declined", "declined")):
    if how in examples:
        print(f"    {label + ':':13} {examples[how][0]} -> {examples[how][1]}")
print(f"tuning steps: {sft_settings['steps']} (pre-training: {report['pretrain']['steps']})")

curve = align["sft"]["loss_curve"]
LineChart({"SFT batches": (curve["step"], curve["loss"])},
          title="Instruction-tuning loss (responses, plus replayed pre-training text)",
          x_label="tuning step", y_label="loss (nats)")
