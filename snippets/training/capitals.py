capitals = report["capitals"]
print(f"'The capital of X is' completed correctly for {capitals['correct']} of "
      f"{capitals['total']} countries ({capitals['accuracy']:.0%})\n")
for c in capitals["completions"][:5]:
    mark = "right" if c["correct"] else "WRONG"
    print(f"{mark:5}  {c['prompt']}{c['completion']!r}   (expected {c['expected']!r})")
