// The embedding map: every token the pre-trained model read, drawn where PCA puts
// its row of the embedding table, coloured by what kind of token it is.
//
// Markup (registered in widgets.js, so this module loads only on pages that have it):
//
//   <div class="lab embedding-map"></div>
//   <div class="lab embedding-map" data-file="name_map.json"></div>
//
// The data is assets/model/embedding_map.json, written by the build
// (sitebuild/embedding_map.py): for each token on the map its group, its two
// PCA coordinates and its five nearest neighbours by cosine similarity in the
// full embedding space; the token texts of the whole vocabulary; the share of
// the variance the two directions carry. It is fetched only when the map comes
// near the viewport (or the reader presses "Show the map").
//
// data-file picks another map of the same shape: name_map.json holds the
// world's names (countries, capitals, ...) as the model's layers represent
// them, one view per depth ("views", the last block's last), with a switch
// between them. Its point ids index its "tokens", the names.
//
// Hover (mouse) previews a point, a click or tap picks it, the select picks one
// with the keyboard. For tests the root carries data-state (idle, loading,
// ready, error), data-selected (the picked point's id) and, on the name map,
// data-layer (the depth shown).

import { LoadError, modelJSON } from "./assets.js";
import { el, loadWithStatus, showToken } from "./dom.js";

export const MAP_FILE = "embedding_map.json";
const SVG_NS = "http://www.w3.org/2000/svg";
// Okabe and Ito's colour-blind-safe palette (its yellow is too pale on white), then grey;
// every group also has its own shape, so colour is never the only cue.
const COLOURS = ["#E69F00", "#56B4E9", "#009E73", "#0072B2", "#D55E00", "#CC79A7", "#888888"];
const SHAPES = ["circle", "square", "triangle", "diamond", "down", "plus", "cross"];
const R = 4.2;           // marker half-size, px
const PAD = 14;          // margin inside the drawing, px
const HOVER_PX = 14;     // a mouse this close to a point previews it
const TAP_PX = 26;       // a finger this close picks it
const LABEL_EVERY_PX = 34; // about one label per this many px of width

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  node.append(...children);
  return node;
}

// A marker of `shape` centred at (x, y) with half-size r, as an SVG path.
export function shapePath(shape, x, y, r) {
  const f = (n) => n.toFixed(1);
  switch (shape) {
    case "square": return `M${f(x - r)} ${f(y - r)}h${f(2 * r)}v${f(2 * r)}h${f(-2 * r)}z`;
    case "triangle": return `M${f(x)} ${f(y - 1.2 * r)}L${f(x + 1.1 * r)} ${f(y + 0.9 * r)}H${f(x - 1.1 * r)}z`;
    case "down": return `M${f(x)} ${f(y + 1.2 * r)}L${f(x + 1.1 * r)} ${f(y - 0.9 * r)}H${f(x - 1.1 * r)}z`;
    case "diamond": return `M${f(x)} ${f(y - 1.3 * r)}L${f(x + 1.3 * r)} ${f(y)}L${f(x)} ${f(y + 1.3 * r)}L${f(x - 1.3 * r)} ${f(y)}z`;
    case "plus": {
      const t = r * 0.45;
      return `M${f(x - t)} ${f(y - r)}h${f(2 * t)}v${f(r - t)}h${f(r - t)}v${f(2 * t)}h${f(t - r)}v${f(r - t)}h${f(-2 * t)}v${f(t - r)}h${f(t - r)}v${f(-2 * t)}h${f(r - t)}z`;
    }
    case "cross": {
      const t = r * 0.35;
      return `M${f(x - r)} ${f(y - r + t)}L${f(x - r + t)} ${f(y - r)}L${f(x)} ${f(y - t)}L${f(x + r - t)} ${f(y - r)}L${f(x + r)} ${f(y - r + t)}L${f(x + t)} ${f(y)}`
        + `L${f(x + r)} ${f(y + r - t)}L${f(x + r - t)} ${f(y + r)}L${f(x)} ${f(y + t)}L${f(x - r + t)} ${f(y + r)}L${f(x - r)} ${f(y + r - t)}L${f(x - t)} ${f(y)}z`;
    }
    default: return `M${f(x - r)} ${f(y)}a${f(r)} ${f(r)} 0 1 0 ${f(2 * r)} 0a${f(r)} ${f(r)} 0 1 0 ${f(-2 * r)} 0`;
  }
}

function swatch(group) {
  return svg("svg", { class: "emap-swatch", viewBox: "0 0 12 12", width: 12, height: 12, "aria-hidden": "true" },
    svg("path", { d: shapePath(SHAPES[group], 6, 6, 4.5), fill: COLOURS[group] }));
}

// The map's JSON, checked enough that a wrong file gives a message, not a broken drawing.
// A map with views shows its last view first.
export function checkMap(data, file = MAP_FILE) {
  const views = data?.views;
  if (Array.isArray(views) && views.length && views.every((v) => Array.isArray(v?.points))) Object.assign(data, views[views.length - 1]);
  const ok = data && data.version === 1 && Array.isArray(data.points) && data.points.length > 0
    && Array.isArray(data.tokens) && Array.isArray(data.groups) && Array.isArray(data.explained);
  if (!ok) throw new LoadError(file, "it is not an embedding map this page can read");
  return data;
}

class EmbeddingMap {
  constructor(root) {
    this.root = root;
    this.file = root.dataset.file || MAP_FILE;
    this.data = null;
    this.selected = null; // the picked point (an entry of data.points)
    this.preview = null;  // the point under the mouse, if any
    this.width = 0;
    this.status = el("p", { class: "lab-status", role: "status", "aria-live": "polite" },
      "The map loads when it scrolls into view.");
    this.showBtn = el("button", { type: "button", class: "lab-button lab-primary", onclick: () => this.load() }, "Show the map");
    this.body = el("div", { class: "emap-body" });
    root.textContent = "";
    root.append(el("div", { class: "lab-buttons" }, this.showBtn), this.status, this.body);
    root.dataset.state = "idle";
    if ("IntersectionObserver" in window) {
      this.observer = new IntersectionObserver((entries) => {
        if (entries.some((e) => e.isIntersecting)) this.load();
      }, { rootMargin: "200px 0px" });
      this.observer.observe(root);
    }
  }

  async load() {
    if (this.loading) return this.loading;
    this.observer?.disconnect();
    this.showBtn.disabled = true;
    this.root.dataset.state = "loading";
    this.loading = (async () => {
      try {
        this.data = await loadWithStatus(this.status, "the map",
          async (onProgress) => checkMap(await modelJSON(this.file, { onProgress }), this.file),
          { retry: () => this.load() });
        this.names = this.data.kind === "names";
        this.byId = new Map(this.data.points.map((p) => [p.id, p]));
        this.showBtn.parentElement?.remove();
        this.build();
        this.root.dataset.state = "ready";
      } catch (err) {
        this.root.dataset.state = "error";
        this.status.classList.add("lab-error");
        if (!(err instanceof LoadError)) this.status.textContent = `The map could not be drawn: ${err.message || err}`;
        this.loading = null; // the status offers Retry (loadWithStatus)
      }
    })();
    return this.loading;
  }

  name(id) {
    const text = this.data.tokens[id] ?? `#${id}`;
    return this.names ? text : showToken(text);
  }

  describe() {
    const d = this.data;
    const [a, b] = d.explained.map((e) => `${(100 * e).toFixed(0)}%`);
    const what = this.names ? `${d.points.length} names, ${d.layer === 0 ? "each as the table's row for its last piece (plus its position), before any block"
      : `as the model holds them at each name's last token after block ${d.layer} of ${d.n_layer}`}.`
      : `${d.points.length} tokens of ${d.vocab_size}.`;
    this.status.textContent = `${what} Left to right is the direction along which`
      + ` the points spread most (${a} of their spread in all ${d.n_embd} dimensions), top to bottom the next (${b}).`;
  }

  // The name map: show the view of another depth, keeping the picked point.
  showView(k) {
    const d = this.data;
    Object.assign(d, d.views[k]);
    this.byId = new Map(d.points.map((p) => [p.id, p]));
    if (this.selected) this.selected = this.byId.get(this.selected.id) ?? null;
    this.preview = null;
    this.root.dataset.layer = String(d.layer);
    this.describe();
    this.draw();
  }

  build() {
    const d = this.data;
    this.describe();
    const legend = el("ul", { class: "emap-legend", "aria-label": "Groups" },
      d.groups.map((g, i) => el("li", {}, swatch(i), ` ${g.name} (${g.count})`)));
    const selectId = `emap-select-${Math.random().toString(36).slice(2, 8)}`;
    this.select = el("select", { id: selectId, class: "emap-select emap-tokens", onchange: () => this.pick(this.select.value === "" ? null : this.byId.get(Number(this.select.value)) ?? null) },
      el("option", { value: "" }, "(none)"),
      d.groups.map((g, i) => el("optgroup", { label: g.name },
        d.points.filter((p) => p.group === i).sort((p, q) => q.count - p.count)
          .map((p) => el("option", { value: p.id }, this.name(p.id))))));
    // The name map's depths, as a row of radio buttons (the last block's first checked).
    const viewsId = `${selectId}-views`;
    const views = Array.isArray(d.views) && d.views.length > 1 ? el("fieldset", { class: "emap-views" },
      el("legend", { class: "lab-label" }, "Show the names"),
      d.views.map((v, k) => el("label", {}, el("input", {
        type: "radio", name: viewsId, value: String(v.layer), checked: k === d.views.length - 1 ? "" : undefined,
        onchange: () => this.showView(k),
      }), v.layer === 0 ? " last piece's row only" : ` after block ${v.layer}`))) : null;
    if (views) this.root.dataset.layer = String(d.layer);
    // The world's names are several tokens each: this list shows where their pieces lie.
    this.idOf = new Map(d.tokens.map((t, i) => [t, i]));
    const nameId = `${selectId}-name`;
    this.nameSelect = el("select", { id: nameId, class: "emap-select emap-names", onchange: () => this.pickName(this.nameSelect.value) },
      el("option", { value: "" }, "(none)"),
      Object.entries(d.names || {}).map(([kind, splits]) => el("optgroup", { label: kind },
        splits.map((pieces, i) => el("option", { value: `${kind}:${i}` }, pieces.join("").trim())))));
    this.figure = el("div", { class: "emap-figure" });
    this.info = el("div", { class: "emap-info", "aria-live": "polite" });
    const noun = this.names ? "name" : "token";
    this.body.replaceChildren(legend, views ?? "",
      el("div", { class: "emap-pick" }, el("label", { for: selectId, class: "lab-label" }, `Pick a ${noun} (or point at one on the map)`), this.select),
      d.names ? el("div", { class: "emap-pick" }, el("label", { for: nameId, class: "lab-label" }, "Or see where the pieces of a name lie"), this.nameSelect) : "",
      this.figure, this.info);
    this.draw();
    this.showInfo(null);
    if ("ResizeObserver" in window) {
      new ResizeObserver(() => {
        if (Math.abs(this.figure.clientWidth - this.width) > 8) this.draw();
      }).observe(this.figure);
    }
  }

  // Lay the points out for the figure's current width: same scale on both axes
  // (PCA coordinates are distances), height what the data needs, within limits.
  draw() {
    const d = this.data;
    const W = Math.max(240, Math.floor(this.figure.clientWidth || 600));
    this.width = W;
    const xs = d.points.map((p) => p.x);
    const ys = d.points.map((p) => p.y);
    const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
    const maxH = Math.max(260, Math.min(W * 1.1, 560));
    const s = Math.min((W - 2 * PAD) / (x1 - x0 || 1), (maxH - 2 * PAD) / (y1 - y0 || 1));
    const H = Math.ceil((y1 - y0) * s + 2 * PAD);
    const left = (W - (x1 - x0) * s) / 2;
    for (const p of d.points) {
      p.px = left + (p.x - x0) * s;
      p.py = PAD + (y1 - p.y) * s; // up is positive, as on a graph
    }
    this.H = H;
    const marks = svg("g", { class: "emap-points" });
    for (const p of d.points) {
      marks.append(svg("path", { d: shapePath(SHAPES[p.group], p.px, p.py, R), fill: COLOURS[p.group], "data-id": p.id }));
    }
    this.svg = svg("svg", {
      class: "emap-svg", viewBox: `0 0 ${W} ${H}`, width: "100%", role: "img",
      "aria-label": this.names ? `Map of ${d.points.length} names as the model represents them ${d.layer ? `after block ${d.layer}` : "before any block"}; pick a name in the list above to see its neighbours`
        : `Map of ${d.points.length} token embeddings; pick a token in the list above to see its neighbours`,
    }, svg("g", { class: "emap-links" }), marks, this.labels(W, H), svg("g", { class: "emap-marks" }));
    this.svg.addEventListener("pointermove", (e) => {
      if (e.pointerType !== "mouse") return;
      const p = this.nearestTo(e, HOVER_PX);
      if (p !== this.preview) {
        this.preview = p;
        if (p) {
          this.highlight(p);
          this.showInfo(p);
        } else this.restore();
      }
    });
    this.svg.addEventListener("pointerleave", () => {
      if (!this.preview) return;
      this.preview = null;
      this.restore();
    });
    this.svg.addEventListener("click", (e) => {
      const p = this.nearestTo(e, TAP_PX);
      if (p) this.pick(p);
    });
    this.figure.replaceChildren(this.svg);
    this.restore();
  }

  // Show what the reader picked: a token, a name's pieces, or nothing.
  restore() {
    if (this.pieces) {
      this.highlightName(this.pieces);
      this.showNameInfo(this.pieces);
    } else {
      this.highlight(this.selected);
      this.showInfo(this.selected);
    }
  }

  // Labels for a few points: the most frequent token of each group in turn, each
  // placed only where it overlaps no other label and stays inside the picture.
  labels(W, H) {
    const g = svg("g", { class: "emap-labels", "aria-hidden": "true" });
    const queues = this.data.groups.map((_, i) => this.data.points.filter((p) => p.group === i).sort((p, q) => (q.count ?? 0) - (p.count ?? 0)));
    const boxes = [];
    const max = Math.round(W / LABEL_EVERY_PX);
    for (let round = 0; boxes.length < max && queues.some((q) => q.length); round++) {
      for (const q of queues) {
        const p = q.shift();
        if (!p || boxes.length >= max) continue;
        const text = this.name(p.id);
        const w = 6.4 * text.length + 2;
        const box = { x: p.px + R + 2, y: p.py - 7, w, h: 12 };
        if (box.x + w > W - 2) box.x = p.px - R - 2 - w;
        if (box.x < 2 || box.y < 1 || box.y + box.h > H - 1) continue;
        if (boxes.some((o) => box.x < o.x + o.w && o.x < box.x + box.w && box.y < o.y + o.h && o.y < box.y + box.h)) continue;
        boxes.push(box);
        g.append(svg("text", { x: box.x.toFixed(1), y: (box.y + 10).toFixed(1) }, text));
      }
    }
    return g;
  }

  nearestTo(event, radiusPx) {
    const rect = this.svg.getBoundingClientRect();
    const k = this.width / rect.width; // screen px -> drawing units
    const x = (event.clientX - rect.left) * k;
    const y = (event.clientY - rect.top) * k;
    let best = null;
    let bestD = (radiusPx * k) ** 2;
    for (const p of this.data.points) {
      const dd = (p.px - x) ** 2 + (p.py - y) ** 2;
      if (dd < bestD) [best, bestD] = [p, dd];
    }
    return best;
  }

  pick(p) {
    this.selected = p;
    this.preview = null;
    this.root.dataset.selected = p ? String(p.id) : "";
    if (this.select.value !== String(p?.id ?? "")) this.select.value = p ? String(p.id) : "";
    if (p && this.nameSelect) this.setPieces(null);
    this.restore();
  }

  // value "countries:0": that name's tokens (as data.names lists them); "" for none.
  pickName(value) {
    const [kind, i] = value.split(":");
    const pieces = value ? this.data.names[kind]?.[Number(i)] ?? null : null;
    if (pieces) this.pick(null);
    this.setPieces(pieces);
    this.restore();
  }

  setPieces(pieces) {
    this.pieces = pieces;
    if (!this.data.names) return;
    this.root.dataset.name = pieces ? pieces.join("").trim() : "";
    if (!pieces && this.nameSelect.value) this.nameSelect.value = "";
  }

  // Number the name's pieces on the map, joined in reading order.
  highlightName(pieces) {
    const links = this.svg.querySelector(".emap-links");
    const marks = this.svg.querySelector(".emap-marks");
    links.replaceChildren();
    marks.replaceChildren();
    const points = pieces.map((t) => this.byId.get(this.idOf.get(t))).filter(Boolean);
    if (points.length > 1) {
      links.append(svg("polyline", { class: "emap-path", points: points.map((q) => `${q.px.toFixed(1)},${q.py.toFixed(1)}`).join(" ") }));
    }
    points.forEach((q, k) => {
      marks.append(svg("circle", { class: "emap-ring", cx: q.px.toFixed(1), cy: q.py.toFixed(1), r: R + 4 }));
      marks.append(svg("text", { class: "emap-pick-label", x: (q.px + R + 6).toFixed(1), y: (q.py - R - 3).toFixed(1) },
        `${k + 1} ${showToken(pieces[k])}`));
    });
  }

  showNameInfo(pieces) {
    const name = pieces.join("").trim();
    const kinds = pieces.map((t) => {
      const q = this.byId.get(this.idOf.get(t));
      return q ? this.data.groups[q.group].name : "not on the map";
    });
    this.info.replaceChildren(
      el("p", {}, `“${name}” (written with the space before it, as inside a sentence) is `,
        pieces.length === 1 ? "a single token, with a row of its own." : `${pieces.length} tokens, numbered on the map; the table has a row for each piece and none for the whole name:`),
      pieces.length > 1 ? el("ol", { class: "emap-pieces" }, pieces.map((t, k) => el("li", {},
        el("span", { class: "emap-token" }, showToken(t)), ` (${kinds[k]})`))) : null);
  }

  // Ring the point and its neighbours that are on the map, with a line to each.
  highlight(p) {
    if (!this.svg) return;
    const links = this.svg.querySelector(".emap-links");
    const marks = this.svg.querySelector(".emap-marks");
    links.replaceChildren();
    marks.replaceChildren();
    if (!p) return;
    for (const [id] of p.neighbours) {
      const q = this.byId.get(id);
      if (!q) continue;
      links.append(svg("line", { x1: p.px.toFixed(1), y1: p.py.toFixed(1), x2: q.px.toFixed(1), y2: q.py.toFixed(1) }));
      marks.append(svg("circle", { class: "emap-ring-neighbour", cx: q.px.toFixed(1), cy: q.py.toFixed(1), r: R + 3 }));
    }
    marks.append(svg("circle", { class: "emap-ring", cx: p.px.toFixed(1), cy: p.py.toFixed(1), r: R + 4 }));
    // its name beside it, on whichever side has room
    const text = this.name(p.id);
    const right = p.px + R + 8 + 7 * text.length < this.width;
    marks.append(svg("text", { class: "emap-pick-label", x: (right ? p.px + R + 7 : p.px - R - 7).toFixed(1),
      y: (p.py - R - 4).toFixed(1), "text-anchor": right ? "start" : "end" }, text));
  }

  showInfo(p) {
    if (!p) {
      this.info.replaceChildren(el("p", {}, `Point at a ${this.names ? "name" : "token"} (or tap it) to see its nearest neighbours.`));
      return;
    }
    const d = this.data;
    const group = d.groups[p.group].name;
    const rows = p.neighbours.map(([id, sim], r) => el("tr", { "data-id": id },
      el("td", {}, String(r + 1)),
      el("td", { class: "emap-token" }, this.name(id)),
      el("td", {}, sim.toFixed(3)),
      el("td", {}, this.names ? d.groups[this.byId.get(id)?.group]?.name ?? ""
        : this.byId.has(id) ? "" : "not on the map (never in the training text)")));
    const about = this.names ? ` (${group}, ${d.pieces?.[p.id] ?? "?"} tokens). Nearest of the names in all ${d.n_embd} dimensions, by cosine similarity:`
      : ` (token ${p.id}, ${group}, ${p.count.toLocaleString("en")} times in the training text). `
        + `Nearest in all ${d.n_embd} dimensions, by cosine similarity:`;
    this.info.replaceChildren(
      el("p", {}, el("strong", { class: "emap-token" }, this.name(p.id)), about),
      el("div", { class: "lab-scroll" }, el("table", { class: "emap-table", "data-query": p.id },
        el("thead", {}, el("tr", {}, el("th", {}, "rank"), el("th", {}, this.names ? "name" : "token"), el("th", {}, "cosine"),
          el("th", {}, this.names ? "group" : "note"))),
        el("tbody", {}, rows))));
  }
}

export function mountEmbeddingMap(root) {
  if (root.dataset.mounted !== undefined) return null;
  root.dataset.mounted = "";
  return new EmbeddingMap(root);
}
