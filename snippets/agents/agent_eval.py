# How the agent did on its evaluation questions: greedy decoding, the real
# tools on the real world, with the tool calls constrained to the schema and
# without. The players and countries asked about were held out of tuning.
import json
from guide import artifact, share_strict as pct, valid_calls_words

agent_report = json.loads(artifact("report.json"))["agent"]
agent_settings = agent_report["settings"]
with_schema = agent_report["eval"]["constrained"]
free_calls = agent_report["eval"]["unconstrained"]
sampled = agent_report["sampled_calls"]  # first tool calls sampled at temperatures 0.7 to 1.5


rows = [("correct, all questions", lambda e: pct(e["accuracy"])),
        ("correct, held-out questions", lambda e: pct(e["held_out_accuracy"])),
        ("valid tool calls", lambda e: f"{e['valid_tool_calls']}/{e['tool_calls']}")]
rows += [(f"  correct, shape {shape}", lambda e, s=shape: pct(e["by_shape"][s]["accuracy"]))
         for shape in with_schema["by_shape"]]
print(f"{'':34}{'constrained':>12}{'free':>8}")
for title, get in rows:
    print(f"{title:34}{get(with_schema):>12}{get(free_calls):>8}")
first = with_schema["examples"][0]
print(f"\n{with_schema['n']} questions, at most {agent_settings['max_steps']} tool calls and "
      f"{agent_settings['max_turn_tokens']} tokens per turn")
print(f"{first['question']}\n  constrained agent: {first['answer']!r} (the tools give {first['expected']!r})")
for mode, c in sampled.items():
    low, high = c["temperatures"]
    print(f"sampled first tool calls, {mode}, temperature {low}-{high}: {c['valid']}/{c['samples']} valid")
