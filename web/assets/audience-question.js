// A question on the phone: its prompt, state and countdown, the controls to
// answer it (one builder per kind), what this phone's answer is doing, and the
// results once revealed. The page (audience.js) hands each view `phone`: this
// phone's ballots, pending answers, drafts and errors, and what to do with them.

import { el, on, setText } from './dom.js';
import { letter, optionLabel, formatRemaining } from './format.js';
import { optionColour, paint } from './colour.js';
import { t } from './i18n.js';
import { Results } from './results.js';
import { breakdownOf } from './by-group.js';
import { clock } from './time.js';

/* phone: {pending, drafts, errors (question id -> ...), selectionOf(qid), hasBallot(qid),
 *         draftOf(qid), submit(qid, op, choice), statusFor(q), tagFor(qid), tallyOf(qid), render(),
 *         questions(), localize(q), minGroup()} */
export function QuestionView(q, loc, defKey, phone) {
  this.phone = phone;
  this.id = q.id;
  this.defKey = defKey;
  this.q = q;
  this.loc = loc;
  this.prompt = el('h2', { className: 'q-prompt', text: loc.prompt });
  this.stateBadge = el('span', { className: 'q-state' });
  this.timer = el('span', { className: 'q-timer', hidden: true });
  // The countdown read out at a few steps only, not every second.
  this.timerLive = el('span', { className: 'visually-hidden', role: 'timer', 'aria-live': 'polite', 'aria-atomic': 'true' });
  this.timerStep = null;
  this.hint = el('p', { className: 'q-hint' });
  this.body = el('div', { className: 'q-body' });
  this.status = el('p', { className: 'q-status', role: 'status', 'aria-live': 'polite' });
  this.resultsBox = el('div');
  this.voters = el('p', { className: 'q-voters' });
  this.results = new Results(this.resultsBox);
  // The results by group, below the results, when the question is shown broken down.
  this.breakdownBox = el('div', { className: 'q-breakdown', hidden: true });
  // Drawn by breakdown.js, loaded the first time a breakdown is shown.
  this.breakdown = null;
  this.resultsSection = el('section', { className: 'q-results', hidden: true, 'aria-label': t('Results') }, [
    el('h3', { text: t('Results') }), this.voters, this.resultsBox, this.breakdownBox
  ]);
  this.el = el('section', { className: 'q', lang: loc.lang || undefined, dataset: { qid: q.id, kind: q.kind } }, [
    el('div', { className: 'q-meta' }, [this.stateBadge, this.timer, this.timerLive]),
    this.prompt,
    this.hint,
    this.body,
    this.status,
    this.resultsSection
  ]);
  let builder = BUILDERS[q.kind];
  this.refresh = builder ? builder(this, q, loc) : unsupported(this);
}

QuestionView.prototype.update = function (q) {
  const phone = this.phone;
  this.q = q;
  this.el.dataset.state = q.state;
  setText(this.stateBadge, q.state === 'open' ? t('Voting open') : t('Voting closed'));
  this.refresh(q);
  setText(this.status, phone.statusFor(q));
  this.status.dataset.tone = phone.errors[q.id] ? 'bad' : (phone.pending[q.id] ? 'busy' : (phone.hasBallot(q.id) ? 'ok' : ''));
  let tally = phone.tallyOf(q.id);
  let showResults = !!q.results_visible;
  this.resultsSection.hidden = !showResults;
  if (showResults) {
    let voters = tally && typeof tally.voters === 'number' ? tally.voters : 0;
    setText(this.voters, t(voters === 1 ? '{n} person answered' : '{n} people answered', { n: voters }));
    this.results.update(q, this.loc, tally, {
      showCorrect: q.state === 'closed' && Array.isArray(q.correct)
    });
  }
  const byGroup = showResults ? breakdownOf(q, tally, phone.questions()) : null;
  this.breakdownBox.hidden = !byGroup;
  if (byGroup) {
    this.drawBreakdown({
      q: q, loc: this.loc, seg: byGroup.seg, segLoc: byGroup.seg ? phone.localize(byGroup.seg) : null,
      groups: byGroup.groups, minGroup: phone.minGroup()
    });
  }
  this.tick();
};

// The module that draws breakdowns: most sessions never show one, so the
// phone's first load leaves it out and fetches it once, when one is shown.
let breakdownModule = null;
let breakdownLoading = null;
function loadBreakdown() {
  if (!breakdownLoading) {
    breakdownLoading = import('./breakdown.js').then(function (m) {
      breakdownModule = m;
      return m;
    }, function (err) {
      // A failed fetch (the network came and went) is tried again at the next update.
      breakdownLoading = null;
      throw err;
    });
  }
  return breakdownLoading;
}

// Draws view (see breakdown.js) now, or as soon as the module is here; only
// the latest view is drawn.
QuestionView.prototype.drawBreakdown = function (view) {
  const self = this;
  this.breakdownView = view;
  if (breakdownModule) {
    if (!this.breakdown) this.breakdown = new breakdownModule.Breakdown(this.breakdownBox);
    this.breakdown.update(view);
    return;
  }
  loadBreakdown().then(function () {
    if (self.breakdownView === view) self.drawBreakdown(view);
  }, function () { /* tried again at the next update */ });
};

QuestionView.prototype.tick = function () {
  let q = this.q;
  if (q.state === 'open' && typeof q.closes_at === 'number') {
    let left = q.closes_at - clock.now();
    this.timer.hidden = false;
    setText(this.timer, left > 0 ? t('closes in {time}', { time: formatRemaining(left) }) : t('closing…'));
    this.timer.classList.toggle('is-urgent', left < 10000);
    let secs = Math.ceil(left / 1000);
    let step = secs <= 0 ? 0 : secs <= 10 ? 10 : secs <= 30 ? 30 : secs <= 60 ? 60 : null;
    if (step !== this.timerStep) {
      this.timerStep = step;
      setText(this.timerLive, step === null ? '' : step === 0 ? t('closing…') : t('closes in {time}', { time: formatRemaining(step * 1000) }));
    }
  } else {
    this.timer.hidden = true;
    this.timerStep = null;
    setText(this.timerLive, '');
  }
};

function unsupported(view) {
  view.body.appendChild(el('p', { text: t('This kind of question cannot be answered on this page yet.') }));
  return function () {};
}

/* single and scale: tap to vote, tap again to take it back */
function tapCards(view, q, items, gridClass) {
  let phone = view.phone;
  let grid = el('div', { className: 'cards ' + gridClass });
  let cards = items.map(function (item) {
    let tag = el('span', { className: 'card-tag', 'aria-hidden': 'true' });
    let kids = [];
    if (item.letter) kids.push(el('span', { className: 'card-letter', text: item.letter }));
    kids.push(el('span', { className: 'card-label', text: item.label }));
    kids.push(tag);
    let b = el('button', {
      type: 'button',
      className: 'card',
      'aria-pressed': 'false',
      dataset: { choice: String(item.value) }
    }, kids);
    if (item.colour) paint(b, item.colour);
    on(b, 'click', function () {
      let cur = view.q;
      if (cur.state !== 'open') return;
      if (phone.selectionOf(cur.id) === item.value) phone.submit(cur.id, 'retract');
      else phone.submit(cur.id, 'vote', item.value);
    });
    grid.appendChild(b);
    return { b: b, tag: tag, value: item.value };
  });
  return {
    grid: grid,
    update: function (cur) {
      let sel = phone.selectionOf(cur.id);
      let any = sel !== null && sel !== undefined;
      grid.classList.toggle('has-selection', any);
      cards.forEach(function (c) {
        let on = sel === c.value;
        c.b.setAttribute('aria-pressed', on ? 'true' : 'false');
        c.b.classList.toggle('is-selected', on);
        c.b.disabled = cur.state !== 'open';
        setText(c.tag, on ? phone.tagFor(cur.id) : '');
        let showCorrect = cur.state === 'closed' && cur.results_visible && Array.isArray(cur.correct);
        c.b.classList.toggle('is-correct', showCorrect && cur.correct.indexOf(c.value) !== -1);
      });
    }
  };
}

const BUILDERS = {
  single: function (view, q, loc) {
    let phone = view.phone;
    let set = tapCards(view, q, loc.options.map(function (o, i) {
      return { value: i, letter: letter(i), label: optionLabel(o), colour: optionColour(q, i) };
    }), 'cards-choice');
    view.body.appendChild(set.grid);
    return function (cur) {
      setText(view.hint, cur.state === 'open'
        ? (phone.selectionOf(cur.id) !== null ? t('Tap another card to change, or yours again to take it back.') : t('Tap a card to vote.'))
        : '');
      set.update(cur);
    };
  },

  scale: function (view, q) {
    let phone = view.phone;
    let min = typeof q.min === 'number' ? q.min : 1;
    let max = typeof q.max === 'number' ? q.max : 5;
    let items = [];
    for (var v = min; v <= max && items.length < 21; v++) items.push({ value: v, label: String(v) });
    let set = tapCards(view, q, items, 'cards-scale');
    set.grid.classList.add(items.length > 7 ? 'scale-long' : 'scale-short');
    // One row up to 7 steps, two even rows above that.
    let cols = items.length > 7 ? Math.ceil(items.length / 2) : items.length;
    set.grid.style.gridTemplateColumns = 'repeat(' + cols + ', minmax(0, 1fr))';
    view.body.appendChild(set.grid);
    if (q.min_label || q.max_label) {
      view.body.appendChild(el('div', { className: 'scale-labels' }, [
        el('span', { text: min + ' = ' + (q.min_label || '') }),
        el('span', { text: max + ' = ' + (q.max_label || '') })
      ]));
    }
    return function (cur) {
      setText(view.hint, cur.state === 'open' ? t('Tap a number.') : '');
      set.update(cur);
    };
  },

  multiple: function (view, q, loc) {
    let phone = view.phone;
    let n = loc.options.length;
    let maxChoices = typeof q.max_choices === 'number' && q.max_choices > 0 ? Math.min(q.max_choices, n) : n;
    let grid = el('div', { className: 'cards cards-choice cards-toggle' });
    let submitBtn = el('button', { type: 'button', className: 'btn btn-block submit', text: t('Submit') });
    let cards = loc.options.map(function (o, i) {
      let b = el('button', {
        type: 'button', className: 'card', 'aria-pressed': 'false', dataset: { choice: String(i) }
      }, [
        el('span', { className: 'card-letter', text: letter(i) }),
        el('span', { className: 'card-label', text: optionLabel(o) }),
        el('span', { className: 'card-check', 'aria-hidden': 'true' })
      ]);
      paint(b, optionColour(q, i));
      on(b, 'click', function () {
        let cur = view.q;
        if (cur.state !== 'open') return;
        let sel = shown(cur.id).slice();
        let at = sel.indexOf(i);
        if (at !== -1) sel.splice(at, 1);
        else if (sel.length >= maxChoices) {
          setText(view.hint, t('You can choose at most {n}. Untick one first.', { n: maxChoices }));
          view.hint.classList.add('is-warning');
          return;
        } else sel.push(i);
        phone.drafts[cur.id] = { sel: sel };
        delete phone.errors[cur.id];
        phone.render();
      });
      grid.appendChild(b);
      return b;
    });
    function confirmed(qid) {
      let s = phone.selectionOf(qid);
      return Array.isArray(s) ? s : [];
    }
    function shown(qid) {
      let d = phone.draftOf(qid);
      return d ? d.sel : confirmed(qid);
    }
    function dirty(qid) {
      let d = phone.draftOf(qid);
      if (!d) return false;
      let a = d.sel.slice().sort(), b = confirmed(qid).slice().sort();
      return a.join(',') !== b.join(',');
    }
    on(submitBtn, 'click', function () {
      let cur = view.q;
      if (cur.state !== 'open') return;
      let sel = shown(cur.id).slice().sort(function (a, b) { return a - b; });
      phone.drafts[cur.id] = null;
      if (sel.length) phone.submit(cur.id, 'vote', sel);
      else if (phone.selectionOf(cur.id) !== null) phone.submit(cur.id, 'retract');
    });
    view.body.appendChild(grid);
    view.body.appendChild(submitBtn);
    return function (cur) {
      let sel = shown(cur.id);
      let open = cur.state === 'open';
      let isDirty = dirty(cur.id);
      view.hint.classList.remove('is-warning');
      setText(view.hint, open
        ? (maxChoices >= n ? t('Choose all that apply, then Submit.') : t('Choose up to {n}, then Submit.', { n: maxChoices }))
        : '');
      grid.classList.toggle('has-selection', sel.length > 0);
      cards.forEach(function (b, i) {
        let on = sel.indexOf(i) !== -1;
        b.setAttribute('aria-pressed', on ? 'true' : 'false');
        b.classList.toggle('is-selected', on);
        b.disabled = !open;
        setText(b.lastChild, on ? '✓' : '');
        let showCorrect = cur.state === 'closed' && cur.results_visible && Array.isArray(cur.correct);
        b.classList.toggle('is-correct', showCorrect && cur.correct.indexOf(i) !== -1);
      });
      let p = phone.pending[cur.id];
      submitBtn.hidden = !open;
      if (p && p.status === 'sending' && !isDirty) {
        setText(submitBtn, t('Sending…'));
        submitBtn.disabled = true;
      } else if (isDirty && !sel.length) {
        setText(submitBtn, t('Take back my vote'));
        submitBtn.disabled = false;
      } else if (isDirty) {
        setText(submitBtn, confirmed(cur.id).length ? t('Change my vote') : t('Submit'));
        submitBtn.disabled = false;
      } else {
        setText(submitBtn, phone.hasBallot(cur.id) && !p ? t('Counted ✓') : t('Submit'));
        submitBtn.disabled = true;
      }
    };
  },

  wordcloud: function (view, q) {
    let phone = view.phone;
    let maxWords = typeof q.max_words === 'number' && q.max_words > 0 ? Math.min(q.max_words, 10) : 3;
    let form = el('form', { className: 'words-form', novalidate: true });
    let inputs = [];
    for (var i = 0; i < maxWords; i++) {
      let input = el('input', {
        type: 'text', maxlength: '40', autocomplete: 'off', autocapitalize: 'none',
        enterkeyhint: i === maxWords - 1 ? 'send' : 'next',
        'aria-label': t('Word {n}', { n: i + 1 }), placeholder: maxWords > 1 ? t('Word {n}', { n: i + 1 }) : t('Your word')
      });
      inputs.push(input);
      form.appendChild(input);
    }
    let submitBtn = el('button', { type: 'submit', className: 'btn btn-block submit', text: t('Send') });
    form.appendChild(submitBtn);
    function values() {
      let seen = {};
      let out = [];
      inputs.forEach(function (inp) {
        let w = inp.value.replace(/\s+/g, ' ').trim();
        if (w && !seen[w.toLowerCase()]) { seen[w.toLowerCase()] = true; out.push(w); }
      });
      return out;
    }
    on(form, 'input', function () { phone.drafts[view.id] = { edited: true }; delete phone.errors[view.id]; phone.render(); });
    on(form, 'submit', function (ev) {
      ev.preventDefault();
      let cur = view.q;
      if (cur.state !== 'open') return;
      let words = values();
      phone.drafts[cur.id] = null;
      if (words.length) phone.submit(cur.id, 'vote', words);
      else if (phone.selectionOf(cur.id) !== null) phone.submit(cur.id, 'retract');
    });
    view.body.appendChild(form);
    return function (cur) {
      let open = cur.state === 'open';
      let edited = !!phone.draftOf(cur.id);
      if (!edited) {
        let sel = phone.selectionOf(cur.id);
        let arr = Array.isArray(sel) ? sel : [];
        inputs.forEach(function (inp, i) {
          let v = arr[i] || '';
          if (inp.value !== v && document.activeElement !== inp) inp.value = v;
        });
      }
      inputs.forEach(function (inp) { inp.disabled = !open; });
      setText(view.hint, open ? (maxWords === 1 ? t('One word or a short phrase.') : t('Up to {n} words or short phrases.', { n: maxWords })) : '');
      submitBtn.hidden = !open;
      let p = phone.pending[cur.id];
      if (p && p.status === 'sending' && !edited) { setText(submitBtn, t('Sending…')); submitBtn.disabled = true; }
      else if (!edited && phone.hasBallot(cur.id)) { setText(submitBtn, t('Sent ✓')); submitBtn.disabled = true; }
      else {
        let words = values();
        setText(submitBtn, !words.length && phone.hasBallot(cur.id) ? t('Take back my words') : t('Send'));
        submitBtn.disabled = !words.length && !phone.hasBallot(cur.id);
      }
    };
  },

  open: function (view) {
    let phone = view.phone;
    let form = el('form', { className: 'open-form', novalidate: true });
    let area = el('textarea', { maxlength: '280', rows: '4', 'aria-label': t('Your answer'), placeholder: t('Your answer') });
    let counter = el('span', { className: 'counter', 'aria-hidden': 'true' });
    let submitBtn = el('button', { type: 'submit', className: 'btn btn-block submit', text: t('Send') });
    form.appendChild(area);
    form.appendChild(counter);
    form.appendChild(submitBtn);
    on(area, 'input', function () { phone.drafts[view.id] = { edited: true }; delete phone.errors[view.id]; phone.render(); });
    on(form, 'submit', function (ev) {
      ev.preventDefault();
      let cur = view.q;
      if (cur.state !== 'open') return;
      let text = area.value.trim();
      phone.drafts[cur.id] = null;
      if (text) phone.submit(cur.id, 'vote', text.slice(0, 280));
      else if (phone.selectionOf(cur.id) !== null) phone.submit(cur.id, 'retract');
    });
    view.body.appendChild(form);
    return function (cur) {
      let open = cur.state === 'open';
      let edited = !!phone.draftOf(cur.id);
      if (!edited) {
        let sel = phone.selectionOf(cur.id);
        let v = typeof sel === 'string' ? sel : '';
        if (area.value !== v && document.activeElement !== area) area.value = v;
      }
      area.disabled = !open;
      setText(counter, area.value.length + ' / 280');
      setText(view.hint, '');
      submitBtn.hidden = !open;
      let p = phone.pending[cur.id];
      let text = area.value.trim();
      if (p && p.status === 'sending' && !edited) { setText(submitBtn, t('Sending…')); submitBtn.disabled = true; }
      else if (!edited && phone.hasBallot(cur.id)) { setText(submitBtn, t('Sent ✓')); submitBtn.disabled = true; }
      else {
        setText(submitBtn, !text && phone.hasBallot(cur.id) ? t('Take back my answer') : (phone.hasBallot(cur.id) ? t('Replace my answer') : t('Send')));
        submitBtn.disabled = !text && !phone.hasBallot(cur.id);
      }
    };
  },

  ranking: function (view, q, loc) {
    let phone = view.phone;
    let n = loc.options.length;
    let grid = el('div', { className: 'cards cards-choice cards-rank' });
    let tools = el('div', { className: 'rank-tools' });
    let undoBtn = el('button', { type: 'button', className: 'btn btn-secondary', text: t('Undo') });
    let clearBtn = el('button', { type: 'button', className: 'btn btn-secondary', text: t('Start again') });
    let submitBtn = el('button', { type: 'button', className: 'btn btn-block submit', text: t('Submit ranking') });
    tools.appendChild(undoBtn);
    tools.appendChild(clearBtn);
    function confirmed(qid) {
      let s = phone.selectionOf(qid);
      return Array.isArray(s) ? s : [];
    }
    function order(qid) {
      let d = phone.draftOf(qid);
      return d ? d.order : confirmed(qid);
    }
    function setOrder(o) {
      // The last one left goes last by itself.
      if (o.length === n - 1) {
        for (var k = 0; k < n; k++) if (o.indexOf(k) === -1) { o.push(k); break; }
      }
      phone.drafts[view.id] = { order: o };
      delete phone.errors[view.id];
      phone.render();
    }
    let cards = loc.options.map(function (o, i) {
      let rank = el('span', { className: 'card-rank', 'aria-hidden': 'true' });
      let b = el('button', { type: 'button', className: 'card', dataset: { choice: String(i) } }, [
        el('span', { className: 'card-letter', text: letter(i) }),
        el('span', { className: 'card-label', text: optionLabel(o) }),
        rank
      ]);
      paint(b, optionColour(q, i));
      on(b, 'click', function () {
        if (view.q.state !== 'open') return;
        let cur = order(view.id).slice();
        if (cur.length === n) cur = [];      // a complete ranking: tapping starts a new one
        if (cur.indexOf(i) !== -1) return;
        cur.push(i);
        setOrder(cur);
      });
      grid.appendChild(b);
      return { b: b, rank: rank };
    });
    on(undoBtn, 'click', function () {
      let cur = order(view.id).slice();
      cur.pop();
      if (cur.length === n - 1) cur.pop();
      phone.drafts[view.id] = { order: cur };
      phone.render();
    });
    on(clearBtn, 'click', function () { phone.drafts[view.id] = { order: [] }; phone.render(); });
    on(submitBtn, 'click', function () {
      let cur = order(view.id);
      if (view.q.state !== 'open' || cur.length !== n) return;
      phone.drafts[view.id] = null;
      phone.submit(view.id, 'vote', cur.slice());
    });
    view.body.appendChild(grid);
    view.body.appendChild(tools);
    view.body.appendChild(submitBtn);
    return function (cur) {
      let open = cur.state === 'open';
      let o = order(cur.id);
      let edited = !!phone.draftOf(cur.id) && o.join(',') !== confirmed(cur.id).join(',');
      setText(view.hint, open
        ? (o.length === n ? t('Your order is set.') : t('Tap the options from best to worst ({done} of {n}).', { done: o.length, n: n }))
        : '');
      cards.forEach(function (c, i) {
        let pos = o.indexOf(i);
        c.b.classList.toggle('is-selected', pos !== -1);
        c.b.disabled = !open;
        setText(c.rank, pos !== -1 ? String(pos + 1) : '');
        c.b.setAttribute('aria-label', letter(i) + ' ' + optionLabel(loc.options[i]) + (pos !== -1 ? t(', ranked {n}', { n: pos + 1 }) : ''));
      });
      grid.classList.toggle('has-selection', o.length > 0);
      tools.hidden = !open;
      undoBtn.disabled = !o.length;
      clearBtn.disabled = !o.length;
      submitBtn.hidden = !open;
      let p = phone.pending[cur.id];
      if (p && p.status === 'sending' && !edited) { setText(submitBtn, t('Sending…')); submitBtn.disabled = true; }
      else if (!edited && phone.hasBallot(cur.id)) { setText(submitBtn, t('Counted ✓')); submitBtn.disabled = true; }
      else { setText(submitBtn, t('Submit ranking')); submitBtn.disabled = o.length !== n; }
    };
  }
};
