/* handsup: the moderator console. The token comes from location.hash and only travels in the hello frame. */
import { $, el, on, setText } from './dom.js';
import { codeFromPath, definitionKey, formatRemaining, spacedCode } from './format.js';
import { i18n, startI18n, t } from './i18n.js';
import { api } from './http.js';
import { Socket, watchNetwork } from './socket.js';
import { isRemembered, rememberSession, forgetSession, onSessionsChange } from './store.js';
import { connectionBadge, toast } from './ui.js';
import { Results } from './results.js';
import { clock, onTick } from './time.js';
import { findQuestion, initialView, view as reduceView } from './reducers.js';
import { questionForm } from './moderate-form.js';
import { fileButtons } from './moderate-files.js';
import { resultsOnly } from './share.js';
import { GroupsPanel, segmentsOf } from './moderate-groups.js';

// The kinds of question as the console names them.
const KIND_NAMES = {
  single: 'Single choice',
  multiple: 'Multiple choice',
  scale: 'Scale',
  wordcloud: 'Word cloud',
  open: 'Open answer',
  ranking: 'Ranking'
};

const code = codeFromPath();
if (!code) window.location.replace('/');
else start();

function tokenFromHash() {
  const hash = window.location.hash.replace(/^#/, '');
  const parts = hash.split('&');
  for (let i = 0; i < parts.length; i++) {
    const kv = parts[i].split('=');
    if (kv[0] === 'token' && kv[1]) {
      try { return decodeURIComponent(kv.slice(1).join('=')); } catch (e) { return null; }
    }
  }
  return null;
}

function start() {
  startI18n();
  const token = tokenFromHash();

  // The session as the server says it is (see reducers.js).
  let state = initialView({ drafts: true });

  function questionList() { return state.questions; }
  function indexOfQuestion(id) {
    const list = state.questions;
    for (let i = 0; i < list.length; i++) if (list[i].id === id) return i;
    return -1;
  }
  function current() { return state.presentation.current; }
  // The role this console was opened with, as the welcome says (a link's scope, else the moderator).
  let scope = 'moderator';

  const ui = {
    title: $('#title'),
    code: $('#code'),
    people: $('#people'),
    peopleLabel: $('#people-label'),
    conn: $('#conn'),
    linkScreen: $('#link-screen'),
    linkAudience: $('#link-audience'),
    fatal: $('#fatal'),
    fatalTitle: $('#fatal-title'),
    fatalText: $('#fatal-text'),
    main: $('#main'),
    presentingText: $('#presenting-text'),
    clearScreen: $('#clear-screen'),
    qlist: $('#qlist'),
    empty: $('#empty')
  };
  const formUi = {
    form: $('#qform'),
    formTitle: $('#form-title'),
    kind: $('#f-kind'),
    prompt: $('#f-prompt'),
    options: $('#f-options'),
    maxChoices: $('#f-max-choices'),
    correct: $('#f-correct'),
    min: $('#f-min'),
    max: $('#f-max'),
    minLabel: $('#f-min-label'),
    maxLabel: $('#f-max-label'),
    maxWords: $('#f-max-words'),
    segment: $('#f-segment'),
    formError: $('#form-error'),
    submit: $('#f-submit'),
    cancel: $('#f-cancel')
  };

  setText(ui.code, spacedCode(code));
  ui.linkScreen.href = '/' + code + '/screen';
  ui.linkAudience.href = '/' + code;

  function fatal(title, text) {
    ui.main.hidden = true;
    ui.fatal.hidden = false;
    ui.fatalTitle.removeAttribute('data-i18n');
    setText(ui.fatalTitle, title);
    if (text) ui.fatalText.removeAttribute('data-i18n');
    if (text) setText(ui.fatalText, text);
  }

  /* ------------------------------------------------------------ socket */

  const sock = new Socket({
    code: code,
    role: 'moderator',
    token: token,
    onState: function (s, info) {
      connectionBadge(ui.conn, s);
      if (s === 'fatal' && info.reason === 'unauthorized') {
        fatal(t('Invalid moderator link'));
      }
      // A good link whose role opens no socket: the results' downloads.
      if (s === 'fatal' && info.reason === 'forbidden') resultsOnly();
      if (s === 'ended') {
        fatal(t('This session has ended'), t('It was deleted. Its questions and results are gone.'));
      }
      if (s === 'waiting' && !state.loaded && sock.failures >= 3) {
        // An unknown code refuses the upgrade: find out whether the session exists at all.
        api('GET', '/api/sessions/' + code).then(function (res) {
          if (res.status === 404) {
            sock.stop();
            fatal(t('No session with code {code}', { code: spacedCode(code) }), t('It may have been deleted, or the link is wrong.'));
          }
        }, function () { /* offline: keep trying */ });
      }
    },
    onMessage: onMessage
  });

  function onMessage(msg) {
    if (msg.type === 'error') {
      if (!msg.ref && msg.code !== 'unauthorized') toast(errorText(msg), 'error');
      return;
    }
    if (msg.type === 'welcome') scope = typeof msg.scope === 'string' ? msg.scope : 'moderator';
    const next = reduceView(state, msg);
    if (next === state) return;
    state = next;
    if (msg.type === 'welcome') {
      // Kept on this computer only if the chair said so (see "remember" below).
      if (isRemembered(code)) rememberSession({ code: code, title: state.title, token: token });
      renderRemember();
    }
    if (msg.type === 'question_removed' && form.editing() === msg.question_id) form.reset();
    render();
  }

  function errorText(err) {
    const text = err.message || t('Something went wrong');
    return err.code ? text + ' (' + err.code + ')' : text;
  }

  // Sends a moderator action; errors show as a toast. done(reply) runs on ack.
  function act(msg, done, settled) {
    const ref = sock.send(msg, function (err, reply) {
      if (settled) settled();
      if (err) {
        if (err.code === 'disconnected') toast(t('Connection lost before the server confirmed. Check the result when it reconnects.'), 'error');
        else toast(errorText(err), 'error');
        return;
      }
      if (done) done(reply);
    });
    if (!ref) {
      if (settled) settled();
      toast(t('Not connected to the server right now: try again in a moment.'), 'error');
    }
    return ref;
  }

  /* ------------------------------------------------------------ remember on this computer */

  // The moderator token stays out of this browser's storage unless the chair ticks the box:
  // on a shared venue PC anyone could open the console from the start page. Unticking forgets
  // it; the start page forgets one session or all of them.
  const remember = $('#remember');
  const rememberHint = $('#remember-hint');
  function renderRemember() {
    const yes = isRemembered(code);
    remember.checked = yes;
    remember.disabled = !state.loaded;
    setText(rememberHint, yes
      ? t('The start page of this computer lists it, with its console link.')
      : t('Leave unticked on a shared computer.'));
  }
  on(remember, 'change', function () {
    if (remember.checked && state.loaded) rememberSession({ code: code, title: state.title, token: token });
    else forgetSession(code);
    renderRemember();
  });
  onSessionsChange(renderRemember);
  i18n.onChange(renderRemember);
  renderRemember();

  /* ------------------------------------------------------------ the digest on the projector */

  // The setting show_digest: the projector shows the session's digest under revealed results.
  const showDigest = $('#show-digest');
  on(showDigest, 'change', function () {
    const wanted = showDigest.checked;
    showDigest.disabled = true;
    showDigest.dataset.busy = '1';
    act({ type: 'settings', show_digest: wanted }, null, function () {
      delete showDigest.dataset.busy;
      showDigest.disabled = !state.loaded;
      showDigest.checked = state.showDigest;
    });
  });

  /* ------------------------------------------------------------ the summary and the floor */

  // The setting public_summary: anyone with the code may read /{code}/summary.
  const publicSummary = $('#public-summary');
  const linkSummary = $('#link-summary');
  linkSummary.href = '/' + code + '/summary';
  on(publicSummary, 'change', function () {
    const wanted = publicSummary.checked;
    publicSummary.disabled = true;
    publicSummary.dataset.busy = '1';
    act({ type: 'settings', public_summary: wanted }, null, function () {
      delete publicSummary.dataset.busy;
      render();
    });
  });

  // The setting min_group: a group of a breakdown with fewer voters is not shown anywhere.
  const minGroupInput = $('#min-group');
  on(minGroupInput, 'change', function () {
    const n = Number(minGroupInput.value);
    if (!(Math.floor(n) === n && n >= 1 && n <= 1000)) {
      toast(t('Groups: a whole number of people from 1 (show every group) to 1000.'), 'error');
      minGroupInput.value = String(state.minGroup);
      return;
    }
    minGroupInput.disabled = true;
    minGroupInput.dataset.busy = '1';
    act({ type: 'settings', min_group: n }, null, function () {
      delete minGroupInput.dataset.busy;
      render();
    });
  });

  function renderSettings() {
    if (!publicSummary.dataset.busy) {
      publicSummary.checked = state.publicSummary;
      publicSummary.disabled = !state.loaded;
    }
    linkSummary.hidden = !state.publicSummary;
    if (!minGroupInput.dataset.busy) {
      if (document.activeElement !== minGroupInput) minGroupInput.value = String(state.minGroup);
      minGroupInput.disabled = !state.loaded;
    }
  }

  /* ------------------------------------------------------------ rendering */

  const items = {};   // question id -> QuestionItem

  function render() {
    setText(ui.title, state.title || 'handsup');
    if (!showDigest.dataset.busy) {
      showDigest.checked = state.showDigest;
      showDigest.disabled = !state.loaded;
    }
    renderSettings();
    document.title = (state.title ? state.title + ' · ' : '') + 'moderator · handsup';
    setText(ui.people, state.audience);
    setText(ui.peopleLabel, state.audience === 1 ? t('person connected') : t('people connected'));

    const cur = current() ? findQuestion(state.questions, current()) : null;
    if (cur) setText(ui.presentingText, (indexOfQuestion(cur.id) + 1) + '. ' + cur.prompt);
    else if (state.presentation.qa) setText(ui.presentingText, t('the Q&A board'));
    else setText(ui.presentingText, t('nothing (join instructions)'));
    ui.clearScreen.hidden = !cur && !state.presentation.qa;

    const list = state.questions;
    ui.empty.hidden = !state.loaded || list.length > 0;
    const keep = {};
    const groupsView = { questions: list, segments: segmentsOf(list), scope: scope, minGroup: state.minGroup };
    list.forEach(function (q, i) {
      let item = items[q.id];
      if (!item) item = items[q.id] = new QuestionItem(q.id);
      keep[q.id] = true;
      item.update(q, i, list.length, groupsView);
      if (ui.qlist.children[i] !== item.el) ui.qlist.insertBefore(item.el, ui.qlist.children[i] || null);
    });
    Object.keys(items).forEach(function (id) {
      if (!keep[id]) {
        if (items[id].el.parentNode) items[id].el.parentNode.removeChild(items[id].el);
        delete items[id];
      }
    });
  }

  function button(action, text, cls) {
    return el('button', { type: 'button', className: 'btn btn-small ' + (cls || 'btn-secondary'), dataset: { action: action }, text: text });
  }

  function QuestionItem(id) {
    let self = this;
    this.id = id;
    this.num = el('span', { className: 'mq-num' });
    this.kind = el('span', { className: 'mq-kind' });
    this.state = el('span', { className: 'mq-state' });
    this.onScreen = el('span', { className: 'mq-flag mq-flag-screen', text: t('On screen'), hidden: true });
    this.visible = el('span', { className: 'mq-flag mq-flag-results', text: t('Results shown'), hidden: true });
    this.timer = el('span', { className: 'mq-timer', hidden: true });
    this.prompt = el('p', { className: 'mq-prompt' });
    this.settings = el('p', { className: 'mq-settings' });
    this.voters = el('p', { className: 'mq-voters' });
    this.resultsBox = el('div');
    this.results = new Results(this.resultsBox);
    this.defKey = null;
    // The projector's breakdown, and every breakdown by group (moderate-groups.js).
    this.groups = new GroupsPanel(function (by, settled) {
      act({ type: 'breakdown', question_id: self.id, by: by }, null, settled);
    });

    this.btn = {
      present: button('present', t('Show on screen'), 'btn'),
      open: button('open', t('Open voting'), 'btn'),
      close: button('close', t('Close voting')),
      reveal: button('reveal', t('Reveal results')),
      hide: button('hide', t('Hide results')),
      reset: button('reset', t('Reset votes'), 'btn-danger'),
      edit: button('edit', t('Edit')),
      up: button('up', '↑'),
      down: button('down', '↓'),
      del: button('delete', t('Delete'), 'btn-danger')
    };
    this.btn.up.setAttribute('aria-label', t('Move up'));
    this.btn.down.setAttribute('aria-label', t('Move down'));
    this.duration = el('input', {
      type: 'number', min: '5', max: '3600', step: '5', className: 'mq-duration',
      placeholder: t('timer s'), 'aria-label': t('Timer in seconds (optional)'), inputmode: 'numeric'
    });
    let b = this.btn;
    let actions = el('div', { className: 'mq-actions' }, [
      b.present,
      el('span', { className: 'mq-open-group' }, [b.open, this.duration]),
      b.close, b.reveal, b.hide, b.reset, b.edit,
      el('span', { className: 'mq-spacer' }),
      b.up, b.down, b.del
    ]);

    this.el = el('li', { className: 'mq', dataset: { qid: id } }, [
      el('div', { className: 'mq-head' }, [this.num, this.kind, this.state, this.onScreen, this.visible, this.timer]),
      this.prompt,
      this.settings,
      el('div', { className: 'mq-live' }, [this.voters, this.resultsBox, this.groups.el]),
      actions
    ]);

    on(actions, 'click', function (ev) {
      let target = ev.target;
      while (target && target !== actions && !(target.dataset && target.dataset.action)) target = target.parentNode;
      if (!target || target === actions) return;
      self.onAction(target.dataset.action);
    });
    on(this.duration, 'keydown', function (ev) {
      if (ev.key === 'Enter') { ev.preventDefault(); self.onAction('open'); }
    });
  }

  QuestionItem.prototype.onAction = function (action) {
    let q = findQuestion(state.questions, this.id);
    if (!q) return;
    let id = q.id;
    switch (action) {
      case 'present':
        act({ type: 'present', question_id: current() === id ? null : id });
        break;
      case 'open': {
        const msg = { type: 'open', question_id: id };
        const secs = parseInt(this.duration.value, 10);
        if (secs > 0) msg.duration_s = secs;
        const input = this.duration;
        act(msg, function () { input.value = ''; });
        break;
      }
      case 'close':
      case 'reveal':
      case 'hide':
        act({ type: action, question_id: id });
        break;
      case 'reset':
        if (window.confirm(t('Delete all votes of "{q}"? This cannot be undone.', { q: q.prompt.slice(0, 80) }))) {
          act({ type: 'reset', question_id: id }, function () { toast('Votes deleted.', 'ok'); });
        }
        break;
      case 'delete':
        if (window.confirm(t('Delete the question "{q}" and its votes?', { q: q.prompt.slice(0, 80) }))) {
          act({ type: 'delete_question', question_id: id });
        }
        break;
      case 'edit':
        form.startEdit(q);
        break;
      case 'up':
      case 'down': {
        const index = indexOfQuestion(id) + (action === 'up' ? -1 : 1);
        if (index < 0 || index >= state.questions.length) return;
        act({ type: 'move_question', question_id: id, index: index }, function () {
          const moved = reduceView(state, { type: 'move_question', question_id: id, index: index });
          if (moved !== state) { state = moved; render(); }
        });
        break;
      }
    }
  };

  function settingsText(q) {
    let opts = Array.isArray(q.options) ? q.options.length : 0;
    switch (q.kind) {
      case 'single': return t('{n} options', { n: opts }) + (Array.isArray(q.correct) && q.correct.length ? ' · ' + t('quiz') : '');
      case 'multiple':
        return t('{n} options · up to {max} choices', { n: opts, max: q.max_choices || opts }) +
          (Array.isArray(q.correct) && q.correct.length ? ' · ' + t('quiz') : '');
      case 'scale':
        return t('from {min} to {max}', { min: q.min + (q.min_label ? ' (' + q.min_label + ')' : ''), max: q.max + (q.max_label ? ' (' + q.max_label + ')' : '') });
      case 'wordcloud': return t('up to {n} words each', { n: q.max_words || 3 });
      case 'open': return t('free text, 280 characters');
      case 'ranking': return t('{n} options to rank', { n: opts });
    }
    return '';
  }

  QuestionItem.prototype.update = function (q, index, count, groupsView) {
    this.q = q;
    const li = this.el;
    li.dataset.state = q.state;
    li.classList.toggle('is-current', current() === q.id);
    li.classList.toggle('is-editing', form.editing() === q.id);
    setText(this.num, (index + 1) + '.');
    setText(this.kind, t(KIND_NAMES[q.kind] || q.kind) + (q.segment === true ? ' · ' + t('groups the room') : ''));
    setText(this.state, q.state === 'open' ? t('Open') : q.state === 'closed' ? t('Closed') : t('Draft'));
    this.state.dataset.state = q.state;
    this.onScreen.hidden = current() !== q.id;
    this.visible.hidden = !q.results_visible;

    let defKey = definitionKey(q) + JSON.stringify(q.correct || null);
    if (defKey !== this.defKey) {
      this.defKey = defKey;
      setText(this.prompt, q.prompt);
      setText(this.settings, settingsText(q));
      this.results.reset();
    }

    let tally = state.tallies[q.id] || null;
    let voters = tally && typeof tally.voters === 'number' ? tally.voters : 0;
    setText(this.voters, q.state === 'draft' && !tally ? t('Not opened yet') : t(voters === 1 ? '{n} voter' : '{n} voters', { n: voters }));
    this.voters.dataset.voters = String(voters);
    if (q.state !== 'draft' || tally) {
      this.resultsBox.hidden = false;
      this.results.update(q, null, tally, { showCorrect: Array.isArray(q.correct) });
    } else {
      this.resultsBox.hidden = true;
    }
    this.groups.update(q, tally, groupsView);

    let b = this.btn;
    setText(b.present, current() === q.id ? t('Remove from screen') : t('Show on screen'));
    b.open.hidden = q.state === 'open';
    this.duration.hidden = q.state === 'open';
    setText(b.open, q.state === 'closed' ? t('Reopen voting') : t('Open voting'));
    b.close.hidden = q.state !== 'open';
    b.reveal.hidden = !!q.results_visible;
    b.hide.hidden = !q.results_visible;
    b.reset.disabled = q.state === 'draft' && !voters;
    b.edit.hidden = q.state !== 'draft';
    b.up.disabled = index === 0;
    b.down.disabled = index === count - 1;
    this.tick();
  };

  QuestionItem.prototype.tick = function () {
    let q = this.q;
    if (q && q.state === 'open' && typeof q.closes_at === 'number') {
      let left = q.closes_at - clock.now();
      this.timer.hidden = false;
      setText(this.timer, left > 0 ? t('closes in {time}', { time: formatRemaining(left) }) : t('closing…'));
    } else {
      this.timer.hidden = true;
    }
  };


  /* ------------------------------------------------------------ the question form, the files */

  const form = questionForm(formUi, {
    questions: questionList,
    indexOf: indexOfQuestion,
    send: function (msg, cb) { return sock.send(msg, cb); },
    errorText: errorText,
    changed: function () { render(); }
  });
  fileButtons(code, token, errorText);

  /* ------------------------------------------------------------ clicker keys */

  // The question the keys last asked to put on screen, until the server
  // answers: a chair who presses Next then Open at once opens the question
  // that is going up, not the one still showing.
  let asked = null;
  function aimed() { return asked !== null ? asked : current(); }

  function presentAt(index) {
    let list = state.questions;
    if (!list.length) return;
    index = Math.max(0, Math.min(list.length - 1, index));
    const id = list[index].id;
    if (id === aimed()) return;
    asked = id;
    act({ type: 'present', question_id: id }, null, function () { if (asked === id) asked = null; });
  }

  on(document, 'keydown', function (ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const target = ev.target;
    const tag = target && target.tagName;
    if (tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT' || (target && target.isContentEditable)) return;
    let curIndex = aimed() ? indexOfQuestion(aimed()) : -1;
    let cur = curIndex === -1 ? null : state.questions[curIndex];
    switch (ev.key) {
      case 'PageDown':
      case 'ArrowRight':
        ev.preventDefault();
        presentAt(curIndex + 1);
        break;
      case 'PageUp':
      case 'ArrowLeft':
        ev.preventDefault();
        presentAt(curIndex === -1 ? state.questions.length - 1 : curIndex - 1);
        break;
      case 'o':
      case 'O':
        if (!cur) { toast(t('Nothing is on screen.'), 'info'); return; }
        act({ type: cur.state === 'open' ? 'close' : 'open', question_id: cur.id });
        break;
      case 'r':
      case 'R':
        if (!cur) { toast(t('Nothing is on screen.'), 'info'); return; }
        act({ type: cur.results_visible ? 'hide' : 'reveal', question_id: cur.id });
        break;
    }
  });

  /* ------------------------------------------------------------ start */

  // Another interface language: rebuild the question rows and the form's texts.
  i18n.onChange(function () {
    Object.keys(items).forEach(function (id) {
      if (items[id].el.parentNode) items[id].el.parentNode.removeChild(items[id].el);
      delete items[id];
    });
    form.relabel();
    render();
  });

  form.reset();
  if (!token) {
    fatal(t('Invalid moderator link'), t('This link has no moderator token. Use the full link you got when the session was created.'));
    connectionBadge(ui.conn, 'fatal');
    return;
  }
  watchNetwork(sock);
  sock.start();
}
