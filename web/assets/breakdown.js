// A question's results broken down by the groups of a segment question, as
// the projector and the phone show them once revealed: one panel per group,
// headed by the segment option's text and the group's size, with a bar per
// answer within the group (count and share; a scale's steps in the ramp; a
// ranking in the group's own order, its places in the ramp). A group under
// the anonymity floor comes without numbers from the server, and is shown
// by its name alone. Panels and rows are kept between updates, so the bars
// move in place as tallies arrive.

import { clear, el, setText } from './dom.js';
import { optionColour, paint, textColourFor } from './colour.js';
import { letter, numberOr, optionLabel, pct } from './format.js';
import { i18n, t } from './i18n.js';
import { rampColour } from './ramp.js';
import { paintPlace } from './results.js';


// Columns for n panels: side by side up to three, then in even rows.
function columns(n) {
  if (n <= 3) return Math.max(1, n);
  if (n === 4) return 2;
  if (n <= 6) return 3;
  return 4;
}

// The rows of question q: [{key, label, colour, value}], one per option or scale step.
function itemsOf(q, loc) {
  if (q.kind === 'scale') {
    const min = numberOr(q.min, 1);
    const max = Math.max(min, numberOr(q.max, 5));
    const out = [];
    for (let v = min; v <= max; v++) {
      out.push({ key: String(v), label: '', colour: rampColour(v - min, max - min + 1) });
    }
    return out;
  }
  const options = loc && Array.isArray(loc.options) ? loc.options : (Array.isArray(q.options) ? q.options : []);
  return options.map(function (o, i) {
    return { key: letter(i), label: optionLabel(o), option: optionColour(q, i) };
  });
}

/* new Breakdown(container, {legend: bool}); .update(view) with view:
 * {q, loc, seg, segLoc, groups, minGroup}: the question and its texts as shown,
 * the segment question and its texts, the tally's `groups`, the session's floor.
 * legend: the option letters are explained once above the panels (the projector);
 * else each row carries its option's text (the phone). */
export class Breakdown {
  constructor(container, options) {
    this.root = container;
    // The container's own classes (the page's), kept beside the breakdown's.
    this.own = container.className.split(/\s+/).filter(function (c) { return c && !/^bd(-|$)/.test(c); }).join(' ');
    this.legend = !!(options && options.legend);
    this.key = null;
    this.panels = [];
    this.note = null;
  }

  reset() {
    clear(this.root);
    this.key = null;
    this.panels = [];
    this.note = null;
  }

  update(view) {
    const q = view.q;
    const seg = view.seg;
    const groups = Array.isArray(view.groups) ? view.groups : [];
    const segOptions = view.segLoc && Array.isArray(view.segLoc.options) ? view.segLoc.options
      : (seg && Array.isArray(seg.options) ? seg.options : []);
    const items = itemsOf(q, view.loc);
    const key = [q.kind, i18n.lang, q.id, JSON.stringify(items), seg ? seg.id : '', JSON.stringify(segOptions),
      groups.length, view.segLoc ? view.segLoc.prompt : ''].join('|');
    if (key !== this.key) {
      this.reset();
      this.key = key;
      this.build(q, view, items, segOptions, groups.length);
    }
    const self = this;
    let hidden = 0;
    this.panels.forEach(function (panel, i) {
      const g = groups[i] || { option: i, suppressed: true };
      if (g.suppressed) hidden++;
      self.fill(panel, q, items, g);
    });
    this.note.hidden = !hidden;
    setText(this.note, t('Hidden: groups of fewer than {n} people, and the next smallest where it would give them away.', { n: view.minGroup }));
  }

  // Makes the text smaller, step by step, until the panels fit the container's height (the
  // projector's stage: many groups or many answers must still make one slide), but not below
  // `least` px. From the stylesheet's size each time, so it grows back when there is room.
  fit(least) {
    const root = this.root;
    root.style.fontSize = '';
    if (root.hidden || !root.clientHeight) return;
    let size = parseFloat(getComputedStyle(root).fontSize);
    while (root.scrollHeight > root.clientHeight + 1 && size > least) {
      size = Math.max(least, size * 0.92);
      root.style.fontSize = size.toFixed(1) + 'px';
    }
  }

  build(q, view, items, segOptions, count) {
    const root = this.root;
    root.className = (this.own ? this.own + ' ' : '') + 'bd bd-' + q.kind + (this.legend ? ' bd-with-legend' : '');
    const segPrompt = view.segLoc && view.segLoc.prompt ? view.segLoc.prompt : (view.seg ? view.seg.prompt : '');
    root.appendChild(el('p', { className: 'bd-title', text: t('By group: {question}', { question: segPrompt }) }));
    if (this.legend && q.kind !== 'scale') {
      const legend = el('ul', { className: 'bd-legend', 'aria-label': t('Answers') });
      items.forEach(function (it) {
        const chip = el('span', { className: 'bd-key', text: it.key });
        paint(chip, it.option);
        legend.appendChild(el('li', {}, [chip, el('span', { className: 'bd-legend-label', text: it.label })]));
      });
      root.appendChild(legend);
    }
    if (q.kind === 'scale' && (q.min_label || q.max_label)) {
      const ends = [];
      if (q.min_label) ends.push(items[0].key + ' = ' + q.min_label);
      if (q.max_label) ends.push(items[items.length - 1].key + ' = ' + q.max_label);
      root.appendChild(el('p', { className: 'bd-ends', text: ends.join(' · ') }));
    }
    const grid = el('div', { className: 'bd-groups' });
    grid.style.setProperty('--bd-cols', String(columns(count)));
    for (let i = 0; i < count; i++) {
      const panel = this.panel(q, items, i < segOptions.length ? optionLabel(segOptions[i]) : t('Group {letter}', { letter: letter(i) }), i);
      this.panels.push(panel);
      grid.appendChild(panel.el);
    }
    root.appendChild(grid);
    this.note = el('p', { className: 'bd-note', hidden: true });
    root.appendChild(this.note);
  }

  panel(q, items, name, index) {
    const size = el('span', { className: 'bd-size' });
    const mean = el('p', { className: 'bd-mean', hidden: true });
    const rowsBox = el('div', { className: 'bd-rows' });
    const hiddenText = el('p', { className: 'bd-hidden', text: t('hidden'), hidden: true });
    const legend = this.legend;
    const rows = items.map(function (it, i) {
      const keyChip = el('span', { className: 'bd-key', text: it.key });
      if (it.option) paint(keyChip, it.option);
      else { keyChip.style.backgroundColor = it.colour; keyChip.style.color = textColourFor(it.colour); }
      const place = q.kind === 'ranking' ? el('span', { className: 'bd-place' }) : null;
      const fill = el('span', { className: 'bd-fill' });
      fill.style.backgroundColor = it.option ? it.option.bg : it.colour;
      const count = el('b', { className: 'bd-count' });
      const share = el('span', { className: 'bd-pct' });
      const label = !legend && it.label ? el('span', { className: 'bd-label', text: it.label }) : null;
      const row = el('div', { className: 'bd-row', dataset: { item: String(i) } }, [
        place,
        keyChip,
        el('div', { className: 'bd-bar' }, [label, el('span', { className: 'bd-track' }, [fill])]),
        el('span', { className: 'bd-num' }, [count, ' ', share])
      ]);
      rowsBox.appendChild(row);
      return { row: row, fill: fill, count: count, share: share, place: place, index: i };
    });
    const panel = el('section', { className: 'bd-group', dataset: { option: String(index) } }, [
      el('h3', { className: 'bd-head' }, [el('span', { className: 'bd-name', text: name }), size]),
      mean,
      rowsBox,
      hiddenText
    ]);
    return { el: panel, size: size, mean: mean, rowsBox: rowsBox, hiddenText: hiddenText, rows: rows };
  }

  fill(panel, q, items, g) {
    const suppressed = !!g.suppressed;
    panel.el.classList.toggle('is-suppressed', suppressed);
    panel.el.dataset.suppressed = suppressed ? 'true' : 'false';
    panel.hiddenText.hidden = !suppressed;
    // Nothing of a hidden group stays on the page, not even in a hidden node: its rows leave.
    if (suppressed && panel.rowsBox.parentNode) panel.el.removeChild(panel.rowsBox);
    if (!suppressed && !panel.rowsBox.parentNode) panel.el.insertBefore(panel.rowsBox, panel.hiddenText);
    if (suppressed) {
      setText(panel.size, '');
      setText(panel.mean, '');
      panel.mean.hidden = true;
      panel.rows.forEach(function (r) {
        r.fill.style.width = '0%';
        setText(r.count, '');
        setText(r.share, '');
        if (r.place) setText(r.place, '');
      });
      return;
    }
    const voters = numberOr(g.voters, 0);
    setText(panel.size, ' · ' + t(voters === 1 ? '{n} person' : '{n} people', { n: voters }));
    if (q.kind === 'ranking') return this.ranking(panel, items, g, voters);
    const counts = Array.isArray(g.counts) ? g.counts : [];
    panel.rows.forEach(function (r, i) {
      const c = numberOr(counts[i], 0);
      const p = pct(c, voters);
      r.fill.style.width = p + '%';
      setText(r.count, c);
      setText(r.share, p + '%');
    });
    const mean = q.kind === 'scale' && typeof g.mean === 'number' && voters ? g.mean : null;
    panel.mean.hidden = mean === null;
    setText(panel.mean, mean === null ? '' : t('average {n}', { n: Math.round(mean * 10) / 10 }));
  }

  // A ranking within one group: its options in the group's order, with their points.
  ranking(panel, items, g, voters) {
    const scores = Array.isArray(g.scores) ? g.scores : [];
    const most = voters * Math.max(1, items.length - 1);
    const order = panel.rows.slice().sort(function (a, b) {
      return numberOr(scores[b.index], 0) - numberOr(scores[a.index], 0) || a.index - b.index;
    });
    order.forEach(function (r, pos) {
      const s = numberOr(scores[r.index], 0);
      r.fill.style.width = (most ? Math.round((s / most) * 100) : 0) + '%';
      setText(r.place, (pos + 1) + '.');
      paintPlace(r.place, pos, order.length);
      setText(r.count, '');
      setText(r.share, t(s === 1 ? '{n} point' : '{n} points', { n: s }));
      if (panel.rowsBox.children[pos] !== r.row) panel.rowsBox.insertBefore(r.row, panel.rowsBox.children[pos] || null);
    });
  }
}
