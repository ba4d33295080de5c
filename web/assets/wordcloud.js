// The projector's word cloud: words sized by count (square root scale), the
// most frequent in the middle, each placed on an Archimedean spiral clear of
// the words already placed. A word keeps its place between tallies while it
// still fits there; only new words and words that grew into a neighbour are
// placed again. Elements are kept and updated in place, so CSS transitions
// move and resize them without flicker. Also the word normalisation the
// server counts words under (tests/fixtures/words.json holds it to the server's).

import { clear, el, setText } from './dom.js';
import { hashText, numberOr } from './format.js';

// The white space the server's normalisation collapses: Unicode White_Space,
// as Rust's str::split_whitespace knows it (JavaScript's \s differs: it takes
// U+FEFF and leaves U+0085).
const WHITE_SPACE = /[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/;

// The form under which the server counts a word: trimmed, inner white space
// collapsed to one space, lower case, NFC.
export function normaliseWord(s) {
  const text = String(s === undefined || s === null ? '' : s);
  return text.split(WHITE_SPACE).filter(Boolean).join(' ').toLowerCase().normalize('NFC');
}

// A stable small hash of a text, to scatter words without randomness (in format.js, which
// the phone loads without the cloud).
export { hashText };

const CLOUD_MARGIN = 2;      // px kept free along the edges of the field

// Space kept around a word's box, as a share of its font size.
function gapX(size) { return 0.22 * size + 2; }
function gapY(size) { return 0.06 * size + 2; }

export function Cloud(root) {
  var self = this;
  this.root = root;
  this.field = el('div', { className: 'cloud-field' });
  this.probe = el('div', { className: 'cloud-probe', 'aria-hidden': 'true' });
  this.field.appendChild(this.probe);
  root.appendChild(this.field);
  this.nodes = {};       // key -> {el, text, colour}
  this.spots = {};       // key -> {x, y}: centre of the word, in px from the field's centre
  this.widths = {};      // 'text|size' -> {w, h} measured in the page's own font
  this.words = [];
  this.size = '';
  this.frame = null;
  if (typeof window.ResizeObserver === 'function') {
    this.observer = new window.ResizeObserver(function () {
      var size = self.field.clientWidth + 'x' + self.field.clientHeight;
      if (size === self.size || self.frame) return;
      self.frame = window.requestAnimationFrame(function () {
        self.frame = null;
        self.render(self.words);
      });
    });
    this.observer.observe(this.field);
  }
}

Cloud.prototype.destroy = function () {
  if (this.observer) this.observer.disconnect();
  if (this.frame) window.cancelAnimationFrame(this.frame);
  this.observer = null;
  this.frame = null;
};

// Box sizes of the words at the given font sizes, measured in one layout pass.
Cloud.prototype.measure = function (items, sizes) {
  var self = this;
  var wanted = [];
  if (Object.keys(this.widths).length > 4000) this.widths = {};
  items.forEach(function (it, i) {
    var id = it.text + '|' + sizes[i];
    if (!self.widths[id] && wanted.indexOf(id) === -1) wanted.push(id);
  });
  if (wanted.length) {
    clear(this.probe);
    var spans = wanted.map(function (id) {
      var cut = id.lastIndexOf('|');
      var span = el('span', { text: id.slice(0, cut) });
      span.style.fontSize = id.slice(cut + 1) + 'px';
      self.probe.appendChild(span);
      return span;
    });
    spans.forEach(function (span, i) {
      var r = span.getBoundingClientRect();
      self.widths[wanted[i]] = { w: r.width, h: r.height };
    });
    clear(this.probe);
  }
  return items.map(function (it, i) { return self.widths[it.text + '|' + sizes[i]]; });
};

function overlaps(a, b) {
  return a.l < b.r && b.l < a.r && a.t < b.b && b.t < a.b;
}

// Index of a box in placed that a overlaps, or -1.
function collide(a, placed, hint) {
  if (hint >= 0 && hint < placed.length && overlaps(a, placed[hint])) return hint;
  for (var i = 0; i < placed.length; i++) if (overlaps(a, placed[i])) return i;
  return -1;
}

// One layout attempt at fixed font sizes. Returns null when a word finds no room
// (unless dropping is allowed, then the words that do not fit are left out).
function placeWords(items, sizes, boxes, W, Hh, spots, step, allowDrop) {
  var placed = [];           // collision boxes, gaps included
  var out = [];
  var fresh = [];
  function box(cx, cy, i) {
    var w = boxes[i].w;
    var h = boxes[i].h;
    var gx = gapX(sizes[i]) / 2;
    var gy = gapY(sizes[i]) / 2;
    return {
      l: cx - w / 2 - gx, r: cx + w / 2 + gx, t: cy - h / 2 - gy, b: cy + h / 2 + gy,
      inside: cx - w / 2 >= CLOUD_MARGIN && cx + w / 2 <= W - CLOUD_MARGIN &&
        cy - h / 2 >= CLOUD_MARGIN && cy + h / 2 <= Hh - CLOUD_MARGIN
    };
  }
  // Words already on screen stay where they are when they still fit there.
  items.forEach(function (it, i) {
    var spot = spots[it.key];
    if (spot) {
      var b = box(W / 2 + spot.x, Hh / 2 + spot.y, i);
      if (b.inside && collide(b, placed, -1) === -1) {
        placed.push(b);
        out[i] = { x: spot.x, y: spot.y };
        return;
      }
    }
    fresh.push(i);
  });
  // The others walk out from the middle on a spiral flattened to the field's shape.
  var spacing = step * 1.6;
  var a = spacing / (2 * Math.PI);
  var ey = Hh / W;
  var maxR = Math.sqrt(2) * W / 2 + spacing;
  for (var n = 0; n < fresh.length; n++) {
    var i = fresh[n];
    var turn = (Math.abs(hashText(items[i].key)) % 628) / 100;
    var t = 0;
    var hint = -1;
    var found = null;
    for (;;) {
      var r = a * t;
      if (r > maxR) break;
      var x = W / 2 + r * Math.cos(t + turn);
      var y = Hh / 2 + r * ey * Math.sin(t + turn);
      var b = box(x, y, i);
      if (b.inside) {
        hint = collide(b, placed, hint);
        if (hint === -1) { found = b; break; }
      }
      t += step / Math.max(r, step);
    }
    if (!found) {
      if (!allowDrop) return null;
      continue;
    }
    placed.push(found);
    out[i] = { x: x - W / 2, y: y - Hh / 2 };
  }
  return out;
}

Cloud.prototype.render = function (words) {
  var self = this;
  this.words = words;
  var W = this.field.clientWidth;
  var Hh = this.field.clientHeight;
  this.size = W + 'x' + Hh;
  // Not laid out while hidden: the resize observer calls again once there is room.
  if (W < 60 || Hh < 40) return;

  // One item per normalised word; the server already merges them, this only guards.
  var byKey = {};
  var items = [];
  words.forEach(function (w) {
    var text = String(w && w.text !== undefined ? w.text : '').replace(/\s+/g, ' ').trim();
    var key = normaliseWord(text);
    if (!key) return;
    var count = Math.max(0, numberOr(w.count, 0));
    if (byKey[key]) { byKey[key].count += count; return; }
    byKey[key] = { key: key, text: text, count: count };
    items.push(byKey[key]);
  });
  items.sort(function (a, b) { return b.count - a.count || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0); });

  var layout = items.length ? this.layout(items, W, Hh) : { spots: [], sizes: [] };

  // Update in place: no element is rebuilt, so moves and size changes animate.
  var keep = {};
  items.forEach(function (it, i) {
    var spot = layout.spots[i];
    if (!spot) return;
    keep[it.key] = true;
    self.spots[it.key] = spot;
    var node = self.nodes[it.key];
    if (!node) {
      node = { el: el('span', { className: 'cloud-word cloud-c' + (Math.abs(hashText(it.key)) % 6) }) };
      self.nodes[it.key] = node;
      self.field.appendChild(node.el);
    }
    setText(node.el, it.text);
    node.el.setAttribute('title', String(it.count));
    node.el.dataset.count = String(it.count);
    node.el.style.fontSize = layout.sizes[i] + 'px';
    node.el.style.transform = 'translate(' + (W / 2 + spot.x).toFixed(1) + 'px,' +
      (Hh / 2 + spot.y).toFixed(1) + 'px) translate(-50%,-50%)';
  });
  Object.keys(this.nodes).forEach(function (key) {
    if (keep[key]) return;
    var word = self.nodes[key].el;
    if (word.parentNode) word.parentNode.removeChild(word);
    delete self.nodes[key];
    delete self.spots[key];
  });
  this.field.classList.toggle('is-empty', !items.length);
};

// Font sizes and centres for items (sorted by count, most first) in a W x Hh field.
Cloud.prototype.layout = function (items, W, Hh) {
  var maxF = Math.min(Hh * 0.2, W * 0.1);
  var minF = Math.max(12, Math.min(maxF * 0.3, Hh * 0.045));
  var top = items[0].count || 1;
  var ref = this.measure(items, items.map(function () { return 100; }));
  var base = [];
  var area = 0;
  items.forEach(function (it, i) {
    var s = minF + (maxF - minF) * Math.sqrt(Math.max(0, it.count) / top);
    // A long word is made smaller until it fits across the field.
    s = Math.min(s, 100 * (W - 2 * CLOUD_MARGIN - 4) / Math.max(1, ref[i].w));
    s = Math.min(s, 100 * (Hh - 2 * CLOUD_MARGIN - 4) / Math.max(1, ref[i].h));
    // Never larger than a word counted more often.
    if (i > 0) s = Math.min(s, base[i - 1]);
    base.push(s);
    area += (ref[i].w * s / 100 + gapX(s)) * (ref[i].h * s / 100 + gapY(s));
  });
  // Start from sizes that can fill about half the field, then shrink until all fit.
  var k = Math.min(1, Math.sqrt((0.62 * W * Hh) / Math.max(1, area)));
  var attempts = 14;
  for (var n = 0; n < attempts; n++) {
    var sizes = base.map(function (s) { return Math.max(6, Math.floor(s * k * 2) / 2); });
    var boxes = this.measure(items, sizes);
    var step = Math.max(3, Math.min(10, sizes[sizes.length - 1] * 0.3));
    var spots = placeWords(items, sizes, boxes, W, Hh, this.spots, step, n === attempts - 1);
    if (spots) return { spots: spots, sizes: sizes };
    k *= 0.88;
  }
  return { spots: [], sizes: [] };
};
