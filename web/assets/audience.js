/* handsup: the audience page (a phone). */
import { $, on, setText } from './dom.js';
import { codeFromPath, definitionKey, letter, spacedCode } from './format.js';
import { i18n, localize, preferredLanguages, startI18n, t } from './i18n.js';
import { api, apiError } from './http.js';
import { Socket, watchNetwork } from './socket.js';
import { store } from './store.js';
import { connectionBadge } from './ui.js';
import { clock, onTick } from './time.js';
import { ballots, findQuestion, initialView, view as reduceView } from './reducers.js';
import { QuestionView } from './audience-question.js';

const code = codeFromPath();
if (!code) window.location.replace('/');
else start();

function start() {
  startI18n();
  const TOKEN_KEY = 'handsup:' + code + ':token';
  const PENDING_KEY = 'handsup:' + code + ':pending';
  const POLL_MS = 2000;
  const FALLBACK_AFTER_MS = 5000;
  const FALLBACK_AFTER_FAILURES = 3;

  // The session as the server says it is (see reducers.js).
  let view = initialView({ drafts: false });

  // This phone's own state.
  let state = {
    ended: false,
    ballots: {},        // question id -> choice confirmed by the server
    pending: {},        // question id -> {op: 'vote'|'retract', choice, status: 'queued'|'sending'}
    drafts: {},         // question id -> local, unsent edits (multiple, wordcloud, open, ranking)
    errors: {},         // question id -> message to show
    polling: false,
    pollOk: false,
    downSince: Date.now()
  };

  const ui = {
    title: $('#title'),
    conn: $('#conn'),
    lang: $('#lang'),
    main: $('#main'),
    loading: $('#loading'),
    waiting: $('#waiting'),
    questions: $('#questions'),
    ended: $('#ended'),
    endedTitle: $('#ended-title'),
    endedText: $('#ended-text'),
    codeLabel: $('#code-label')
  };
  function codeLabel() { setText(ui.codeLabel, t('Session {code}', { code: spacedCode(code) })); }
  codeLabel();

  /* ------------------------------------------------------------ pending votes */

  (function restorePending() {
    let saved = store.getJSON(PENDING_KEY, {});
    if (saved && typeof saved === 'object') {
      Object.keys(saved).forEach(function (qid) {
        let p = saved[qid];
        if (p && (p.op === 'vote' || p.op === 'retract')) {
          state.pending[qid] = { op: p.op, choice: p.choice, status: 'queued' };
        }
      });
    }
  })();

  function savePending() {
    let out = {};
    Object.keys(state.pending).forEach(function (qid) {
      let p = state.pending[qid];
      out[qid] = { op: p.op, choice: p.choice };
    });
    if (Object.keys(out).length) store.setJSON(PENDING_KEY, out);
    else store.remove(PENDING_KEY);
  }

  function hasBallot(qid) {
    return Object.prototype.hasOwnProperty.call(state.ballots, qid) &&
      state.ballots[qid] !== null && state.ballots[qid] !== undefined;
  }

  // What this phone has chosen for a question: the pending change, else the counted ballot.
  function selectionOf(qid) {
    let p = state.pending[qid];
    if (p) return p.op === 'vote' ? p.choice : null;
    return hasBallot(qid) ? state.ballots[qid] : null;
  }

  function submit(qid, op, choice) {
    delete state.errors[qid];
    state.pending[qid] = { op: op, choice: op === 'vote' ? choice : null, status: 'queued' };
    savePending();
    flush(qid);
    render();
  }

  function flush(qid) {
    let p = state.pending[qid];
    if (!p || p.status === 'sending' || state.ended) return;
    if (sock.isOpen()) {
      let msg = p.op === 'vote'
        ? { type: 'vote', question_id: qid, choice: p.choice }
        : { type: 'retract', question_id: qid };
      let ref = sock.send(msg, function (err) { settle(qid, p, err); });
      if (ref) p.status = 'sending';
    } else if (state.polling) {
      p.status = 'sending';
      httpSend(qid, p).then(function (err) { settle(qid, p, err); render(); });
    }
  }

  function flushAll() {
    Object.keys(state.pending).forEach(function (qid) {
      if (state.pending[qid].status !== 'sending') flush(qid);
    });
  }

  function settle(qid, p, err) {
    let current = state.pending[qid] === p;
    if (!err) {
      // Acknowledged: the server counts it, as a `ballot` message would say.
      state.ballots = ballots(state.ballots, { type: 'ballot', question_id: qid, choice: p.op === 'vote' ? p.choice : null });
      if (current) { delete state.pending[qid]; savePending(); }
    } else if (err.code === 'disconnected') {
      if (current) p.status = 'queued';
    } else if (err.code === 'rate_limited' || err.code === 'unavailable') {
      // Busy, or the server's store is away for a moment: try again shortly.
      if (current) {
        p.status = 'retrying';
        setTimeout(function () { flush(qid); render(); }, 1500 + Math.random() * 1000);
      }
    } else {
      if (current) {
        delete state.pending[qid];
        savePending();
        state.errors[qid] = err.code === 'not_open'
          ? t('Voting is closed: this vote was not counted.')
          : t('Not counted: {reason}', { reason: err.message || err.code });
        state.drafts[qid] = null;
      }
    }
    render();
  }

  /* ------------------------------------------------------------ HTTP fallback */

  let creatingParticipant = null;
  function participantToken() {
    let token = store.get(TOKEN_KEY);
    if (token) return Promise.resolve(token);
    if (creatingParticipant) return creatingParticipant;
    creatingParticipant = api('POST', '/api/sessions/' + code + '/participants', {}).then(function (res) {
      creatingParticipant = null;
      if (res.ok && res.body && res.body.participant_token) {
        store.set(TOKEN_KEY, res.body.participant_token);
        return res.body.participant_token;
      }
      throw apiError(res);
    }, function () {
      creatingParticipant = null;
      throw { code: 'disconnected', message: 'Network error' };
    });
    return creatingParticipant;
  }

  // Resolves with null (accepted) or an error {code, message}.
  function httpSend(qid, p, retried) {
    return participantToken().then(function (token) {
      let path = '/api/sessions/' + code + '/questions/' + encodeURIComponent(qid) + '/ballot';
      let req = p.op === 'vote'
        ? api('PUT', path, { choice: p.choice }, token)
        : api('DELETE', path, undefined, token);
      return req.then(function (res) {
        if (res.ok) return null;
        if (res.status === 401 && !retried) {
          store.remove(TOKEN_KEY);
          return httpSend(qid, p, true);
        }
        if (p.op === 'retract' && res.status === 404) return null;
        return apiError(res);
      }, function () {
        return { code: 'disconnected', message: 'Network error' };
      });
    }, function (err) {
      return err && err.code ? err : { code: 'disconnected', message: 'Network error' };
    });
  }

  let pollTimer = null;
  function startPolling() {
    if (state.polling || state.ended) return;
    state.polling = true;
    poll();
  }
  function stopPolling() {
    state.polling = false;
    state.pollOk = false;
    clearTimeout(pollTimer);
  }
  function poll() {
    clearTimeout(pollTimer);
    if (!state.polling) return;
    api('GET', '/api/sessions/' + code).then(function (res) {
      if (!state.polling) return;
      if (res.status === 404) {
        showEnded(view.loaded ? null : 'notfound');
        return;
      }
      if (res.ok && res.body) {
        state.pollOk = true;
        if (res.date && !sock.isOpen()) {
          let t = Date.parse(res.date);
          if (!isNaN(t) && Math.abs(t - Date.now()) > 2000) clock.setServerTime(t);
        }
        view = reduceView(view, { type: 'session_view', session: res.body });
        flushAll();
      } else {
        state.pollOk = false;
      }
      render();
      pollTimer = setTimeout(poll, POLL_MS);
    }, function () {
      state.pollOk = false;
      render();
      pollTimer = setTimeout(poll, POLL_MS);
    });
  }

  /* ------------------------------------------------------------ socket */

  const sock = new Socket({
    code: code,
    role: 'audience',
    token: function () { return store.get(TOKEN_KEY); },
    maxDelay: 30000,
    onState: function (s) {
      if (s === 'open') {
        stopPolling();
      } else if (state.downSince === null) {
        state.downSince = Date.now();
      }
      // An unknown code refuses the upgrade: say so rather than retry for ever.
      if (s === 'waiting' && !view.loaded && sock.failures === 1) {
        api('GET', '/api/sessions/' + code).then(function (res) {
          if (res.status === 404 && !view.loaded) showEnded('notfound');
        }, function () { /* offline: keep trying */ });
      }
      render();
    },
    onMessage: onMessage
  });

  onTick(function () {
    if (!sock.isOpen() && !state.polling && !state.ended && state.downSince !== null) {
      if (Date.now() - state.downSince > FALLBACK_AFTER_MS || sock.failures >= FALLBACK_AFTER_FAILURES) {
        startPolling();
        render();
      }
    }
    tickTimers();
  });

  function onMessage(msg) {
    view = reduceView(view, msg);
    state.ballots = ballots(state.ballots, msg);
    switch (msg.type) {
      case 'welcome':
        state.downSince = null;
        if (msg.participant_token) store.set(TOKEN_KEY, msg.participant_token);
        Object.keys(state.pending).forEach(function (qid) { state.pending[qid].status = 'queued'; });
        flushAll();
        break;
      case 'question':
        if (msg.question && msg.question.id && msg.question.state === 'open') delete state.errors[msg.question.id];
        break;
      case 'question_removed':
        delete state.pending[msg.question_id];
        savePending();
        break;
      case 'order':
      case 'present':
      case 'tally':
        break;
      case 'ballot':
        if (msg.question_id && !state.pending[msg.question_id]) state.drafts[msg.question_id] = null;
        break;
      case 'ended':
        showEnded(null);
        return;
      default:
        return;
    }
    render();
  }

  function showEnded(reason) {
    state.ended = true;
    sock.stop();
    stopPolling();
    state.pending = {};
    savePending();
    if (reason === 'notfound') {
      ui.endedTitle.removeAttribute('data-i18n');
      ui.endedText.removeAttribute('data-i18n');
      setText(ui.endedTitle, t('No session with code {code}', { code: spacedCode(code) }));
      setText(ui.endedText, t('Check the code on the screen and try again.'));
    }
    ui.main.hidden = true;
    ui.ended.hidden = false;
    connectionBadge(ui.conn, 'ended');
  }

  /* ------------------------------------------------------------ rendering */

  const views = {};        // question id -> QuestionView
  let langTags = '';

  // The presented question; else the open ones; else, the ones shown last (now closed),
  // so a phone says "Voting is closed" and shows revealed results instead of going blank.
  let lastShown = [];
  function visibleQuestions() {
    let shown;
    let current = view.presentation.current;
    let cur = current ? findQuestion(view.questions, current) : null;
    if (cur && (cur.state === 'open' || cur.state === 'closed')) shown = [cur];
    else shown = view.questions.filter(function (q) { return q.state === 'open'; });
    if (!shown.length) {
      shown = lastShown.map(function (id) { return findQuestion(view.questions, id); })
        .filter(function (q) { return q && q.state === 'closed'; });
    }
    lastShown = shown.map(function (q) { return q.id; });
    return shown;
  }

  function wantedLanguages() { return preferredLanguages(); }

  // The picker offers the interface languages and any language a question is translated into.
  function renderLanguagePicker() {
    let tags = {};
    view.questions.forEach(function (q) {
      if (q.translations && typeof q.translations === 'object') {
        Object.keys(q.translations).forEach(function (t) { tags[t] = true; });
      }
    });
    let list = Object.keys(tags).sort();
    let key = list.join(',');
    if (key === langTags) return;
    langTags = key;
    i18n.setExtra(list);
  }
  i18n.onChange(function () { codeLabel(); render(); });

  function render() {
    if (state.ended) return;
    // connection badge
    if (sock.isOpen()) connectionBadge(ui.conn, 'open');
    else if (state.polling && state.pollOk) connectionBadge(ui.conn, 'polling');
    else if (state.polling) connectionBadge(ui.conn, 'offline');
    else connectionBadge(ui.conn, sock.state === 'waiting' ? 'waiting' : 'connecting');

    setText(ui.title, view.title || 'handsup');
    document.title = (view.title ? view.title + ' · ' : '') + 'handsup';
    renderLanguagePicker();

    ui.loading.hidden = view.loaded;
    if (!view.loaded) return;

    let shown = visibleQuestions();
    ui.waiting.hidden = shown.length > 0;
    let wanted = wantedLanguages();
    let keep = {};
    shown.forEach(function (q, i) {
      let loc = localize(q, wanted);
      let defKey = definitionKey(q) + '|' + loc.lang + '|' + i18n.lang;
      let qv = views[q.id];
      if (!qv || qv.defKey !== defKey) {
        if (qv && qv.el.parentNode) qv.el.parentNode.removeChild(qv.el);
        qv = views[q.id] = new QuestionView(q, loc, defKey, phone);
      }
      keep[q.id] = true;
      qv.update(q);
      if (ui.questions.children[i] !== qv.el) ui.questions.insertBefore(qv.el, ui.questions.children[i] || null);
    });
    Object.keys(views).forEach(function (id) {
      if (!keep[id]) {
        let v = views[id];
        if (v.el.parentNode) v.el.parentNode.removeChild(v.el);
        delete views[id];
      }
    });
  }

  function tickTimers() {
    Object.keys(views).forEach(function (id) { views[id].tick(); });
  }

  function statusFor(q) {
    let qid = q.id;
    let p = state.pending[qid];
    let err = state.errors[qid];
    if (q.state === 'closed') {
      if (p) return t('Voting is closed: your last change was not sent.');
      let verdict = quizVerdict(q);
      return verdict ? t('Voting is closed. {verdict}', { verdict: verdict }) : t('Voting is closed.');
    }
    if (err) return err;
    if (p) {
      if (p.status === 'sending') return t('Sending…');
      if (p.status === 'retrying') return t('The server is busy for a moment: your vote will be sent again shortly.');
      return t('Saved on this phone: it will be sent as soon as the connection is back.');
    }
    if (hasBallot(qid)) {
      if (q.kind === 'open' || q.kind === 'wordcloud') return t('Your answer is counted.');
      return t('Your vote is counted.');
    }
    return '';
  }

  function quizVerdict(q) {
    if (!q.results_visible || !Array.isArray(q.correct) || !q.correct.length || !hasBallot(q.id)) return '';
    let mine = state.ballots[q.id];
    let picks = Array.isArray(mine) ? mine : [mine];
    let right = picks.length === q.correct.length && picks.every(function (i) { return q.correct.indexOf(i) !== -1; });
    let answer = q.correct.map(letter).join(', ');
    return right ? t('You got it right!') : t('The answer was {answer}.', { answer: answer });
  }

  function tagFor(qid) {
    let p = state.pending[qid];
    if (p) return p.status === 'sending' ? t('sending…') : t('saved, not sent yet');
    return hasBallot(qid) ? t('counted ✓') : '';
  }

  // What a question view needs of this phone (see audience-question.js).
  const phone = {
    get pending() { return state.pending; },
    get drafts() { return state.drafts; },
    get errors() { return state.errors; },
    selectionOf: selectionOf,
    hasBallot: hasBallot,
    draftOf: function (qid) { return state.drafts[qid] || null; },
    submit: submit,
    statusFor: statusFor,
    tagFor: tagFor,
    tallyOf: function (qid) { return view.tallies[qid] || null; },
    render: function () { render(); },
    questions: function () { return view.questions; },
    localize: function (q) { return localize(q, wantedLanguages()); },
    minGroup: function () { return view.minGroup; }
  };

  /* ------------------------------------------------------------ start */

  watchNetwork(sock);
  on(window, 'online', function () { if (state.polling) poll(); });
  sock.start();
  render();
}
