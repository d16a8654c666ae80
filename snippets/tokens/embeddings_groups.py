# Are a token's nearest neighbours (in all dimensions) of the same kind as the token?
points = {p["id"]: p for p in emb_map["points"]}
groups = [g["name"] for g in emb_map["groups"]]
n = len(points)
same = total = 0
for g, name in enumerate(groups):
    mine = [p for p in points.values() if p["group"] == g]
    # neighbours that never occur in the training text are not on the map: skip them
    near = [points[j]["group"] for p in mine for j, _ in p["neighbours"] if j in points]
    chance = (len(mine) - 1) / (n - 1)     # a neighbour picked at random among the other points
    print(f"{name:33} {len(mine):4} tokens  same kind: {near.count(g) / len(near):4.0%}  (at random: {chance:3.0%})")
    same, total = same + near.count(g), total + len(near)
same_share = same / total
chance_share = sum(k * (k - 1) for k in (g["count"] for g in emb_map["groups"])) / (n * (n - 1))
