// The results of a question as the console, the projector and the phone show
// them: bars (single, multiple), a histogram with the mean (scale), ranked
// bars (ranking), words (a flowed line, or the projector's cloud) and a wall
// of answers (open). Rows are kept between updates so CSS transitions animate.
// Options take the categorical palette; ordered values (a scale's steps, a
// ranking's places) take the ramp, so their order shows in the colours too.

import { clear, el, setText } from './dom.js';
import { optionColour, paint, textColourFor } from './colour.js';
import { rampColour } from './ramp.js';
import { hashText, letter, numberOr, optionLabel, pct } from './format.js';
import { i18n, t } from './i18n.js';

/* new Results(container, {layout: 'spiral'|'flow', Cloud}); .update(question, localized, tally, opts)
 * opts: {showCorrect: bool}. The spiral layout takes the Cloud class of wordcloud.js from the
 * page (the projector), so the phone and the console do not load it. */
export class Results {
  constructor(container, options) {
    this.root = container;
    this.key = null;
    this.rows = [];
    this.extra = null;
    this.cloud = null;
    // layout: 'spiral' lays word clouds out as a real cloud (the projector); else a wrapped line of words.
    this.Cloud = options && options.Cloud;
    this.layout = options && options.layout === 'spiral' && this.Cloud ? 'spiral' : 'flow';
  }

  reset() {
    if (this.cloud) this.cloud.destroy();
    this.cloud = null;
    clear(this.root);
    this.rows = [];
    this.key = null;
    this.extra = null;
  }

  update(q, loc, tally, opts) {
    opts = opts || {};
    const kind = q.kind;
    const options = loc ? loc.options : (q.options || []);
    const key = kind + '|' + i18n.lang + '|' + q.id + '|' + JSON.stringify(options) + '|' + q.min + '|' + q.max + '|' + JSON.stringify(q.colours || null);
    if (key !== this.key) {
      this.reset();
      this.key = key;
      this.root.className = 'results results-' + kind;
    }
    const voters = tally ? numberOr(tally.voters, 0) : 0;
    if (kind === 'single' || kind === 'multiple') this.bars(q, options, tally, voters, opts);
    else if (kind === 'scale') this.histogram(q, tally, voters);
    else if (kind === 'ranking') this.ranking(q, options, tally, voters);
    else if (kind === 'wordcloud') this.words(tally);
    else if (kind === 'open') this.entries(tally);
  }

  barRow(label, colour, letterText) {
    const fill = el('span', { className: 'res-fill' });
    const count = el('b', { className: 'res-count' });
    const pctNode = el('span', { className: 'res-pct' });
    const mark = el('span', { className: 'res-correct', hidden: true, text: t('✓ correct') });
    const labelNode = el('span', { className: 'res-label' });
    const letterNode = letterText ? el('span', { className: 'res-letter', text: letterText }) : null;
    const row = el('div', { className: 'res-row' }, [
      letterNode,
      el('div', { className: 'res-body' }, [
        el('div', { className: 'res-head' }, [labelNode, mark]),
        el('span', { className: 'res-track' }, [fill])
      ]),
      el('span', { className: 'res-num' }, [count, pctNode])
    ]);
    if (colour) {
      fill.style.backgroundColor = colour.bg;
      if (letterNode) paint(letterNode, colour);
    }
    setText(labelNode, label);
    return { row: row, fill: fill, count: count, pct: pctNode, mark: mark, label: labelNode };
  }

  bars(q, options, tally, voters, opts) {
    const self = this;
    const counts = tally && Array.isArray(tally.counts) ? tally.counts : [];
    const correct = opts.showCorrect && Array.isArray(q.correct) ? q.correct : [];
    if (!this.rows.length) {
      options.forEach(function (o, i) {
        const r = self.barRow(optionLabel(o), optionColour(q, i), letter(i));
        r.row.dataset.option = String(i);
        self.rows.push(r);
        self.root.appendChild(r.row);
      });
    }
    this.rows.forEach(function (r, i) {
      const c = numberOr(counts[i], 0);
      const p = pct(c, voters);
      r.fill.style.width = p + '%';
      setText(r.count, c);
      setText(r.pct, p + '%');
      const isCorrect = correct.indexOf(i) !== -1;
      r.mark.hidden = !isCorrect;
      r.row.classList.toggle('is-correct', isCorrect);
      r.row.classList.toggle('is-wrong', correct.length > 0 && !isCorrect);
    });
  }

  histogram(q, tally, voters) {
    const self = this;
    const min = numberOr(q.min, 1);
    let max = numberOr(q.max, 5);
    if (max < min) max = min;
    const counts = tally && Array.isArray(tally.counts) ? tally.counts : [];
    if (!this.rows.length) {
      const cols = el('div', { className: 'hist-cols' });
      for (let v = min; v <= max; v++) {
        const fill = el('span', { className: 'hist-fill' });
        const count = el('span', { className: 'hist-count' });
        const col = el('div', { className: 'hist-col' }, [
          count,
          el('span', { className: 'hist-track' }, [fill]),
          el('span', { className: 'hist-value', text: String(v) })
        ]);
        fill.style.backgroundColor = rampColour(v - min, max - min + 1);
        self.rows.push({ fill: fill, count: count });
        cols.appendChild(col);
      }
      const marker = el('div', { className: 'hist-mean', hidden: true, 'aria-hidden': 'true' });
      const meanText = el('span', { className: 'hist-mean-text' });
      const labels = el('div', { className: 'hist-labels' }, [
        el('span', { className: 'hist-end', text: q.min_label || '' }),
        meanText,
        el('span', { className: 'hist-end', text: q.max_label || '' })
      ]);
      const wrap = el('div', { className: 'hist-wrap' }, [cols, marker]);
      this.root.appendChild(wrap);
      this.root.appendChild(labels);
      this.extra = { marker: marker, meanText: meanText };
    }
    let top = 0;
    this.rows.forEach(function (r, i) { top = Math.max(top, numberOr(counts[i], 0)); });
    this.rows.forEach(function (r, i) {
      const c = numberOr(counts[i], 0);
      r.fill.style.height = (top ? Math.round((c / top) * 100) : 0) + '%';
      setText(r.count, c);
      r.count.setAttribute('title', pct(c, voters) + '%');
    });
    const mean = tally && typeof tally.mean === 'number' ? tally.mean : null;
    const marker = this.extra.marker;
    if (mean === null || !voters) {
      marker.hidden = true;
      setText(this.extra.meanText, '');
    } else {
      marker.hidden = false;
      const n = max - min + 1;
      marker.style.left = (((mean - min + 0.5) / n) * 100) + '%';
      setText(this.extra.meanText, t('average {n}', { n: Math.round(mean * 10) / 10 }));
    }
  }

  ranking(q, options, tally, voters) {
    const self = this;
    const scores = tally && Array.isArray(tally.scores) ? tally.scores : [];
    if (!this.rows.length) {
      options.forEach(function (o, i) {
        const r = self.barRow(optionLabel(o), optionColour(q, i), letter(i));
        r.index = i;
        self.rows.push(r);
      });
    }
    const maxScore = voters * Math.max(1, options.length - 1);
    const order = this.rows.slice().sort(function (a, b) {
      return numberOr(scores[b.index], 0) - numberOr(scores[a.index], 0) || a.index - b.index;
    });
    order.forEach(function (r, pos) {
      const s = numberOr(scores[r.index], 0);
      // The first place takes the top of the ramp.
      paintPlace(r.count, pos, order.length);
      r.fill.style.width = (maxScore ? Math.round((s / maxScore) * 100) : 0) + '%';
      setText(r.count, (pos + 1) + '.');
      setText(r.pct, t(s === 1 ? '{n} point' : '{n} points', { n: s }));
      if (self.root.children[pos] !== r.row) self.root.insertBefore(r.row, self.root.children[pos] || null);
    });
  }

  words(tally) {
    let words = tally && Array.isArray(tally.words) ? tally.words.slice(0, 100) : [];
    if (this.layout === 'spiral') {
      if (!this.cloud) this.cloud = new this.Cloud(this.root);
      this.cloud.render(words);
      return;
    }
    clear(this.root);
    if (!words.length) return;
    let top = 1;
    words.forEach(function (w) { top = Math.max(top, numberOr(w.count, 0)); });
    // Stable, shuffled-looking order so the biggest words are not all at the top.
    words = words.slice().sort(function (a, b) { return hashText(String(a.text)) - hashText(String(b.text)); });
    const cloud = el('div', { className: 'cloud' });
    words.forEach(function (w) {
      const c = numberOr(w.count, 0);
      const size = 1 + 2.6 * Math.sqrt(c / top);
      const span = el('span', { className: 'cloud-word', title: String(c), text: String(w.text) });
      span.style.fontSize = size.toFixed(2) + 'em';
      span.className += ' cloud-c' + (Math.abs(hashText(String(w.text))) % 6);
      cloud.appendChild(span);
    });
    this.root.appendChild(cloud);
  }

  entries(tally) {
    const entries = tally && Array.isArray(tally.entries) ? tally.entries : [];
    clear(this.root);
    const wall = el('div', { className: 'wall' });
    entries.forEach(function (e) {
      wall.appendChild(el('div', { className: 'wall-card' }, [
        el('p', { text: String(e.text || '') })
      ]));
    });
    this.root.appendChild(wall);
  }
}

// A ranking's place (0 = first) of n, in the ramp's colour for it.
export function paintPlace(node, pos, n) {
  const bg = rampColour(n - 1 - pos, n);
  node.classList.add('res-place');
  node.style.backgroundColor = bg;
  node.style.color = textColourFor(bg);
}
