/* handsup: the projector screen. */
(function () {
  'use strict';
  var H = window.Handsup;
  var code = H.codeFromPath();
  if (!code) { window.location.replace('/'); return; }

  var state = {
    loaded: false,
    ended: false,
    title: '',
    joinUrl: '',
    questions: new H.QuestionList(),
    current: null,
    qa: false,
    tallies: new H.TallyStore(),
    audience: 0
  };

  var ui = {
    waiting: H.$('#waiting'),
    wTitle: H.$('#w-title'),
    wUrl: H.$('#w-url'),
    wCode: H.$('#w-code'),
    question: H.$('#question'),
    qState: H.$('#q-state'),
    qTimer: H.$('#q-timer'),
    qVoters: H.$('#q-voters'),
    qPrompt: H.$('#q-prompt'),
    qTranslations: H.$('#q-translations'),
    qOptions: H.$('#q-options'),
    qResults: H.$('#q-results'),
    qa: H.$('#qa'),
    ended: H.$('#ended'),
    joinUrl: H.$('#join-url'),
    joinCode: H.$('#join-code'),
    qr: H.$('#qr'),
    people: H.$('#people'),
    peopleLabel: H.$('#people-label'),
    conn: H.$('#conn'),
    fullscreen: H.$('#fullscreen')
  };

  var results = new H.Results(ui.qResults, { layout: 'spiral' });
  var shownKey = null;

  ui.qr.src = '/api/sessions/' + code + '/qr.svg';
  H.setText(ui.joinCode, H.spacedCode(code));
  H.setText(ui.wCode, H.spacedCode(code));
  setJoinUrl(window.location.origin + '/' + code);

  // Shown without the scheme, and broken only before the path so the host stays whole.
  function setJoinUrl(url) {
    state.joinUrl = url;
    var pretty = String(url).replace(/^https?:\/\//, '').replace(/\/$/, '');
    var cut = pretty.indexOf('/');
    var host = cut === -1 ? pretty : pretty.slice(0, cut);
    var rest = cut === -1 ? '' : pretty.slice(cut);
    H.clear(ui.joinUrl);
    ui.joinUrl.appendChild(H.el('span', { text: host }));
    if (rest) {
      ui.joinUrl.appendChild(document.createElement('wbr'));
      ui.joinUrl.appendChild(H.el('span', { text: rest }));
    }
    ui.joinUrl.classList.toggle('is-long', pretty.length > 26);
    H.setText(ui.wUrl, host);
  }

  var sock = new H.Socket({
    code: code,
    role: 'projector',
    onState: function (s) {
      H.connectionBadge(ui.conn, s === 'open' ? 'open' : s);
    },
    onMessage: onMessage
  });

  function onMessage(msg) {
    var changed = H.applyStaffMessage(state, msg);
    if (changed !== null) {
      if (changed) render();
      return;
    }
    switch (msg.type) {
      case 'welcome':
        var s = msg.session || {};
        state.loaded = true;
        if (typeof s.title === 'string') state.title = s.title;
        if (typeof s.join_url === 'string' && /^https?:\/\//.test(s.join_url)) setJoinUrl(s.join_url);
        state.questions.reset((s.questions || []).filter(function (q) { return q.state !== 'draft'; }));
        state.current = s.current || null;
        state.qa = !!s.qa_on_screen;
        state.tallies.reset(s.tallies);
        break;
      case 'question':
        if (msg.question && msg.question.id) {
          if (msg.question.state === 'draft') state.questions.remove(msg.question.id);
          else state.questions.upsert(msg.question);
        }
        break;
      case 'ended':
        state.ended = true;
        sock.stop();
        break;
      default:
        return;
    }
    render();
  }

  function render() {
    H.setText(ui.people, state.audience);
    H.setText(ui.peopleLabel, H.t(state.audience === 1 ? 'person connected' : 'people connected'));
    document.title = (state.title ? state.title + ' · ' : '') + 'handsup screen';
    H.setText(ui.wTitle, state.title || 'handsup');

    if (state.ended) {
      ui.waiting.hidden = true;
      ui.question.hidden = true;
      ui.qa.hidden = true;
      ui.ended.hidden = false;
      H.connectionBadge(ui.conn, 'ended');
      return;
    }

    var q = state.current ? state.questions.get(state.current) : null;
    ui.qa.hidden = !(state.qa && !q);
    ui.question.hidden = !q;
    ui.waiting.hidden = !!q || state.qa;
    if (!q) { shownKey = null; return; }
    renderQuestion(q);
  }

  function renderQuestion(q) {
    var key = q.id + '|' + H.i18n.lang + '|' + H.definitionKey(q);
    if (key !== shownKey) {
      shownKey = key;
      results.reset();
      H.setText(ui.qPrompt, q.prompt);
      ui.qPrompt.classList.toggle('is-long', String(q.prompt).length > 110);
      ui.qPrompt.classList.toggle('is-very-long', String(q.prompt).length > 240);
      renderTranslations(q);
      renderOptions(q);
    }
    ui.question.dataset.kind = q.kind;
    ui.question.dataset.state = q.state;
    H.setText(ui.qState, H.stateText(q));
    ui.qState.dataset.state = q.state;

    var tally = state.tallies.get(q.id);
    var visible = !!q.results_visible;
    ui.qResults.hidden = !visible;
    ui.qOptions.hidden = visible;
    ui.qVoters.hidden = !visible;
    if (visible) {
      var voters = tally && typeof tally.voters === 'number' ? tally.voters : 0;
      H.setText(ui.qVoters, H.t(voters === 1 ? '{n} vote' : '{n} votes', { n: voters }));
      if (q.kind === 'open' || q.kind === 'wordcloud') {
        H.setText(ui.qVoters, H.t(voters === 1 ? '{n} person answered' : '{n} people answered', { n: voters }));
      }
      results.update(q, null, tally, { showCorrect: q.state === 'closed' && Array.isArray(q.correct) });
    }
    tick();
  }

  function renderTranslations(q) {
    H.clear(ui.qTranslations);
    if (!q.translations || typeof q.translations !== 'object') return;
    Object.keys(q.translations).slice(0, 3).forEach(function (tag) {
      var t = q.translations[tag];
      if (!t || typeof t.prompt !== 'string' || !t.prompt) return;
      ui.qTranslations.appendChild(H.el('p', { lang: tag, text: t.prompt }));
    });
  }

  // What the room sees before the results are revealed.
  function renderOptions(q) {
    H.clear(ui.qOptions);
    ui.qOptions.className = 'options options-' + q.kind;
    var options = Array.isArray(q.options) ? q.options : [];
    if (q.kind === 'single' || q.kind === 'multiple' || q.kind === 'ranking') {
      if (options.length > 4) ui.qOptions.classList.add('options-two-col');
      options.forEach(function (o, i) {
        var letter = H.el('span', { className: 'opt-letter', text: H.letter(i) });
        var card = H.el('div', { className: 'opt', dataset: { option: String(i) } }, [
          letter,
          H.el('span', { className: 'opt-label', text: H.optionLabel(o) })
        ]);
        H.paint(letter, H.optionColour(q, i));
        card.style.borderColor = H.optionColour(q, i).bg;
        ui.qOptions.appendChild(card);
      });
      var extra = '';
      if (q.kind === 'multiple' && typeof q.max_choices === 'number' && q.max_choices < options.length) {
        extra = H.t('Choose up to {n}.', { n: q.max_choices });
      } else if (q.kind === 'multiple') {
        extra = H.t('Choose all that apply.');
      } else if (q.kind === 'ranking') {
        extra = H.t('Rank them from best to worst on your phone.');
      }
      if (extra) ui.qOptions.appendChild(H.el('p', { className: 'opt-note', text: extra }));
    } else if (q.kind === 'scale') {
      var min = typeof q.min === 'number' ? q.min : 1;
      var max = typeof q.max === 'number' ? q.max : 5;
      var row = H.el('div', { className: 'scale-row' });
      for (var v = min; v <= max; v++) row.appendChild(H.el('span', { className: 'scale-num', text: String(v) }));
      ui.qOptions.appendChild(row);
      ui.qOptions.appendChild(H.el('div', { className: 'scale-ends' }, [
        H.el('span', { text: q.min_label || '' }),
        H.el('span', { text: q.max_label || '' })
      ]));
    } else if (q.kind === 'wordcloud') {
      var n = typeof q.max_words === 'number' ? q.max_words : 3;
      ui.qOptions.appendChild(H.el('p', { className: 'opt-note', text: n === 1 ? H.t('Send one word from your phone.') : H.t('Send up to {n} words from your phone.', { n: n }) }));
    } else if (q.kind === 'open') {
      ui.qOptions.appendChild(H.el('p', { className: 'opt-note', text: H.t('Answer on your phone.') }));
    }
  }

  function tick() {
    var q = state.current ? state.questions.get(state.current) : null;
    if (q && q.state === 'open' && typeof q.closes_at === 'number') {
      var left = q.closes_at - H.clock.now();
      ui.qTimer.hidden = false;
      H.setText(ui.qTimer, left > 0 ? H.formatRemaining(left) : '0:00');
      ui.qTimer.classList.toggle('is-urgent', left < 10000);
    } else {
      ui.qTimer.hidden = true;
    }
  }
  H.onTick(tick);

  /* ------------------------------------------------------------ full screen, idle cursor */

  function toggleFullscreen() {
    var doc = document;
    var el = doc.documentElement;
    var isFull = doc.fullscreenElement || doc.webkitFullscreenElement;
    try {
      if (isFull) {
        if (doc.exitFullscreen) doc.exitFullscreen();
        else if (doc.webkitExitFullscreen) doc.webkitExitFullscreen();
      } else if (el.requestFullscreen) {
        var p = el.requestFullscreen();
        if (p && p.catch) p.catch(function () { /* refused */ });
      } else if (el.webkitRequestFullscreen) {
        el.webkitRequestFullscreen();
      }
    } catch (e) { /* not allowed */ }
  }
  H.on(ui.fullscreen, 'click', toggleFullscreen);
  H.on(document, 'keydown', function (ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (ev.key === 'f' || ev.key === 'F') { ev.preventDefault(); toggleFullscreen(); }
  });

  var idleTimer = null;
  function wake() {
    document.body.classList.remove('idle');
    clearTimeout(idleTimer);
    idleTimer = setTimeout(function () { document.body.classList.add('idle'); }, 3000);
  }
  H.on(document, 'mousemove', wake);
  H.on(document, 'mousedown', wake);
  H.on(document, 'keydown', wake);
  wake();

  H.i18n.onChange(function () { shownKey = null; render(); });
  H.watchNetwork(sock);
  sock.start();
  render();
})();
