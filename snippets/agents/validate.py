# The guide's example: does {"name": "John Doe", "age": 34} match the schema?
import json

SCHEMA = {"name": "string", "age": "integer"}

def check(value, schema):
    """What is wrong with `value` for a flat schema like SCHEMA ([] = nothing)."""
    if not isinstance(value, dict):
        return ["not an object"]
    problems = [f"missing {key!r}" for key in schema if key not in value]
    problems += [f"unexpected {key!r}" for key in value if key not in schema]
    for key, kind in schema.items():
        if key in value:
            v = value[key]
            ok = isinstance(v, str) if kind == "string" else isinstance(v, int) and not isinstance(v, bool)
            if not ok:
                problems.append(f"{key!r} should be {'a string' if kind == 'string' else 'an integer'}, got {v!r}")
    return problems

output = '{"name": "John Doe", "age": 34}'
value = json.loads(output)
print(f"{output}: parses to {value}, problems: {check(value, SCHEMA)}")
print(f"the character mask accepts all of it: {is_complete(output)}")

for text in ['{"name": "John Doe", "age": "34"}', '{"name": "John Doe"}', '{"name": "John Doe", "age": 34.5}',
             '{"name": "", "age": 0}', '{"name": "Zq9", "age": -7}']:
    print(f"{text:34} problems: {check(json.loads(text), SCHEMA)}, mask accepts it: {is_complete(text)}")
