// The public summary (/{code}/summary): the session's closed, revealed
// questions with their final results, broken down where the moderator chose
// (the anonymity floor applied by the server), and the answered questions
// from the floor, in the reader's language where there is a translation.
// A page to read after the session and to print; no socket.
import { $, clear, el, on, setText } from './dom.js';
import { codeFromPath, letter, numberOr, pct, spacedCode } from './format.js';
import { i18n, localize, preferredLanguages, startI18n, t } from './i18n.js';
import { api, apiError } from './http.js';
import { Results } from './results.js';
import { translationFor } from './qa-translations.js';

const code = codeFromPath();
if (!code) window.location.replace('/');
else start();

function start() {
  startI18n();
  on($('#print'), 'click', function () { window.print(); });
  let summary = null;
  let failure = null;
  i18n.onChange(function () { render(); });
  api('GET', '/api/sessions/' + code + '/summary').then(function (res) {
    if (res.ok && res.body) summary = res.body;
    else failure = res;
    render();
  }, function () {
    failure = null;
    setStatus(t('The server cannot be reached. Try again in a moment.'), true);
  });

  function setStatus(text, error) {
    const status = $('#status');
    status.hidden = !text;
    status.classList.toggle('is-error', !!error);
    setText(status, text || '');
  }

  function render() {
    if (failure) {
      const err = apiError(failure);
      if (failure.status === 403) setStatus(t('The moderator has not published a summary of this session.'), true);
      else if (failure.status === 404) setStatus(t('No session has this code.'), true);
      else setStatus(err.message, true);
      return;
    }
    if (!summary) return;
    const wanted = preferredLanguages();
    document.title = summary.title + ' · ' + t('Summary of the session');
    setText($('#title'), summary.title);
    setText($('#meta'), t('Session code {code}', { code: spacedCode(summary.code) }));
    const segments = {};
    (summary.segments || []).forEach(function (s) { segments[s.id] = s; });
    summary.questions.forEach(function (q) { if (q.segment) segments[q.id] = q; });

    const list = $('#questions');
    clear(list);
    summary.questions.forEach(function (q, n) {
      list.appendChild(questionCard(q, q.tally, n, segments, wanted));
    });
    $('#polls').hidden = !summary.questions.length;

    const qa = $('#qa-list');
    clear(qa);
    summary.qa.forEach(function (item) { qa.appendChild(qaItem(item)); });
    $('#floor').hidden = !summary.qa.length;

    if (!summary.questions.length && !summary.qa.length) {
      setStatus(t('Nothing to show yet: no question has been closed with its results shown.'), false);
    } else {
      setStatus('', false);
    }
  }
}

function questionCard(q, tally, n, segments, wanted) {
  const loc = localize(q, wanted);
  const voters = tally ? numberOr(tally.voters, 0) : 0;
  const box = el('div');
  const card = el('article', { className: 'sum-q', dataset: { id: q.id } }, [
    el('h3', { text: (n + 1) + '. ' + loc.prompt, lang: loc.lang || undefined }),
    el('p', { className: 'sum-q-meta', text: voters === 1 ? t('1 person answered') : t('{n} people answered', { n: voters }) }),
    box
  ]);
  new Results(box, { layout: 'flow' }).update(q, loc.lang ? loc : null, tally, { showCorrect: Array.isArray(q.correct) });
  const seg = q.by ? segments[q.by] : null;
  if (tally && Array.isArray(tally.groups)) card.appendChild(breakdown(q, loc, tally.groups, seg, wanted));
  return card;
}

// A breakdown as a table: one row per group of the segment question, one
// column per option (counts and share within the group), or the mean of a
// scale, or the points of a ranking. Suppressed groups have no numbers.
function breakdown(q, loc, groups, seg, wanted) {
  const segLoc = seg ? localize(seg, wanted) : null;
  const groupName = function (i) {
    const name = segLoc && segLoc.options[i];
    return name || t('Group {letter}', { letter: letter(i) });
  };
  const options = loc.options;
  let cols;
  let cells;
  if (q.kind === 'scale') {
    cols = [t('Average')];
    cells = function (g) {
      return [typeof g.mean === 'number' ? String(Math.round(g.mean * 10) / 10) : '–'];
    };
  } else if (q.kind === 'ranking') {
    cols = options.map(function (o, i) { return letter(i) + ' ' + o; });
    cells = function (g) {
      return options.map(function (o, i) { return String(numberOr((g.scores || [])[i], 0)); });
    };
  } else {
    cols = options.map(function (o, i) { return letter(i) + ' ' + o; });
    cells = function (g) {
      const total = numberOr(g.voters, 0);
      return options.map(function (o, i) {
        const c = numberOr((g.counts || [])[i], 0);
        return c + ' (' + pct(c, total) + '%)';
      });
    };
  }
  const head = el('tr', null, [el('th', { scope: 'col', text: t('Group') }), el('th', { scope: 'col', text: t('People') })]
    .concat(cols.map(function (c) { return el('th', { scope: 'col', text: c }); })));
  let hidden = 0;
  const rows = groups.map(function (g) {
    if (g.suppressed) {
      hidden += 1;
      return el('tr', { className: 'is-suppressed' }, [
        el('th', { scope: 'row', text: groupName(g.option) }),
        el('td', { colSpan: cols.length + 1, text: t('hidden: too few people to show') })
      ]);
    }
    return el('tr', null, [el('th', { scope: 'row', text: groupName(g.option) }), el('td', { text: String(numberOr(g.voters, 0)) })]
      .concat(cells(g).map(function (c) { return el('td', { text: c }); })));
  });
  const title = seg ? t('By group: {question}', { question: segLoc.prompt }) : t('By group');
  const out = el('div', { className: 'sum-groups' }, [
    el('h4', { text: title }),
    el('table', { className: 'sum-table' }, [el('thead', null, [head]), el('tbody', null, rows)])
  ]);
  if (hidden) out.appendChild(el('p', { className: 'sum-floor-note', text: t('Groups too small to keep their answers anonymous are hidden.') }));
  return out;
}

function qaItem(item) {
  const wanted = [i18n.lang].concat(preferredLanguages());
  let tr = null;
  for (let i = 0; i < wanted.length && !tr; i++) tr = translationFor(item, wanted[i]);
  const text = el('p', { className: 'sum-qa-text', text: tr ? tr.text : item.text, lang: tr ? tr.lang : undefined });
  const meta = [];
  if (item.name) meta.push(item.name);
  meta.push(item.upvotes === 1 ? t('1 upvote') : t('{n} upvotes', { n: item.upvotes }));
  const li = el('li', { className: 'sum-qa-item', dataset: { id: item.id } }, [text]);
  if (tr) {
    li.appendChild(el('p', { className: 'sum-qa-original', text: t('Translated · original: {text}', { text: item.text }) }));
  }
  li.appendChild(el('p', { className: 'sum-qa-meta', text: meta.join(' · ') }));
  return li;
}
