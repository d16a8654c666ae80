// Choosing the next token: the build's sampler (model_export/decoding.py, and its
// compact copy in run.py), draw for draw, with everything it did kept so that the
// demos can show it. Pure functions, no DOM: the random numbers, softmax, the
// ranking of token ids, temperature/top-k/top-p, and the draw.
// tests/test_sampling_twins.py checks that a seed gives the same tokens here.

const MASK64 = (1n << 64n) - 1n;

// xorShift(seed): llama2.c's random numbers (xorshift64*, Vigna 2016), the same
// stream as decoding.XorShift. Returns rng() -> a float in [0, 1). The 64-bit
// state is a BigInt: one call per token, so its cost does not matter. The state
// must never be 0 (it would stay 0), so seed s starts it at s + 1.
export function xorShift(seed = 0) {
  const ok = typeof seed === "bigint" || Number.isSafeInteger(seed);
  if (!ok || seed < 0 || BigInt(seed) >= MASK64) {
    throw new RangeError(`seed must be a whole number from 0 to 2**64 - 2, got ${seed}`);
  }
  let s = BigInt(seed) + 1n;
  return function rng() {
    s ^= s >> 12n;
    s ^= (s << 25n) & MASK64;
    s ^= s >> 27n;
    // the top 24 bits of the scrambled product: exact in float32 and float64 alike
    return Number(((s * 0x2545f4914f6cdd1dn) & MASK64) >> 40n) / 16777216;
  };
}

function softmax(values, temperature = 1) {
  let max = -Infinity;
  for (const v of values) if (v > max) max = v;
  const out = new Float64Array(values.length);
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    out[i] = Math.exp((values[i] - max) / temperature);
    sum += out[i];
  }
  for (let i = 0; i < out.length; i++) out[i] /= sum;
  return out;
}

// Token ids 0..V-1 ordered by values[id], highest first, ties by the lower id
// (numpy's stable argsort of -values). `keys` must rank the ids as values does
// (values a non-decreasing function of keys: logits for their softmax). When keys
// is a Float32Array (the model's logits) the ids are radix-sorted on the floats'
// bits (stable, so equal keys stay in id order), then runs of equal values
// (probabilities that rounded to 0) are put in id order, and a last pass with the
// exact comparison leaves nothing to chance. For V = 512 this is several times
// faster than Array.sort with a comparator, with the same result.
export function rankIds(values, keys = values) {
  const V = values.length;
  const exact = (a, b) => values[b] - values[a] || a - b;
  if (!(keys instanceof Float32Array) || keys.length !== V) {
    return Array.from({ length: V }, (_, i) => i).sort(exact);
  }
  const bits = new Uint32Array(keys.buffer, keys.byteOffset, V);
  let k = new Uint32Array(V);
  let ids = new Int32Array(V);
  let k2 = new Uint32Array(V);
  let ids2 = new Int32Array(V);
  for (let i = 0; i < V; i++) {
    const u = bits[i];
    k[i] = ~(u & 0x80000000 ? ~u : u | 0x80000000); // descending float order, as unsigned integers
    ids[i] = i;
  }
  const count = new Int32Array(256);
  for (let shift = 0; shift < 32; shift += 8) { // least significant byte first
    count.fill(0);
    for (let i = 0; i < V; i++) count[(k[i] >>> shift) & 255]++;
    if (count[(k[0] >>> shift) & 255] === V) continue; // all keys share this byte
    let sum = 0;
    for (let b = 0; b < 256; b++) {
      const c = count[b];
      count[b] = sum;
      sum += c;
    }
    for (let i = 0; i < V; i++) {
      const at = count[(k[i] >>> shift) & 255]++;
      k2[at] = k[i];
      ids2[at] = ids[i];
    }
    [k, k2] = [k2, k];
    [ids, ids2] = [ids2, ids];
  }
  for (let i = 0; i < V;) { // equal values (different keys): id order
    let j = i + 1;
    while (j < V && values[ids[j]] === values[ids[i]]) j++;
    if (j - i > 1) ids.subarray(i, j).sort();
    i = j;
  }
  const order = new Array(V);
  for (let i = 0; i < V; i++) order[i] = ids[i];
  for (let i = 1; i < V; i++) { // insertion pass: a no-op unless the keys misranked something
    const id = order[i];
    let j = i - 1;
    while (j >= 0 && exact(order[j], id) > 0) {
      order[j + 1] = order[j];
      j--;
    }
    order[j + 1] = id;
  }
  return order;
}

// Everything about one choice. temperature 0 = greedy. Returns
// {order (ids, most probable first), probs (softmax of the raw logits),
//  scaled (softmax of logits / temperature), kept (Set of ids still allowed),
//  final (Map id -> renormalised probability), cutBy (Map id -> "top-k" | "top-p")}.
export function distribution(logits, { temperature = 1, topK = 0, topP = 1 } = {}) {
  const V = logits.length;
  const greedy = !(temperature > 0);
  if (greedy) {
    // The choice needs only the argmax; the rest is computed if a display asks for it.
    let best = 0; // np.argmax: the first maximum
    for (let i = 1; i < V; i++) if (logits[i] > logits[best]) best = i;
    const final = new Map([[best, 1]]);
    const cutBy = new Map();
    let probs = null;
    let order = null;
    return {
      get probs() { return probs || (probs = softmax(logits, 1)); },
      get scaled() { return this.probs; },
      get order() { return order || (order = rankIds(logits)); },
      kept: new Set([best]), final, cutBy, greedy, chosenByArgmax: best,
    };
  }
  const probs = softmax(logits, 1);
  const scaled = temperature === 1 ? probs : softmax(logits, temperature);
  const order = rankIds(scaled, logits); // most probable first; ties keep the lower id first
  const nCand = topK > 0 && topK < V ? topK : V; // top-k keeps order[0 .. nCand)
  let keptSum = 0;
  for (let i = 0; i < nCand; i++) keptSum += scaled[order[i]];
  // the smallest prefix whose share of the kept probability reaches top_p
  let cum = 0;
  let n = nCand;
  for (let i = 0; i < nCand; i++) {
    cum += scaled[order[i]] / keptSum;
    if (cum >= topP) {
      n = i + 1;
      break;
    }
  }
  let sum = 0;
  for (let i = 0; i < n; i++) sum += scaled[order[i]];
  const final = new Map();
  for (let i = 0; i < n; i++) final.set(order[i], scaled[order[i]] / sum);
  let cutBy = null; // which rule cut each other id: built if a display asks
  return {
    order, probs, scaled, kept: new Set(final.keys()), final, greedy,
    get cutBy() {
      if (!cutBy) {
        cutBy = new Map();
        for (let i = nCand; i < V; i++) cutBy.set(order[i], "top-k");
        for (let i = n; i < nCand; i++) cutBy.set(order[i], "top-p");
      }
      return cutBy;
    },
  };
}

// Pick from a distribution(); rng() in [0, 1). Returns {id, draw, lo, hi} where the
// draw fell in [lo, hi), the chosen token's slice of the cumulative probabilities.
export function choose(dist, rng) {
  if (dist.greedy) return { id: dist.chosenByArgmax, draw: null };
  const u = rng();
  let lo = 0;
  let last = null;
  for (const [id, p] of dist.final) {
    const hi = lo + p;
    if (u < hi) return { id, draw: u, lo, hi };
    lo = hi;
    if (p > 0) last = id;
  }
  // rounding left the draw past the last edge: the last token with a nonzero
  // probability (a token of probability 0 is never chosen)
  return { id: last, draw: u, lo: lo - dist.final.get(last), hi: 1 };
}
