# The agent loop. The model here is SCRIPTED: its turns are written in advance
# (below), standing in for what a trained model would write. The loop and the
# tools are real: the numbers in the transcript come from running them.
import json

QUESTION = "How many goals did Lionel Messi score in 2023, and what is its square root?"
TOOLS = {"search": search, "calculator": calculator}

def first_number(text):
    return re.search(r"\d+(?:\.\d+)?", text).group()

# One scripted turn per step. Each sees the latest observation and copies from
# it what the model would have to copy (the 11, then the 3.32).
SCRIPT = [
    lambda seen: "Thought: first I need the number of goals.\n"
                 + json.dumps({"tool": "search", "query": "Lionel Messi goals 2023"}),
    lambda seen: "Thought: now its square root.\n"
                 + json.dumps({"tool": "calculator", "expression": f"sqrt({first_number(seen)})"}),
    lambda seen: f"Thought: that answers the question.\nFinal Answer: {seen}",
]

def scripted_model(step, seen):
    return SCRIPT[step](seen)

def run_agent(model, question, max_steps=5):
    transcript = [("user", question)]
    seen = question
    for step in range(max_steps):
        turn = model(step, seen)                   # think, then act or answer
        transcript.append(("assistant", turn))
        action = turn.splitlines()[-1]
        if action.startswith("Final Answer:"):
            return transcript, action.removeprefix("Final Answer:").strip()
        call = json.loads(action)                  # act: {"tool": ..., argument}
        tool = call.pop("tool")
        [argument] = call.values()
        seen = TOOLS[tool](argument)               # observe
        transcript.append((tool, seen))        # the tool's name as the speaker
    return transcript, None                        # out of steps: give up, never loop forever

transcript, answer = run_agent(scripted_model, QUESTION)
for role, text in transcript:
    for i, line in enumerate(text.splitlines()):
        print(f"{role if i == 0 else '':>10} | {line}")
print(f"\nanswer: {answer}   (sqrt(11) = {math.sqrt(11):.6f}, rounded to 2 decimals)")
