# Two tools an agent can call. Each takes the text the model wrote and returns
# text for the model to read next: a search over a few facts, and a calculator.
import math
import re

FACTS = [
    "Lionel Messi scored 11 goals in 2023.",   # the figure agent explainers use, kept to match them
    "Lionel Messi plays for Inter Miami.",
    "The capital of France is Paris.",
    "The capital of Japan is Tokyo.",
]

def words(text):
    return set(re.findall(r"[a-z0-9]+", text.lower()))

def search(query):
    """The fact sharing the most words with the query (at least two of them)."""
    best, best_shared = "No results.", 1
    for fact in FACTS:
        shared = len(words(query) & words(fact))
        if shared > best_shared:
            best, best_shared = fact, shared
    return best

def calculator(expression):
    """Numbers, + - * /, parentheses and sqrt(...). Never eval(): see below."""
    if len(expression) > 100:
        return "Error: expression too long"   # also bounds how deep the parser can recurse
    tokens = re.findall(r"\d+(?:\.\d+)?|[A-Za-z_]\w*|\S", expression)
    pos = 0

    def peek():
        return tokens[pos] if pos < len(tokens) else "end of input"

    def take(expected=None):
        nonlocal pos
        token = peek()
        if expected is not None and token != expected:
            raise ValueError(f"expected {expected!r}, found {token!r}")
        pos += 1
        return token

    def sum_():                               # term (+ or - term)...
        value = product()
        while peek() in ("+", "-"):
            if take() == "+":
                value += product()
            else:
                value -= product()
        return value

    def product():                            # factor (* or / factor)...
        value = factor()
        while peek() in ("*", "/"):
            if take() == "*":
                value *= factor()
            else:
                divisor = factor()
                if divisor == 0:
                    raise ValueError("division by zero")
                value /= divisor
        return value

    def factor():                             # number, -factor, (sum) or sqrt(sum)
        token = take()
        if re.fullmatch(r"\d+(?:\.\d+)?", token):
            return float(token)
        if token == "-":
            return -factor()
        if token == "(":
            value = sum_()
            take(")")
            return value
        if token == "sqrt":
            take("(")
            value = sum_()
            take(")")
            if value < 0:
                raise ValueError("square root of a negative number")
            return math.sqrt(value)
        raise ValueError(f"unexpected {token!r}")

    try:
        value = sum_()
        if pos < len(tokens):
            raise ValueError(f"unexpected {peek()!r}")
    except ValueError as error:
        return f"Error: {error}"               # an error is an observation too
    return f"{round(value, 2):.2f}".rstrip("0").rstrip(".")

print("search('Lionel Messi goals 2023') ->", repr(search("Lionel Messi goals 2023")))
print("search('Messi age') ->", repr(search("Messi age")))
for text in ["2 + 3 * 4", "(2 + 3) * 4", "sqrt(11)", "1 / 0", '__import__("os").remove("notes.txt")']:
    print(f"calculator({text!r}) -> {calculator(text)!r}")
