# Constrained decoding, character by character, for the schema
# {"name": "string", "age": "integer"}: which next characters keep the output
# completable into a valid document? (A toy: its strings take no escapes.)
import string

# The documents this schema allows, in the layout json.dumps writes:
# {"name": "<any text>", "age": <whole number>}
TEMPLATE = ['{"name": ', "string", ', "age": ', "integer", "}"]
DIGITS = "0123456789"

def read(text):
    """Read `text` left to right: where in TEMPLATE it ends, or None if no valid document starts so."""
    part, i, value = 0, 0, ""                # which part, how far into it, the value so far
    pos = 0
    while pos < len(text):
        if part == len(TEMPLATE):
            return None                      # the document is already finished
        c, kind = text[pos], TEMPLATE[part]
        if kind == "string":
            if value == "":
                if c != '"':
                    return None
                value = '"'
            elif c == '"':
                part, value = part + 1, ""   # the closing quote ends the string
            elif c == "\\" or ord(c) < 32:
                return None                  # no escapes or control characters in this toy
            else:
                value += c
        elif kind == "integer":
            digits = value.lstrip("-")
            if c in DIGITS and digits != "0":
                value += c                   # a digit (but none after a leading 0)
            elif c == "-" and value == "":
                value = "-"
            elif digits:
                part, value = part + 1, ""   # the number is over: the next part reads c
                continue
            else:
                return None
        else:                                # fixed text: must match exactly
            if c != kind[i]:
                return None
            i += 1
            if i == len(kind):
                part, i = part + 1, 0
        pos += 1
    return part, i, value

def can_complete(text):
    return read(text) is not None

def is_complete(text):
    state = read(text)
    return state is not None and state[0] == len(TEMPLATE)

CHARACTERS = [c for c in string.printable if c not in "\t\n\r\x0b\x0c"]   # the 95 printable ASCII

def allowed(prefix):
    return [c for c in CHARACTERS if can_complete(prefix + c)]

def show(chars):
    if len(chars) > 20:
        return "all but " + " ".join(c for c in CHARACTERS if c not in chars)
    return " ".join(chars)

for prefix in ['', '{"', '{"name": "Jo', '{"name": "John Doe", "age": ',
               '{"name": "John Doe", "age": 0', '{"name": "John Doe", "age": 3']:
    ok = allowed(prefix)
    print(f"after {prefix!r:32} {len(ok):2} of {len(CHARACTERS)} allowed: {show(ok)}")
