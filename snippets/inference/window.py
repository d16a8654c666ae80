# The context window of this site's model, and what sliding it means.
import json
from guide import artifact              # the build's files: a file at build time, a download in the browser

window = json.loads(artifact("report.json"))["model"]["block_size"]

text = [f"t{i}" for i in range(1, window + 11)]   # a text 10 tokens longer than the window
seen = text[-window:]                              # all the model can read
forgotten = text[:len(text) - window]
print(f"window: {window} tokens; text: {len(text)} tokens")
print(f"the model sees {seen[0]} .. {seen[-1]}")
print(f"forgotten: {forgotten[0]} .. {forgotten[-1]} ({len(forgotten)} tokens)")
