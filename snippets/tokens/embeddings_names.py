# How many of the small world's names have a row of their own in the model's table?
import json
from guide import artifact

emb_map = json.loads(artifact("embedding_map.json"))   # the build's map of the embedding table


def shown(pieces):                                     # a name's tokens, with spaces as ␣
    return "·".join(pieces).replace(" ", "␣")


for kind, splits in emb_map["names"].items():          # each name as the tokens it is made of
    whole = sum(len(pieces) == 1 for pieces in splits)
    print(f"{kind:9}  {whole:2} of {len(splits)} are a single token   e.g. {shown(splits[0])}")

vocab_size, width = emb_map["vocab_size"], emb_map["n_embd"]
one_token_names = sum(len(pieces) == 1 for splits in emb_map["names"].values() for pieces in splits)
all_names = sum(len(splits) for splits in emb_map["names"].values())
split_country = next(pieces for pieces in emb_map["names"]["countries"] if len(pieces) > 1)
