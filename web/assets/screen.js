/* handsup: the projector screen. */
import { $, clear, el, on, setText } from './dom.js';
import { letter, optionLabel, codeFromPath, definitionKey, formatRemaining, spacedCode } from './format.js';
import { optionColour, paint } from './colour.js';
import { i18n, startI18n, t } from './i18n.js';
import { Socket, watchNetwork } from './socket.js';
import { api } from './http.js';
import { connectionBadge } from './ui.js';
import { Results } from './results.js';
import { Cloud } from './wordcloud.js';
import { Breakdown } from './breakdown.js';
import { breakdownOf } from './by-group.js';
import { clock, onTick } from './time.js';
import { findQuestion, initialView, view as reduceView } from './reducers.js';

const code = codeFromPath();
if (!code) window.location.replace('/');
else start();

function start() {
  startI18n();
  let state = initialView({ drafts: false });

  const ui = {
    waiting: $('#waiting'),
    wTitle: $('#w-title'),
    wUrl: $('#w-url'),
    wCode: $('#w-code'),
    question: $('#question'),
    qState: $('#q-state'),
    qTimer: $('#q-timer'),
    qVoters: $('#q-voters'),
    qPrompt: $('#q-prompt'),
    qTranslations: $('#q-translations'),
    qOptions: $('#q-options'),
    qResults: $('#q-results'),
    qBreakdown: $('#q-breakdown'),
    qDigest: $('#q-digest'),
    qDigestShort: $('#q-digest-short'),
    qDigestFull: $('#q-digest-full'),
    qDigestToggle: $('#q-digest-toggle'),
    qa: $('#qa'),
    ended: $('#ended'),
    joinUrl: $('#join-url'),
    joinCode: $('#join-code'),
    qr: $('#qr'),
    people: $('#people'),
    peopleLabel: $('#people-label'),
    conn: $('#conn'),
    fullscreen: $('#fullscreen')
  };

  const results = new Results(ui.qResults, { layout: 'spiral', Cloud: Cloud });
  const breakdown = new Breakdown(ui.qBreakdown, { legend: true });
  let shownKey = null;
  let shownJoinUrl = null;

  ui.qr.src = '/api/sessions/' + code + '/qr.svg';
  setText(ui.joinCode, spacedCode(code));
  setText(ui.wCode, spacedCode(code));

  // Shown without the scheme, and broken only before the path so the host stays whole.
  function renderJoinUrl(url) {
    if (url === shownJoinUrl) return;
    shownJoinUrl = url;
    const pretty = String(url).replace(/^https?:\/\//, '').replace(/\/$/, '');
    const cut = pretty.indexOf('/');
    const host = cut === -1 ? pretty : pretty.slice(0, cut);
    const rest = cut === -1 ? '' : pretty.slice(cut);
    clear(ui.joinUrl);
    ui.joinUrl.appendChild(el('span', { text: host }));
    if (rest) {
      ui.joinUrl.appendChild(document.createElement('wbr'));
      ui.joinUrl.appendChild(el('span', { text: rest }));
    }
    ui.joinUrl.classList.toggle('is-long', pretty.length > 26);
    setText(ui.wUrl, host);
  }

  const sock = new Socket({
    code: code,
    role: 'projector',
    onState: function (s) {
      connectionBadge(ui.conn, s === 'open' ? 'open' : s);
    },
    onMessage: onMessage
  });

  function onMessage(msg) {
    const next = reduceView(state, msg);
    if (next === state) return;
    state = next;
    if (msg.type === 'ended') sock.stop();
    render();
  }

  function current() {
    return state.presentation.current ? findQuestion(state.questions, state.presentation.current) : null;
  }

  function render() {
    renderJoinUrl(state.joinUrl || window.location.origin + '/' + code);
    setText(ui.people, state.audience);
    setText(ui.peopleLabel, t(state.audience === 1 ? 'person connected' : 'people connected'));
    document.title = (state.title ? state.title + ' · ' : '') + 'handsup screen';
    setText(ui.wTitle, state.title || 'handsup');

    if (state.ended) {
      ui.waiting.hidden = true;
      ui.question.hidden = true;
      ui.qa.hidden = true;
      ui.ended.hidden = false;
      connectionBadge(ui.conn, 'ended');
      return;
    }

    const q = current();
    const qa = state.presentation.qa;
    ui.qa.hidden = !(qa && !q);
    ui.question.hidden = !q;
    ui.waiting.hidden = !!q || qa;
    if (!q) { shownKey = null; return; }
    renderQuestion(q);
  }

  /* ------------------------------------------------------------ the digest */

  // The session's digest under revealed results, when the session's setting asks for it:
  // the welcome brings it, and while it is shown it is fetched again (GET /api/sessions/{code},
  // at most once in DIGEST_EVERY ms) after each change the projector hears of, so it stays current.
  const DIGEST_EVERY = 2000;
  let digest = '';
  let digestFrom = '';
  let digestFetching = false;
  let digestAgain = false;
  let digestLast = 0;
  let digestTimer = null;
  let digestFull = false;

  // 'ab12cd34…' as 'ab12 cd34 …'.
  function groups(hex) {
    return (hex.match(/.{1,4}/g) || []).join(' ');
  }

  function fetchDigest() {
    digestTimer = null;
    if (digestFetching) { digestAgain = true; return; }
    digestFetching = true;
    digestLast = Date.now();
    api('GET', '/api/sessions/' + code).then(function (res) {
      digestFetching = false;
      if (res.ok && res.body) {
        const d = res.body.digest;
        digest = typeof d === 'string' && /^[0-9a-f]{64}$/.test(d) ? d : '';
        renderDigest(current());
      }
      if (digestAgain) { digestAgain = false; refreshDigest(); }
    }, function () {
      digestFetching = false;
    });
  }

  function refreshDigest() {
    if (digestTimer) return;
    const wait = Math.max(0, digestLast + DIGEST_EVERY - Date.now());
    digestTimer = setTimeout(fetchDigest, wait);
  }

  function renderDigest(q) {
    if (state.digest !== digestFrom) {
      // A new welcome or setting: start from what it carries.
      digestFrom = state.digest;
      digest = state.digest;
    }
    const shown = !!(q && q.results_visible && state.showDigest && digest);
    ui.qDigest.hidden = !shown;
    if (!shown) return;
    setText(ui.qDigestShort, groups(digest.slice(0, 16)));
    setText(ui.qDigestFull, groups(digest));
    ui.qDigest.title = digest;
    ui.qDigestShort.hidden = digestFull;
    ui.qDigestFull.hidden = !digestFull;
    ui.qDigestToggle.setAttribute('aria-expanded', digestFull ? 'true' : 'false');
    setText(ui.qDigestToggle, t(digestFull ? 'Show less (D)' : 'Show all (D)'));
  }

  function toggleDigest() {
    digestFull = !digestFull;
    renderDigest(current());
  }
  on(ui.qDigestToggle, 'click', toggleDigest);

  function stateText(q) {
    if (q.state === 'open') return t('Voting open');
    if (q.state === 'closed') return t('Voting closed');
    return t('Draft');
  }

  function renderQuestion(q) {
    const key = q.id + '|' + i18n.lang + '|' + definitionKey(q);
    if (key !== shownKey) {
      shownKey = key;
      results.reset();
      breakdown.reset();
      setText(ui.qPrompt, q.prompt);
      ui.qPrompt.classList.toggle('is-long', String(q.prompt).length > 110);
      ui.qPrompt.classList.toggle('is-very-long', String(q.prompt).length > 240);
      renderTranslations(q);
      renderOptions(q);
    }
    ui.question.dataset.kind = q.kind;
    ui.question.dataset.state = q.state;
    setText(ui.qState, stateText(q));
    ui.qState.dataset.state = q.state;

    const tally = state.tallies[q.id] || null;
    const visible = !!q.results_visible;
    // Revealed and shown broken down: the groups take the results' place.
    const byGroup = visible ? breakdownOf(q, tally, state.questions) : null;
    ui.qResults.hidden = !visible || !!byGroup;
    ui.qBreakdown.hidden = !byGroup;
    ui.question.classList.toggle('has-breakdown', !!byGroup);
    ui.qOptions.hidden = visible;
    ui.qVoters.hidden = !visible;
    if (visible) {
      const voters = tally && typeof tally.voters === 'number' ? tally.voters : 0;
      setText(ui.qVoters, t(voters === 1 ? '{n} vote' : '{n} votes', { n: voters }));
      if (q.kind === 'open' || q.kind === 'wordcloud') {
        setText(ui.qVoters, t(voters === 1 ? '{n} person answered' : '{n} people answered', { n: voters }));
      }
      if (byGroup) {
        breakdown.update({ q: q, loc: null, seg: byGroup.seg, segLoc: null, groups: byGroup.groups, minGroup: state.minGroup });
        fitBreakdown();
      } else {
        results.update(q, null, tally, { showCorrect: q.state === 'closed' && Array.isArray(q.correct) });
      }
    }
    renderDigest(q);
    if (visible && state.showDigest) refreshDigest();
    tick();
  }

  // The breakdown is one slide: its text shrinks to fit the stage, to 0.8% of the width at least.
  function fitBreakdown() {
    breakdown.fit(window.innerWidth * 0.008);
  }
  on(window, 'resize', function () { if (!ui.qBreakdown.hidden) fitBreakdown(); });

  function renderTranslations(q) {
    clear(ui.qTranslations);
    if (!q.translations || typeof q.translations !== 'object') return;
    Object.keys(q.translations).slice(0, 3).forEach(function (tag) {
      const tr = q.translations[tag];
      if (!tr || typeof tr.prompt !== 'string' || !tr.prompt) return;
      ui.qTranslations.appendChild(el('p', { lang: tag, text: tr.prompt }));
    });
  }

  // What the room sees before the results are revealed.
  function renderOptions(q) {
    clear(ui.qOptions);
    ui.qOptions.className = 'options options-' + q.kind;
    const options = Array.isArray(q.options) ? q.options : [];
    if (q.kind === 'single' || q.kind === 'multiple' || q.kind === 'ranking') {
      if (options.length > 4) ui.qOptions.classList.add('options-two-col');
      options.forEach(function (o, i) {
        const badge = el('span', { className: 'opt-letter', text: letter(i) });
        const card = el('div', { className: 'opt', dataset: { option: String(i) } }, [
          badge,
          el('span', { className: 'opt-label', text: optionLabel(o) })
        ]);
        paint(badge, optionColour(q, i));
        card.style.borderColor = optionColour(q, i).bg;
        ui.qOptions.appendChild(card);
      });
      let extra = '';
      if (q.kind === 'multiple' && typeof q.max_choices === 'number' && q.max_choices < options.length) {
        extra = t('Choose up to {n}.', { n: q.max_choices });
      } else if (q.kind === 'multiple') {
        extra = t('Choose all that apply.');
      } else if (q.kind === 'ranking') {
        extra = t('Rank them from best to worst on your phone.');
      }
      if (extra) ui.qOptions.appendChild(el('p', { className: 'opt-note', text: extra }));
    } else if (q.kind === 'scale') {
      const min = typeof q.min === 'number' ? q.min : 1;
      const max = typeof q.max === 'number' ? q.max : 5;
      const row = el('div', { className: 'scale-row' });
      for (let v = min; v <= max; v++) row.appendChild(el('span', { className: 'scale-num', text: String(v) }));
      ui.qOptions.appendChild(row);
      ui.qOptions.appendChild(el('div', { className: 'scale-ends' }, [
        el('span', { text: q.min_label || '' }),
        el('span', { text: q.max_label || '' })
      ]));
    } else if (q.kind === 'wordcloud') {
      const n = typeof q.max_words === 'number' ? q.max_words : 3;
      ui.qOptions.appendChild(el('p', { className: 'opt-note', text: n === 1 ? t('Send one word from your phone.') : t('Send up to {n} words from your phone.', { n: n }) }));
    } else if (q.kind === 'open') {
      ui.qOptions.appendChild(el('p', { className: 'opt-note', text: t('Answer on your phone.') }));
    }
  }

  function tick() {
    const q = current();
    if (q && q.state === 'open' && typeof q.closes_at === 'number') {
      const left = q.closes_at - clock.now();
      ui.qTimer.hidden = false;
      setText(ui.qTimer, left > 0 ? formatRemaining(left) : '0:00');
      ui.qTimer.classList.toggle('is-urgent', left < 10000);
    } else {
      ui.qTimer.hidden = true;
    }
  }
  onTick(tick);

  /* ------------------------------------------------------------ full screen, idle cursor */

  function toggleFullscreen() {
    const doc = document;
    const root = doc.documentElement;
    const isFull = doc.fullscreenElement || doc.webkitFullscreenElement;
    try {
      if (isFull) {
        if (doc.exitFullscreen) doc.exitFullscreen();
        else if (doc.webkitExitFullscreen) doc.webkitExitFullscreen();
      } else if (root.requestFullscreen) {
        const p = root.requestFullscreen();
        if (p && p.catch) p.catch(function () { /* refused */ });
      } else if (root.webkitRequestFullscreen) {
        root.webkitRequestFullscreen();
      }
    } catch (e) { /* not allowed */ }
  }
  on(ui.fullscreen, 'click', toggleFullscreen);
  on(document, 'keydown', function (ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (ev.key === 'f' || ev.key === 'F') { ev.preventDefault(); toggleFullscreen(); }
    if ((ev.key === 'd' || ev.key === 'D') && !ui.qDigest.hidden) { ev.preventDefault(); toggleDigest(); }
  });

  let idleTimer = null;
  function wake() {
    document.body.classList.remove('idle');
    clearTimeout(idleTimer);
    idleTimer = setTimeout(function () { document.body.classList.add('idle'); }, 3000);
  }
  on(document, 'mousemove', wake);
  on(document, 'mousedown', wake);
  on(document, 'keydown', wake);
  wake();

  i18n.onChange(function () { shownKey = null; render(); });
  watchNetwork(sock);
  sock.start();
  render();
}
