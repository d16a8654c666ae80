# What the agent loop does with a tool call: json.loads, then check its shape.
# Five things a model might write when it means to search; only one is usable.
import json

def read_call(text):
    """The call as a dict, or the reason the loop cannot use it."""
    try:
        call = json.loads(text)
    except json.JSONDecodeError as error:
        return f"not JSON ({error.msg})"
    if not isinstance(call, dict) or call.get("tool") != "search":
        return "JSON, but not a search call"
    if not isinstance(call.get("query"), str) or set(call) != {"tool", "query"}:
        return "JSON, but the query is missing or not a string"
    return call

attempts = [
    '{"tool": "search", "query": "Lionel Messi goals 2023"}',
    '{"tool": "search", "query": "Lionel Messi goals 2023"',
    "{'tool': 'search', 'query': 'Lionel Messi goals 2023'}",
    'Sure! I will search: {"tool": "search", "query": "Messi goals"}',
    '{"tool": "search", "query": 2023}',
]
for text in attempts:
    print(f"{text}\n    -> {read_call(text)}")
usable = sum(isinstance(read_call(t), dict) for t in attempts)
