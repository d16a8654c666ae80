# What the tiny model learned, and what it did not: its own test results, on
# questions scored all or nothing: each answer is right or wrong, invented or not.
import json
from guide import artifact, change, share   # share: a fraction as a percentage

report = json.loads(artifact("report.json"))        # everything the training run measured
capitals = report["capitals"]                       # the pre-trained model: "The capital of X is"
tuned = report["align"]["checkpoints"]              # base, instruction-tuned (sft), after RLHF
agent = report["agent"]["eval"]                     # the agent, on questions that need tools

results = {
    "pre-trained model": [
        ("capitals completed", capitals["accuracy"])],
    "instruction-tuned model": [
        ("right, seen in tuning", tuned["sft"]["held_in"]["accuracy"]),
        ("right, left out of tuning", tuned["sft"]["held_out"]["accuracy"]),
        ("invents about unreal things", tuned["sft"]["fake"]["invented_rate"])],
    "after RLHF": [
        ("invents about unreal things", tuned["rlhf"]["fake"]["invented_rate"])],
    "agent, questions that need tools": [
        ("right, calls constrained", agent["constrained"]["accuracy"]),
        ("right, unconstrained", agent["unconstrained"]["accuracy"])],
}
for model, rows in results.items():
    print(model)
    for label, value in rows:
        print(f"{share(value):>5}  {label}")

# The same capitals, scored smoothly: the probability the model gave the first
# token of the right answer, averaged over the countries.
p_first = [c["p_first_token"] for c in capitals["completions"]]
mean_p_first = sum(p_first) / len(p_first)
print(f"\ncapitals, scored smoothly\n{mean_p_first:5.2f}  mean p(right first token)")
