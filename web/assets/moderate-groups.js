// The console's side of results by group, under each question's live tally:
// - the chooser of the breakdown the projector and the phones show once the
//   results are revealed ("Projector breakdown: none / a segment question"),
//   for the roles that may send `breakdown` (moderator, co-host, presenter);
// - every breakdown of the question (the moderator's tallies carry
//   `groups_by`, one per segment question, whatever is on the projector), as a
//   compact table: a row per group with its size and counts, a group under
//   the anonymity floor marked hidden, with no number.

import { clear, el, on } from './dom.js';
import { letter, numberOr, optionLabel, pct } from './format.js';
import { i18n, t } from './i18n.js';
import { GROUPABLE } from './by-group.js';

// The roles whose console may choose a breakdown (see src/transport/scope.rs).
const CHOOSERS = ['moderator', 'cohost', 'presenter'];

// The segment questions of a question list, in its order.
export function segmentsOf(questions) {
  return questions.filter(function (q) { return q && q.segment === true; });
}

/* new GroupsPanel(choose(by, settled)); .el; .update(q, tally, view)
 * view: {questions, segments, scope, minGroup}: the console's question list, its
 * segment questions, the role the console was opened with, the session's floor. */
export function GroupsPanel(choose) {
  const self = this;
  this.select = el('select', { className: 'mq-breakdown-select' });
  this.chooser = el('label', { className: 'mq-breakdown', hidden: true }, [
    el('span', { className: 'mq-breakdown-label', text: t('Projector breakdown:') }),
    this.select
  ]);
  this.tables = el('div', { className: 'mq-groups', hidden: true });
  this.el = el('div', { className: 'mq-groups-box' }, [this.chooser, this.tables]);
  this.choicesKey = null;
  this.tablesKey = null;
  this.busy = false;
  this.q = null;
  on(this.select, 'change', function () {
    const by = self.select.value || null;
    self.busy = true;
    self.select.disabled = true;
    choose(by, function () {
      self.busy = false;
      self.select.disabled = false;
      // The server's answer (a `question` message) sets it; until then, or on refusal, what it was.
      if (self.q) self.select.value = self.q.by || '';
    });
  });
}

GroupsPanel.prototype.update = function (q, tally, view) {
  this.q = q;
  const groupable = GROUPABLE.indexOf(q.kind) !== -1;
  const segments = groupable ? view.segments.filter(function (s) { return s.id !== q.id; }) : [];
  this.renderChooser(q, segments, view);
  this.renderTables(q, tally, segments, view);
};

function segmentName(seg, questions) {
  let n = 0;
  for (let i = 0; i < questions.length; i++) if (questions[i].id === seg.id) n = i + 1;
  return (n ? n + '. ' : '') + seg.prompt;
}

GroupsPanel.prototype.renderChooser = function (q, segments, view) {
  const allowed = CHOOSERS.indexOf(view.scope) !== -1;
  this.chooser.hidden = !allowed || !segments.length;
  if (this.chooser.hidden) return;
  const key = i18n.lang + '|' + JSON.stringify(segments.map(function (s) { return [s.id, segmentName(s, view.questions)]; }));
  if (key !== this.choicesKey) {
    this.choicesKey = key;
    clear(this.select);
    this.select.appendChild(el('option', { value: '', text: t('none') }));
    const select = this.select;
    segments.forEach(function (s) {
      select.appendChild(el('option', { value: s.id, text: segmentName(s, view.questions) }));
    });
  }
  if (!this.busy) this.select.value = q.by || '';
};

// The columns of a question's table: [{head, title}], one per option or scale step.
function columnsOf(q) {
  if (q.kind === 'scale') {
    const min = numberOr(q.min, 1);
    const max = Math.max(min, numberOr(q.max, 5));
    const out = [];
    for (let v = min; v <= max; v++) out.push({ head: String(v), title: '' });
    return out;
  }
  const options = Array.isArray(q.options) ? q.options : [];
  return options.map(function (o, i) { return { head: letter(i), title: optionLabel(o) }; });
}

GroupsPanel.prototype.renderTables = function (q, tally, segments, view) {
  const by = tally && tally.groups_by && typeof tally.groups_by === 'object' ? tally.groups_by : null;
  const shown = by ? segments.filter(function (s) { return Array.isArray(by[s.id]); }) : [];
  this.tables.hidden = !shown.length;
  if (!shown.length) { this.tablesKey = null; clear(this.tables); return; }
  const key = i18n.lang + '|' + JSON.stringify([q.by, q.kind, q.options, q.min, q.max, view.minGroup,
    shown.map(function (s) { return [s.id, segmentName(s, view.questions), s.options, by[s.id]]; })]);
  if (key === this.tablesKey) return;
  this.tablesKey = key;
  clear(this.tables);
  const self = this;
  let hidden = false;
  shown.forEach(function (seg) {
    self.tables.appendChild(table(q, seg, by[seg.id], view));
    hidden = hidden || by[seg.id].some(function (g) { return g && g.suppressed; });
  });
  if (hidden) {
    this.tables.appendChild(el('p', { className: 'mq-g-note', text: t('Hidden: groups of fewer than {n} people, and the next smallest where it would give them away.', { n: view.minGroup }) }));
  }
};

function table(q, seg, groups, view) {
  const cols = columnsOf(q);
  const ranking = q.kind === 'ranking';
  const scale = q.kind === 'scale';
  const head = [el('th', { scope: 'col', text: t('Group') }), el('th', { scope: 'col', text: 'n' })];
  if (scale) head.push(el('th', { scope: 'col', text: t('Average') }));
  cols.forEach(function (c) { head.push(el('th', { scope: 'col', title: c.title || null, text: c.head })); });
  const body = el('tbody');
  const segOptions = Array.isArray(seg.options) ? seg.options : [];
  groups.forEach(function (g, i) {
    const name = i < segOptions.length ? optionLabel(segOptions[i]) : t('Group {letter}', { letter: letter(i) });
    const cells = [el('th', { scope: 'row', text: name })];
    if (g.suppressed) {
      cells.push(el('td', { className: 'mq-g-hidden', colspan: String(1 + (scale ? 1 : 0) + cols.length), text: t('hidden') }));
      body.appendChild(el('tr', { className: 'is-suppressed', dataset: { option: String(i), suppressed: 'true' } }, cells));
      return;
    }
    const voters = numberOr(g.voters, 0);
    cells.push(el('td', { className: 'mq-g-n', text: String(voters) }));
    if (scale) {
      const mean = typeof g.mean === 'number' && voters ? String(Math.round(g.mean * 10) / 10) : '–';
      cells.push(el('td', { className: 'mq-g-mean', text: mean }));
    }
    const values = ranking ? (Array.isArray(g.scores) ? g.scores : []) : (Array.isArray(g.counts) ? g.counts : []);
    cols.forEach(function (c, j) {
      const v = numberOr(values[j], 0);
      const text = ranking ? String(v) : v + ' (' + pct(v, voters) + '%)';
      cells.push(el('td', { className: 'mq-g-count', text: text }));
    });
    body.appendChild(el('tr', { dataset: { option: String(i), suppressed: 'false' } }, cells));
  });
  const onScreen = q.by === seg.id;
  // The title sits above the table, as wide as the panel (a caption is as narrow as its table).
  const titleId = 'mq-g-' + q.id + '-' + seg.id;
  const title = el('p', { className: 'mq-g-title', id: titleId }, [
    el('span', { text: t('By group: {question}', { question: segmentName(seg, view.questions) }) }),
    ranking ? el('span', { className: 'mq-g-unit', text: ' · ' + t('points') }) : null,
    onScreen ? el('span', { className: 'mq-g-shown', text: t('on the projector') }) : null
  ]);
  return el('div', { className: 'mq-g' + (onScreen ? ' is-shown' : ''), dataset: { segment: seg.id } }, [
    title,
    el('table', { className: 'mq-g-table', 'aria-labelledby': titleId }, [el('thead', {}, [el('tr', {}, head)]), body])
  ]);
}
