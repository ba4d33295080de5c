/* handsup: the audience page (a phone). */
(function () {
  'use strict';
  var H = window.Handsup;
  var code = H.codeFromPath();
  if (!code) { window.location.replace('/'); return; }

  var TOKEN_KEY = 'handsup:' + code + ':token';
  var PENDING_KEY = 'handsup:' + code + ':pending';
  var POLL_MS = 2000;
  var FALLBACK_AFTER_MS = 5000;
  var FALLBACK_AFTER_FAILURES = 3;

  var state = {
    loaded: false,
    ended: false,
    title: '',
    questions: new H.QuestionList(),
    current: null,
    qa: false,
    tallies: new H.TallyStore(),
    ballots: {},        // question id -> choice confirmed by the server
    pending: {},        // question id -> {op: 'vote'|'retract', choice, status: 'queued'|'sending'}
    drafts: {},         // question id -> local, unsent edits (multiple, wordcloud, open, ranking)
    errors: {},         // question id -> message to show
    polling: false,
    pollOk: false,
    downSince: Date.now()
  };

  var ui = {
    title: H.$('#title'),
    conn: H.$('#conn'),
    lang: H.$('#lang'),
    main: H.$('#main'),
    loading: H.$('#loading'),
    waiting: H.$('#waiting'),
    questions: H.$('#questions'),
    ended: H.$('#ended'),
    endedTitle: H.$('#ended-title'),
    endedText: H.$('#ended-text'),
    codeLabel: H.$('#code-label')
  };
  function codeLabel() { H.setText(ui.codeLabel, H.t('Session {code}', { code: H.spacedCode(code) })); }
  codeLabel();

  /* ------------------------------------------------------------ pending votes */

  (function restorePending() {
    var saved = H.store.getJSON(PENDING_KEY, {});
    if (saved && typeof saved === 'object') {
      Object.keys(saved).forEach(function (qid) {
        var p = saved[qid];
        if (p && (p.op === 'vote' || p.op === 'retract')) {
          state.pending[qid] = { op: p.op, choice: p.choice, status: 'queued' };
        }
      });
    }
  })();

  function savePending() {
    var out = {};
    Object.keys(state.pending).forEach(function (qid) {
      var p = state.pending[qid];
      out[qid] = { op: p.op, choice: p.choice };
    });
    if (Object.keys(out).length) H.store.setJSON(PENDING_KEY, out);
    else H.store.remove(PENDING_KEY);
  }

  function hasBallot(qid) {
    return Object.prototype.hasOwnProperty.call(state.ballots, qid) &&
      state.ballots[qid] !== null && state.ballots[qid] !== undefined;
  }

  // What this phone has chosen for a question: the pending change, else the counted ballot.
  function selectionOf(qid) {
    var p = state.pending[qid];
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
    var p = state.pending[qid];
    if (!p || p.status === 'sending' || state.ended) return;
    if (sock.isOpen()) {
      var msg = p.op === 'vote'
        ? { type: 'vote', question_id: qid, choice: p.choice }
        : { type: 'retract', question_id: qid };
      var ref = sock.send(msg, function (err) { settle(qid, p, err); });
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
    var current = state.pending[qid] === p;
    if (!err) {
      if (p.op === 'vote') state.ballots[qid] = p.choice;
      else delete state.ballots[qid];
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
          ? H.t('Voting is closed: this vote was not counted.')
          : H.t('Not counted: {reason}', { reason: err.message || err.code });
        state.drafts[qid] = null;
      }
    }
    render();
  }

  /* ------------------------------------------------------------ HTTP fallback */

  var creatingParticipant = null;
  function participantToken() {
    var token = H.store.get(TOKEN_KEY);
    if (token) return Promise.resolve(token);
    if (creatingParticipant) return creatingParticipant;
    creatingParticipant = H.api('POST', '/api/sessions/' + code + '/participants', {}).then(function (res) {
      creatingParticipant = null;
      if (res.ok && res.body && res.body.participant_token) {
        H.store.set(TOKEN_KEY, res.body.participant_token);
        return res.body.participant_token;
      }
      throw H.apiError(res);
    }, function () {
      creatingParticipant = null;
      throw { code: 'disconnected', message: 'Network error' };
    });
    return creatingParticipant;
  }

  // Resolves with null (accepted) or an error {code, message}.
  function httpSend(qid, p, retried) {
    return participantToken().then(function (token) {
      var path = '/api/sessions/' + code + '/questions/' + encodeURIComponent(qid) + '/ballot';
      var req = p.op === 'vote'
        ? H.api('PUT', path, { choice: p.choice }, token)
        : H.api('DELETE', path, undefined, token);
      return req.then(function (res) {
        if (res.ok) return null;
        if (res.status === 401 && !retried) {
          H.store.remove(TOKEN_KEY);
          return httpSend(qid, p, true);
        }
        if (p.op === 'retract' && res.status === 404) return null;
        return H.apiError(res);
      }, function () {
        return { code: 'disconnected', message: 'Network error' };
      });
    }, function (err) {
      return err && err.code ? err : { code: 'disconnected', message: 'Network error' };
    });
  }

  var pollTimer = null;
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
    H.api('GET', '/api/sessions/' + code).then(function (res) {
      if (!state.polling) return;
      if (res.status === 404) {
        showEnded(state.loaded ? null : 'notfound');
        return;
      }
      if (res.ok && res.body) {
        state.pollOk = true;
        if (res.date && !sock.isOpen()) {
          var t = Date.parse(res.date);
          if (!isNaN(t) && Math.abs(t - Date.now()) > 2000) H.clock.setServerTime(t);
        }
        applySession(res.body);
        state.tallies.reset(res.body.tallies);
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

  var sock = new H.Socket({
    code: code,
    role: 'audience',
    token: function () { return H.store.get(TOKEN_KEY); },
    maxDelay: 30000,
    onState: function (s) {
      if (s === 'open') {
        stopPolling();
      } else if (state.downSince === null) {
        state.downSince = Date.now();
      }
      // An unknown code refuses the upgrade: say so rather than retry for ever.
      if (s === 'waiting' && !state.loaded && sock.failures === 1) {
        H.api('GET', '/api/sessions/' + code).then(function (res) {
          if (res.status === 404 && !state.loaded) showEnded('notfound');
        }, function () { /* offline: keep trying */ });
      }
      render();
    },
    onMessage: onMessage
  });

  H.onTick(function () {
    if (!sock.isOpen() && !state.polling && !state.ended && state.downSince !== null) {
      if (Date.now() - state.downSince > FALLBACK_AFTER_MS || sock.failures >= FALLBACK_AFTER_FAILURES) {
        startPolling();
        render();
      }
    }
    tickTimers();
  });

  function onMessage(msg) {
    switch (msg.type) {
      case 'welcome':
        state.downSince = null;
        if (msg.participant_token) H.store.set(TOKEN_KEY, msg.participant_token);
        applySession(msg.session || {});
        state.tallies.reset(msg.session && msg.session.tallies);
        state.ballots = {};
        if (msg.ballots && typeof msg.ballots === 'object') {
          Object.keys(msg.ballots).forEach(function (qid) {
            if (msg.ballots[qid] !== null && msg.ballots[qid] !== undefined) state.ballots[qid] = msg.ballots[qid];
          });
        }
        Object.keys(state.pending).forEach(function (qid) { state.pending[qid].status = 'queued'; });
        flushAll();
        break;
      case 'question':
        if (msg.question && msg.question.id) {
          if (msg.question.state === 'draft') state.questions.remove(msg.question.id);
          else state.questions.upsert(msg.question);
          if (msg.question.state === 'open') delete state.errors[msg.question.id];
        }
        break;
      case 'question_removed':
        state.questions.remove(msg.question_id);
        state.tallies.remove(msg.question_id);
        delete state.pending[msg.question_id];
        delete state.ballots[msg.question_id];
        savePending();
        break;
      case 'order':
        state.questions.reorder(msg.question_ids);
        break;
      case 'present':
        state.current = msg.question_id || null;
        state.qa = !!msg.qa;
        break;
      case 'tally':
        state.tallies.apply(msg);
        break;
      case 'ballot':
        if (msg.question_id) {
          if (msg.choice === null || msg.choice === undefined) delete state.ballots[msg.question_id];
          else state.ballots[msg.question_id] = msg.choice;
          if (!state.pending[msg.question_id]) state.drafts[msg.question_id] = null;
        }
        break;
      case 'ended':
        showEnded(null);
        return;
      default:
        return;
    }
    render();
  }

  function applySession(s) {
    state.loaded = true;
    if (typeof s.title === 'string') state.title = s.title;
    if (Array.isArray(s.questions)) {
      state.questions.reset(s.questions.filter(function (q) { return q.state !== 'draft'; }));
    }
    state.current = s.current || null;
    state.qa = !!s.qa_on_screen;
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
      H.setText(ui.endedTitle, H.t('No session with code {code}', { code: H.spacedCode(code) }));
      H.setText(ui.endedText, H.t('Check the code on the screen and try again.'));
    }
    ui.main.hidden = true;
    ui.ended.hidden = false;
    H.connectionBadge(ui.conn, 'ended');
  }

  /* ------------------------------------------------------------ rendering */

  var views = {};        // question id -> QuestionView
  var langTags = '';

  // The presented question; else the open ones; else, the ones shown last (now closed),
  // so a phone says "Voting is closed" and shows revealed results instead of going blank.
  var lastShown = [];
  function visibleQuestions() {
    var shown;
    var cur = state.current ? state.questions.get(state.current) : null;
    if (cur && (cur.state === 'open' || cur.state === 'closed')) shown = [cur];
    else shown = state.questions.list.filter(function (q) { return q.state === 'open'; });
    if (!shown.length) {
      shown = lastShown.map(function (id) { return state.questions.get(id); })
        .filter(function (q) { return q && q.state === 'closed'; });
    }
    lastShown = shown.map(function (q) { return q.id; });
    return shown;
  }

  function wantedLanguages() { return H.preferredLanguages(); }

  // The picker offers the interface languages and any language a question is translated into.
  function renderLanguagePicker() {
    var tags = {};
    state.questions.list.forEach(function (q) {
      if (q.translations && typeof q.translations === 'object') {
        Object.keys(q.translations).forEach(function (t) { tags[t] = true; });
      }
    });
    var list = Object.keys(tags).sort();
    var key = list.join(',');
    if (key === langTags) return;
    langTags = key;
    H.i18n.setExtra(list);
  }
  H.i18n.onChange(function () { codeLabel(); render(); });

  function render() {
    if (state.ended) return;
    // connection badge
    if (sock.isOpen()) H.connectionBadge(ui.conn, 'open');
    else if (state.polling && state.pollOk) H.connectionBadge(ui.conn, 'polling');
    else if (state.polling) H.connectionBadge(ui.conn, 'offline');
    else H.connectionBadge(ui.conn, sock.state === 'waiting' ? 'waiting' : 'connecting');

    H.setText(ui.title, state.title || 'handsup');
    document.title = (state.title ? state.title + ' · ' : '') + 'handsup';
    renderLanguagePicker();

    ui.loading.hidden = state.loaded;
    if (!state.loaded) return;

    var shown = visibleQuestions();
    ui.waiting.hidden = shown.length > 0;
    var wanted = wantedLanguages();
    var keep = {};
    shown.forEach(function (q, i) {
      var loc = H.localize(q, wanted);
      var defKey = H.definitionKey(q) + '|' + loc.lang + '|' + H.i18n.lang;
      var view = views[q.id];
      if (!view || view.defKey !== defKey) {
        if (view && view.el.parentNode) view.el.parentNode.removeChild(view.el);
        view = views[q.id] = new QuestionView(q, loc, defKey);
      }
      keep[q.id] = true;
      view.update(q);
      if (ui.questions.children[i] !== view.el) ui.questions.insertBefore(view.el, ui.questions.children[i] || null);
    });
    Object.keys(views).forEach(function (id) {
      if (!keep[id]) {
        var v = views[id];
        if (v.el.parentNode) v.el.parentNode.removeChild(v.el);
        delete views[id];
      }
    });
  }

  function tickTimers() {
    Object.keys(views).forEach(function (id) { views[id].tick(); });
  }

  function statusFor(q) {
    var qid = q.id;
    var p = state.pending[qid];
    var err = state.errors[qid];
    if (q.state === 'closed') {
      if (p) return H.t('Voting is closed: your last change was not sent.');
      var verdict = quizVerdict(q);
      return verdict ? H.t('Voting is closed. {verdict}', { verdict: verdict }) : H.t('Voting is closed.');
    }
    if (err) return err;
    if (p) {
      if (p.status === 'sending') return H.t('Sending…');
      if (p.status === 'retrying') return H.t('The server is busy for a moment: your vote will be sent again shortly.');
      return H.t('Saved on this phone: it will be sent as soon as the connection is back.');
    }
    if (hasBallot(qid)) {
      if (q.kind === 'open' || q.kind === 'wordcloud') return H.t('Your answer is counted.');
      return H.t('Your vote is counted.');
    }
    return '';
  }

  function quizVerdict(q) {
    if (!q.results_visible || !Array.isArray(q.correct) || !q.correct.length || !hasBallot(q.id)) return '';
    var mine = state.ballots[q.id];
    var picks = Array.isArray(mine) ? mine : [mine];
    var right = picks.length === q.correct.length && picks.every(function (i) { return q.correct.indexOf(i) !== -1; });
    var answer = q.correct.map(H.letter).join(', ');
    return right ? H.t('You got it right!') : H.t('The answer was {answer}.', { answer: answer });
  }

  function tagFor(qid) {
    var p = state.pending[qid];
    if (p) return p.status === 'sending' ? H.t('sending…') : H.t('saved, not sent yet');
    return hasBallot(qid) ? H.t('counted ✓') : '';
  }

  /* ------------------------------------------------------------ question view */

  function QuestionView(q, loc, defKey) {
    this.id = q.id;
    this.defKey = defKey;
    this.q = q;
    this.loc = loc;
    this.prompt = H.el('h2', { className: 'q-prompt', text: loc.prompt });
    this.stateBadge = H.el('span', { className: 'q-state' });
    this.timer = H.el('span', { className: 'q-timer', hidden: true });
    // The countdown read out at a few steps only, not every second.
    this.timerLive = H.el('span', { className: 'visually-hidden', role: 'timer', 'aria-live': 'polite', 'aria-atomic': 'true' });
    this.timerStep = null;
    this.hint = H.el('p', { className: 'q-hint' });
    this.body = H.el('div', { className: 'q-body' });
    this.status = H.el('p', { className: 'q-status', role: 'status', 'aria-live': 'polite' });
    this.resultsBox = H.el('div');
    this.voters = H.el('p', { className: 'q-voters' });
    this.results = new H.Results(this.resultsBox);
    this.resultsSection = H.el('section', { className: 'q-results', hidden: true, 'aria-label': H.t('Results') }, [
      H.el('h3', { text: H.t('Results') }), this.voters, this.resultsBox
    ]);
    this.el = H.el('section', { className: 'q', lang: loc.lang || undefined, dataset: { qid: q.id, kind: q.kind } }, [
      H.el('div', { className: 'q-meta' }, [this.stateBadge, this.timer, this.timerLive]),
      this.prompt,
      this.hint,
      this.body,
      this.status,
      this.resultsSection
    ]);
    var builder = BUILDERS[q.kind];
    this.refresh = builder ? builder(this, q, loc) : unsupported(this);
  }

  QuestionView.prototype.update = function (q) {
    this.q = q;
    this.el.dataset.state = q.state;
    H.setText(this.stateBadge, q.state === 'open' ? H.t('Voting open') : H.t('Voting closed'));
    this.refresh(q);
    H.setText(this.status, statusFor(q));
    this.status.dataset.tone = state.errors[q.id] ? 'bad' : (state.pending[q.id] ? 'busy' : (hasBallot(q.id) ? 'ok' : ''));
    var tally = state.tallies.get(q.id);
    var showResults = !!q.results_visible;
    this.resultsSection.hidden = !showResults;
    if (showResults) {
      var voters = tally && typeof tally.voters === 'number' ? tally.voters : 0;
      H.setText(this.voters, H.t(voters === 1 ? '{n} person answered' : '{n} people answered', { n: voters }));
      this.results.update(q, this.loc, tally, {
        showCorrect: q.state === 'closed' && Array.isArray(q.correct)
      });
    }
    this.tick();
  };

  QuestionView.prototype.tick = function () {
    var q = this.q;
    if (q.state === 'open' && typeof q.closes_at === 'number') {
      var left = q.closes_at - H.clock.now();
      this.timer.hidden = false;
      H.setText(this.timer, left > 0 ? H.t('closes in {time}', { time: H.formatRemaining(left) }) : H.t('closing…'));
      this.timer.classList.toggle('is-urgent', left < 10000);
      var secs = Math.ceil(left / 1000);
      var step = secs <= 0 ? 0 : secs <= 10 ? 10 : secs <= 30 ? 30 : secs <= 60 ? 60 : null;
      if (step !== this.timerStep) {
        this.timerStep = step;
        H.setText(this.timerLive, step === null ? '' : step === 0 ? H.t('closing…') : H.t('closes in {time}', { time: H.formatRemaining(step * 1000) }));
      }
    } else {
      this.timer.hidden = true;
      this.timerStep = null;
      H.setText(this.timerLive, '');
    }
  };

  function unsupported(view) {
    view.body.appendChild(H.el('p', { text: H.t('This kind of question cannot be answered on this page yet.') }));
    return function () {};
  }

  function draftOf(qid) {
    var d = state.drafts[qid];
    return d || null;
  }

  /* single and scale: tap to vote, tap again to take it back */
  function tapCards(view, q, items, gridClass) {
    var grid = H.el('div', { className: 'cards ' + gridClass });
    var cards = items.map(function (item) {
      var tag = H.el('span', { className: 'card-tag', 'aria-hidden': 'true' });
      var kids = [];
      if (item.letter) kids.push(H.el('span', { className: 'card-letter', text: item.letter }));
      kids.push(H.el('span', { className: 'card-label', text: item.label }));
      kids.push(tag);
      var b = H.el('button', {
        type: 'button',
        className: 'card',
        'aria-pressed': 'false',
        dataset: { choice: String(item.value) }
      }, kids);
      if (item.colour) H.paint(b, item.colour);
      H.on(b, 'click', function () {
        var cur = view.q;
        if (cur.state !== 'open') return;
        if (selectionOf(cur.id) === item.value) submit(cur.id, 'retract');
        else submit(cur.id, 'vote', item.value);
      });
      grid.appendChild(b);
      return { b: b, tag: tag, value: item.value };
    });
    return {
      grid: grid,
      update: function (cur) {
        var sel = selectionOf(cur.id);
        var any = sel !== null && sel !== undefined;
        grid.classList.toggle('has-selection', any);
        cards.forEach(function (c) {
          var on = sel === c.value;
          c.b.setAttribute('aria-pressed', on ? 'true' : 'false');
          c.b.classList.toggle('is-selected', on);
          c.b.disabled = cur.state !== 'open';
          H.setText(c.tag, on ? tagFor(cur.id) : '');
          var showCorrect = cur.state === 'closed' && cur.results_visible && Array.isArray(cur.correct);
          c.b.classList.toggle('is-correct', showCorrect && cur.correct.indexOf(c.value) !== -1);
        });
      }
    };
  }

  var BUILDERS = {
    single: function (view, q, loc) {
      var set = tapCards(view, q, loc.options.map(function (o, i) {
        return { value: i, letter: H.letter(i), label: H.optionLabel(o), colour: H.optionColour(q, i) };
      }), 'cards-choice');
      view.body.appendChild(set.grid);
      return function (cur) {
        H.setText(view.hint, cur.state === 'open'
          ? (selectionOf(cur.id) !== null ? H.t('Tap another card to change, or yours again to take it back.') : H.t('Tap a card to vote.'))
          : '');
        set.update(cur);
      };
    },

    scale: function (view, q) {
      var min = typeof q.min === 'number' ? q.min : 1;
      var max = typeof q.max === 'number' ? q.max : 5;
      var items = [];
      for (var v = min; v <= max && items.length < 21; v++) items.push({ value: v, label: String(v) });
      var set = tapCards(view, q, items, 'cards-scale');
      set.grid.classList.add(items.length > 7 ? 'scale-long' : 'scale-short');
      // One row up to 7 steps, two even rows above that.
      var cols = items.length > 7 ? Math.ceil(items.length / 2) : items.length;
      set.grid.style.gridTemplateColumns = 'repeat(' + cols + ', minmax(0, 1fr))';
      view.body.appendChild(set.grid);
      if (q.min_label || q.max_label) {
        view.body.appendChild(H.el('div', { className: 'scale-labels' }, [
          H.el('span', { text: min + ' = ' + (q.min_label || '') }),
          H.el('span', { text: max + ' = ' + (q.max_label || '') })
        ]));
      }
      return function (cur) {
        H.setText(view.hint, cur.state === 'open' ? H.t('Tap a number.') : '');
        set.update(cur);
      };
    },

    multiple: function (view, q, loc) {
      var n = loc.options.length;
      var maxChoices = typeof q.max_choices === 'number' && q.max_choices > 0 ? Math.min(q.max_choices, n) : n;
      var grid = H.el('div', { className: 'cards cards-choice cards-toggle' });
      var submitBtn = H.el('button', { type: 'button', className: 'btn btn-block submit', text: H.t('Submit') });
      var cards = loc.options.map(function (o, i) {
        var b = H.el('button', {
          type: 'button', className: 'card', 'aria-pressed': 'false', dataset: { choice: String(i) }
        }, [
          H.el('span', { className: 'card-letter', text: H.letter(i) }),
          H.el('span', { className: 'card-label', text: H.optionLabel(o) }),
          H.el('span', { className: 'card-check', 'aria-hidden': 'true' })
        ]);
        H.paint(b, H.optionColour(q, i));
        H.on(b, 'click', function () {
          var cur = view.q;
          if (cur.state !== 'open') return;
          var sel = shown(cur.id).slice();
          var at = sel.indexOf(i);
          if (at !== -1) sel.splice(at, 1);
          else if (sel.length >= maxChoices) {
            H.setText(view.hint, H.t('You can choose at most {n}. Untick one first.', { n: maxChoices }));
            view.hint.classList.add('is-warning');
            return;
          } else sel.push(i);
          state.drafts[cur.id] = { sel: sel };
          delete state.errors[cur.id];
          render();
        });
        grid.appendChild(b);
        return b;
      });
      function confirmed(qid) {
        var s = selectionOf(qid);
        return Array.isArray(s) ? s : [];
      }
      function shown(qid) {
        var d = draftOf(qid);
        return d ? d.sel : confirmed(qid);
      }
      function dirty(qid) {
        var d = draftOf(qid);
        if (!d) return false;
        var a = d.sel.slice().sort(), b = confirmed(qid).slice().sort();
        return a.join(',') !== b.join(',');
      }
      H.on(submitBtn, 'click', function () {
        var cur = view.q;
        if (cur.state !== 'open') return;
        var sel = shown(cur.id).slice().sort(function (a, b) { return a - b; });
        state.drafts[cur.id] = null;
        if (sel.length) submit(cur.id, 'vote', sel);
        else if (selectionOf(cur.id) !== null) submit(cur.id, 'retract');
      });
      view.body.appendChild(grid);
      view.body.appendChild(submitBtn);
      return function (cur) {
        var sel = shown(cur.id);
        var open = cur.state === 'open';
        var isDirty = dirty(cur.id);
        view.hint.classList.remove('is-warning');
        H.setText(view.hint, open
          ? (maxChoices >= n ? H.t('Choose all that apply, then Submit.') : H.t('Choose up to {n}, then Submit.', { n: maxChoices }))
          : '');
        grid.classList.toggle('has-selection', sel.length > 0);
        cards.forEach(function (b, i) {
          var on = sel.indexOf(i) !== -1;
          b.setAttribute('aria-pressed', on ? 'true' : 'false');
          b.classList.toggle('is-selected', on);
          b.disabled = !open;
          H.setText(b.lastChild, on ? '✓' : '');
          var showCorrect = cur.state === 'closed' && cur.results_visible && Array.isArray(cur.correct);
          b.classList.toggle('is-correct', showCorrect && cur.correct.indexOf(i) !== -1);
        });
        var p = state.pending[cur.id];
        submitBtn.hidden = !open;
        if (p && p.status === 'sending' && !isDirty) {
          H.setText(submitBtn, H.t('Sending…'));
          submitBtn.disabled = true;
        } else if (isDirty && !sel.length) {
          H.setText(submitBtn, H.t('Take back my vote'));
          submitBtn.disabled = false;
        } else if (isDirty) {
          H.setText(submitBtn, confirmed(cur.id).length ? H.t('Change my vote') : H.t('Submit'));
          submitBtn.disabled = false;
        } else {
          H.setText(submitBtn, hasBallot(cur.id) && !p ? H.t('Counted ✓') : H.t('Submit'));
          submitBtn.disabled = true;
        }
      };
    },

    wordcloud: function (view, q) {
      var maxWords = typeof q.max_words === 'number' && q.max_words > 0 ? Math.min(q.max_words, 10) : 3;
      var form = H.el('form', { className: 'words-form', novalidate: true });
      var inputs = [];
      for (var i = 0; i < maxWords; i++) {
        var input = H.el('input', {
          type: 'text', maxlength: '40', autocomplete: 'off', autocapitalize: 'none',
          enterkeyhint: i === maxWords - 1 ? 'send' : 'next',
          'aria-label': H.t('Word {n}', { n: i + 1 }), placeholder: maxWords > 1 ? H.t('Word {n}', { n: i + 1 }) : H.t('Your word')
        });
        inputs.push(input);
        form.appendChild(input);
      }
      var submitBtn = H.el('button', { type: 'submit', className: 'btn btn-block submit', text: H.t('Send') });
      form.appendChild(submitBtn);
      function values() {
        var seen = {};
        var out = [];
        inputs.forEach(function (inp) {
          var w = inp.value.replace(/\s+/g, ' ').trim();
          if (w && !seen[w.toLowerCase()]) { seen[w.toLowerCase()] = true; out.push(w); }
        });
        return out;
      }
      H.on(form, 'input', function () { state.drafts[view.id] = { edited: true }; delete state.errors[view.id]; render(); });
      H.on(form, 'submit', function (ev) {
        ev.preventDefault();
        var cur = view.q;
        if (cur.state !== 'open') return;
        var words = values();
        state.drafts[cur.id] = null;
        if (words.length) submit(cur.id, 'vote', words);
        else if (selectionOf(cur.id) !== null) submit(cur.id, 'retract');
      });
      view.body.appendChild(form);
      return function (cur) {
        var open = cur.state === 'open';
        var edited = !!draftOf(cur.id);
        if (!edited) {
          var sel = selectionOf(cur.id);
          var arr = Array.isArray(sel) ? sel : [];
          inputs.forEach(function (inp, i) {
            var v = arr[i] || '';
            if (inp.value !== v && document.activeElement !== inp) inp.value = v;
          });
        }
        inputs.forEach(function (inp) { inp.disabled = !open; });
        H.setText(view.hint, open ? (maxWords === 1 ? H.t('One word or a short phrase.') : H.t('Up to {n} words or short phrases.', { n: maxWords })) : '');
        submitBtn.hidden = !open;
        var p = state.pending[cur.id];
        if (p && p.status === 'sending' && !edited) { H.setText(submitBtn, H.t('Sending…')); submitBtn.disabled = true; }
        else if (!edited && hasBallot(cur.id)) { H.setText(submitBtn, H.t('Sent ✓')); submitBtn.disabled = true; }
        else {
          var words = values();
          H.setText(submitBtn, !words.length && hasBallot(cur.id) ? H.t('Take back my words') : H.t('Send'));
          submitBtn.disabled = !words.length && !hasBallot(cur.id);
        }
      };
    },

    open: function (view) {
      var form = H.el('form', { className: 'open-form', novalidate: true });
      var area = H.el('textarea', { maxlength: '280', rows: '4', 'aria-label': H.t('Your answer'), placeholder: H.t('Your answer') });
      var counter = H.el('span', { className: 'counter', 'aria-hidden': 'true' });
      var submitBtn = H.el('button', { type: 'submit', className: 'btn btn-block submit', text: H.t('Send') });
      form.appendChild(area);
      form.appendChild(counter);
      form.appendChild(submitBtn);
      H.on(area, 'input', function () { state.drafts[view.id] = { edited: true }; delete state.errors[view.id]; render(); });
      H.on(form, 'submit', function (ev) {
        ev.preventDefault();
        var cur = view.q;
        if (cur.state !== 'open') return;
        var text = area.value.trim();
        state.drafts[cur.id] = null;
        if (text) submit(cur.id, 'vote', text.slice(0, 280));
        else if (selectionOf(cur.id) !== null) submit(cur.id, 'retract');
      });
      view.body.appendChild(form);
      return function (cur) {
        var open = cur.state === 'open';
        var edited = !!draftOf(cur.id);
        if (!edited) {
          var sel = selectionOf(cur.id);
          var v = typeof sel === 'string' ? sel : '';
          if (area.value !== v && document.activeElement !== area) area.value = v;
        }
        area.disabled = !open;
        H.setText(counter, area.value.length + ' / 280');
        H.setText(view.hint, '');
        submitBtn.hidden = !open;
        var p = state.pending[cur.id];
        var text = area.value.trim();
        if (p && p.status === 'sending' && !edited) { H.setText(submitBtn, H.t('Sending…')); submitBtn.disabled = true; }
        else if (!edited && hasBallot(cur.id)) { H.setText(submitBtn, H.t('Sent ✓')); submitBtn.disabled = true; }
        else {
          H.setText(submitBtn, !text && hasBallot(cur.id) ? H.t('Take back my answer') : (hasBallot(cur.id) ? H.t('Replace my answer') : H.t('Send')));
          submitBtn.disabled = !text && !hasBallot(cur.id);
        }
      };
    },

    ranking: function (view, q, loc) {
      var n = loc.options.length;
      var grid = H.el('div', { className: 'cards cards-choice cards-rank' });
      var tools = H.el('div', { className: 'rank-tools' });
      var undoBtn = H.el('button', { type: 'button', className: 'btn btn-secondary', text: H.t('Undo') });
      var clearBtn = H.el('button', { type: 'button', className: 'btn btn-secondary', text: H.t('Start again') });
      var submitBtn = H.el('button', { type: 'button', className: 'btn btn-block submit', text: H.t('Submit ranking') });
      tools.appendChild(undoBtn);
      tools.appendChild(clearBtn);
      function confirmed(qid) {
        var s = selectionOf(qid);
        return Array.isArray(s) ? s : [];
      }
      function order(qid) {
        var d = draftOf(qid);
        return d ? d.order : confirmed(qid);
      }
      function setOrder(o) {
        // The last one left goes last by itself.
        if (o.length === n - 1) {
          for (var k = 0; k < n; k++) if (o.indexOf(k) === -1) { o.push(k); break; }
        }
        state.drafts[view.id] = { order: o };
        delete state.errors[view.id];
        render();
      }
      var cards = loc.options.map(function (o, i) {
        var rank = H.el('span', { className: 'card-rank', 'aria-hidden': 'true' });
        var b = H.el('button', { type: 'button', className: 'card', dataset: { choice: String(i) } }, [
          H.el('span', { className: 'card-letter', text: H.letter(i) }),
          H.el('span', { className: 'card-label', text: H.optionLabel(o) }),
          rank
        ]);
        H.paint(b, H.optionColour(q, i));
        H.on(b, 'click', function () {
          if (view.q.state !== 'open') return;
          var cur = order(view.id).slice();
          if (cur.length === n) cur = [];      // a complete ranking: tapping starts a new one
          if (cur.indexOf(i) !== -1) return;
          cur.push(i);
          setOrder(cur);
        });
        grid.appendChild(b);
        return { b: b, rank: rank };
      });
      H.on(undoBtn, 'click', function () {
        var cur = order(view.id).slice();
        cur.pop();
        if (cur.length === n - 1) cur.pop();
        state.drafts[view.id] = { order: cur };
        render();
      });
      H.on(clearBtn, 'click', function () { state.drafts[view.id] = { order: [] }; render(); });
      H.on(submitBtn, 'click', function () {
        var cur = order(view.id);
        if (view.q.state !== 'open' || cur.length !== n) return;
        state.drafts[view.id] = null;
        submit(view.id, 'vote', cur.slice());
      });
      view.body.appendChild(grid);
      view.body.appendChild(tools);
      view.body.appendChild(submitBtn);
      return function (cur) {
        var open = cur.state === 'open';
        var o = order(cur.id);
        var edited = !!draftOf(cur.id) && o.join(',') !== confirmed(cur.id).join(',');
        H.setText(view.hint, open
          ? (o.length === n ? H.t('Your order is set.') : H.t('Tap the options from best to worst ({done} of {n}).', { done: o.length, n: n }))
          : '');
        cards.forEach(function (c, i) {
          var pos = o.indexOf(i);
          c.b.classList.toggle('is-selected', pos !== -1);
          c.b.disabled = !open;
          H.setText(c.rank, pos !== -1 ? String(pos + 1) : '');
          c.b.setAttribute('aria-label', H.letter(i) + ' ' + H.optionLabel(loc.options[i]) + (pos !== -1 ? H.t(', ranked {n}', { n: pos + 1 }) : ''));
        });
        grid.classList.toggle('has-selection', o.length > 0);
        tools.hidden = !open;
        undoBtn.disabled = !o.length;
        clearBtn.disabled = !o.length;
        submitBtn.hidden = !open;
        var p = state.pending[cur.id];
        if (p && p.status === 'sending' && !edited) { H.setText(submitBtn, H.t('Sending…')); submitBtn.disabled = true; }
        else if (!edited && hasBallot(cur.id)) { H.setText(submitBtn, H.t('Counted ✓')); submitBtn.disabled = true; }
        else { H.setText(submitBtn, H.t('Submit ranking')); submitBtn.disabled = o.length !== n; }
      };
    }
  };

  /* ------------------------------------------------------------ start */

  H.watchNetwork(sock);
  H.on(window, 'online', function () { if (state.polling) poll(); });
  sock.start();
  render();
})();
