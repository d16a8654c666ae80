# Are a name's nearest neighbours, in the model's own vectors, names of the same kind?
import json

from guide import artifact, change  # the build's files; words for a change between two shares

names_map = json.loads(artifact("name_map.json"))   # the build's map of the world's names
groups = [g["name"] for g in names_map["groups"]]
sizes = [g["count"] for g in names_map["groups"]]
n = sum(sizes)
last = names_map["n_layer"]                          # the model's number of blocks
pieces = names_map["pieces"]                         # how many tokens spell each name
print(f"{n} names, spelled with {min(pieces)} to {max(pieces)} tokens each")

# a neighbour picked at random among the other names is of the same kind this often
chance = sum(k * (k - 1) for k in sizes) / (n * (n - 1))
same_share, kept = {}, {}
for view in names_map["views"]:                      # depth 0 is the last piece's own row: no block yet
    layer, points = view["layer"], view["points"]
    same = [sum(points[j]["group"] == p["group"] for j, _ in p["neighbours"]) / len(p["neighbours"])
            for p in points]
    same_share[layer] = sum(same) / n
    kept[layer] = sum(view["explained"])             # share of the spread the map's two directions keep
    print(f"\n{layer} of {last} blocks run: neighbours of the same kind {same_share[layer]:.0%}"
          f" (at random {chance:.0%}); the map keeps {kept[layer]:.0%} of the spread")
    for g, name in enumerate(groups):
        mine = [s for s, p in zip(same, points) if p["group"] == g]
        print(f"  {name:17} {len(mine):3} names  same kind: {sum(mine) / len(mine):4.0%}")
