# The same transcript as one text, in the format this site's agent is trained on.
# Special tokens mark who speaks; the model writes the "model" lines, the loop the rest.
import json
from guide import artifact              # the build's files: a file at build time, a download in the browser

USER, ASSISTANT, TOOL, EOT = "<|user|>", "<|assistant|>", "<|tool|>", "<|endoftext|>"

def pieces(transcript):
    """(who writes it, text) pairs; thoughts left out, as in the training transcripts."""
    out = []
    for role, text in transcript:
        if role == "user":
            out.append(("loop", USER + text + ASSISTANT))
        elif role == "assistant":
            action = text.splitlines()[-1]         # drop the "Thought: ..." line
            out.append(("model", action + (EOT if action.startswith("Final Answer:") else TOOL)))
        else:                                      # a tool's observation
            out.append(("loop", text + ASSISTANT))
    return out

for who, text in pieces(transcript):
    print(f"{who:>5}: {text}")
full_text = "".join(text for _, text in pieces(transcript))
model_chars = sum(len(text) for who, text in pieces(transcript) if who == "model")
print(f"\n{len(full_text)} characters, {model_chars} of them written by the model")
window = json.loads(artifact("report.json"))["model"]["block_size"]
print(f"this site's model reads at most {window} tokens at a time")
