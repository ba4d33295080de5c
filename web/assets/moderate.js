/* handsup: the moderator console. The token comes from location.hash and only travels in the hello frame. */
(function () {
  'use strict';
  var H = window.Handsup;
  var code = H.codeFromPath();
  if (!code) { window.location.replace('/'); return; }

  function tokenFromHash() {
    var hash = window.location.hash.replace(/^#/, '');
    var parts = hash.split('&');
    for (var i = 0; i < parts.length; i++) {
      var kv = parts[i].split('=');
      if (kv[0] === 'token' && kv[1]) {
        try { return decodeURIComponent(kv.slice(1).join('=')); } catch (e) { return null; }
      }
    }
    return null;
  }
  var token = tokenFromHash();

  var state = {
    loaded: false,
    title: '',
    questions: new H.QuestionList(),
    current: null,
    qa: false,
    tallies: new H.TallyStore(),
    audience: 0,
    editing: null      // id of the draft being edited
  };

  var ui = {
    title: H.$('#title'),
    code: H.$('#code'),
    people: H.$('#people'),
    peopleLabel: H.$('#people-label'),
    conn: H.$('#conn'),
    linkScreen: H.$('#link-screen'),
    linkAudience: H.$('#link-audience'),
    fatal: H.$('#fatal'),
    fatalTitle: H.$('#fatal-title'),
    fatalText: H.$('#fatal-text'),
    main: H.$('#main'),
    presentingText: H.$('#presenting-text'),
    clearScreen: H.$('#clear-screen'),
    qlist: H.$('#qlist'),
    empty: H.$('#empty'),
    form: H.$('#qform'),
    formTitle: H.$('#form-title'),
    kind: H.$('#f-kind'),
    prompt: H.$('#f-prompt'),
    options: H.$('#f-options'),
    maxChoices: H.$('#f-max-choices'),
    correct: H.$('#f-correct'),
    min: H.$('#f-min'),
    max: H.$('#f-max'),
    minLabel: H.$('#f-min-label'),
    maxLabel: H.$('#f-max-label'),
    maxWords: H.$('#f-max-words'),
    formError: H.$('#form-error'),
    submit: H.$('#f-submit'),
    cancel: H.$('#f-cancel')
  };

  H.setText(ui.code, H.spacedCode(code));
  ui.linkScreen.href = '/' + code + '/screen';
  ui.linkAudience.href = '/' + code;

  function fatal(title, text) {
    ui.main.hidden = true;
    ui.fatal.hidden = false;
    ui.fatalTitle.removeAttribute('data-i18n');
    H.setText(ui.fatalTitle, title);
    if (text) ui.fatalText.removeAttribute('data-i18n');
    if (text) H.setText(ui.fatalText, text);
  }

  /* ------------------------------------------------------------ socket */

  var sock = new H.Socket({
    code: code,
    role: 'moderator',
    token: token,
    onState: function (s, info) {
      H.connectionBadge(ui.conn, s);
      if (s === 'fatal' && info.reason === 'unauthorized') {
        fatal(H.t('Invalid moderator link'));
      }
      if (s === 'ended') {
        fatal(H.t('This session has ended'), H.t('It was deleted. Its questions and results are gone.'));
      }
      if (s === 'waiting' && !state.loaded && sock.failures >= 3) {
        // An unknown code refuses the upgrade: find out whether the session exists at all.
        H.api('GET', '/api/sessions/' + code).then(function (res) {
          if (res.status === 404) {
            sock.stop();
            fatal(H.t('No session with code {code}', { code: H.spacedCode(code) }), H.t('It may have been deleted, or the link is wrong.'));
          }
        }, function () { /* offline: keep trying */ });
      }
    },
    onMessage: onMessage
  });

  function onMessage(msg) {
    var changed = H.applyStaffMessage(state, msg);
    if (changed !== null) {
      if (msg.type === 'question_removed' && state.editing === msg.question_id) resetForm();
      if (changed) render();
      return;
    }
    switch (msg.type) {
      case 'welcome':
        var s = msg.session || {};
        state.loaded = true;
        if (typeof s.title === 'string') state.title = s.title;
        state.questions.reset(s.questions);
        state.current = s.current || null;
        state.qa = !!s.qa_on_screen;
        state.tallies.reset(s.tallies);
        // Kept on this computer only if the chair said so (see "remember" below).
        if (H.isRemembered(code)) H.rememberSession({ code: code, title: state.title, token: token });
        renderRemember();
        break;
      case 'question':
        if (msg.question && msg.question.id) state.questions.upsert(msg.question);
        break;
      case 'error':
        if (!msg.ref && msg.code !== 'unauthorized') H.toast(errorText(msg), 'error');
        return;
      default:
        return;
    }
    render();
  }

  function errorText(err) {
    var text = err.message || H.t('Something went wrong');
    return err.code ? text + ' (' + err.code + ')' : text;
  }

  // Sends a moderator action; errors show as a toast. done(reply) runs on ack.
  function act(msg, done) {
    var ref = sock.send(msg, function (err, reply) {
      if (err) {
        if (err.code === 'disconnected') H.toast(H.t('Connection lost before the server confirmed. Check the result when it reconnects.'), 'error');
        else H.toast(errorText(err), 'error');
        return;
      }
      if (done) done(reply);
    });
    if (!ref) H.toast(H.t('Not connected to the server right now: try again in a moment.'), 'error');
    return ref;
  }

  /* ------------------------------------------------------------ remember on this computer */

  // The moderator token stays out of this browser's storage unless the chair ticks the box:
  // on a shared venue PC anyone could open the console from the start page. Unticking forgets
  // it; the start page forgets one session or all of them.
  var remember = H.$('#remember');
  var rememberHint = H.$('#remember-hint');
  function renderRemember() {
    var on = H.isRemembered(code);
    remember.checked = on;
    remember.disabled = !state.loaded;
    H.setText(rememberHint, on
      ? H.t('The start page of this computer lists it, with its console link.')
      : H.t('Leave unticked on a shared computer.'));
  }
  H.on(remember, 'change', function () {
    if (remember.checked && state.loaded) H.rememberSession({ code: code, title: state.title, token: token });
    else H.forgetSession(code);
    renderRemember();
  });
  H.onSessionsChange(renderRemember);
  H.i18n.onChange(renderRemember);
  renderRemember();

  /* ------------------------------------------------------------ rendering */

  var items = {};   // question id -> QuestionItem

  function render() {
    H.setText(ui.title, state.title || 'handsup');
    document.title = (state.title ? state.title + ' · ' : '') + 'moderator · handsup';
    H.setText(ui.people, state.audience);
    H.setText(ui.peopleLabel, state.audience === 1 ? H.t('person connected') : H.t('people connected'));

    var cur = state.current ? state.questions.get(state.current) : null;
    if (cur) H.setText(ui.presentingText, (state.questions.indexOf(cur.id) + 1) + '. ' + cur.prompt);
    else if (state.qa) H.setText(ui.presentingText, H.t('the Q&A board'));
    else H.setText(ui.presentingText, H.t('nothing (join instructions)'));
    ui.clearScreen.hidden = !cur && !state.qa;

    var list = state.questions.list;
    ui.empty.hidden = !state.loaded || list.length > 0;
    var keep = {};
    list.forEach(function (q, i) {
      var item = items[q.id];
      if (!item) item = items[q.id] = new QuestionItem(q.id);
      keep[q.id] = true;
      item.update(q, i, list.length);
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
    return H.el('button', { type: 'button', className: 'btn btn-small ' + (cls || 'btn-secondary'), dataset: { action: action }, text: text });
  }

  function QuestionItem(id) {
    var self = this;
    this.id = id;
    this.num = H.el('span', { className: 'mq-num' });
    this.kind = H.el('span', { className: 'mq-kind' });
    this.state = H.el('span', { className: 'mq-state' });
    this.onScreen = H.el('span', { className: 'mq-flag mq-flag-screen', text: H.t('On screen'), hidden: true });
    this.visible = H.el('span', { className: 'mq-flag mq-flag-results', text: H.t('Results shown'), hidden: true });
    this.timer = H.el('span', { className: 'mq-timer', hidden: true });
    this.prompt = H.el('p', { className: 'mq-prompt' });
    this.settings = H.el('p', { className: 'mq-settings' });
    this.voters = H.el('p', { className: 'mq-voters' });
    this.resultsBox = H.el('div');
    this.results = new H.Results(this.resultsBox);
    this.defKey = null;

    this.btn = {
      present: button('present', H.t('Show on screen'), 'btn'),
      open: button('open', H.t('Open voting'), 'btn'),
      close: button('close', H.t('Close voting')),
      reveal: button('reveal', H.t('Reveal results')),
      hide: button('hide', H.t('Hide results')),
      reset: button('reset', H.t('Reset votes'), 'btn-danger'),
      edit: button('edit', H.t('Edit')),
      up: button('up', '↑'),
      down: button('down', '↓'),
      del: button('delete', H.t('Delete'), 'btn-danger')
    };
    this.btn.up.setAttribute('aria-label', H.t('Move up'));
    this.btn.down.setAttribute('aria-label', H.t('Move down'));
    this.duration = H.el('input', {
      type: 'number', min: '5', max: '3600', step: '5', className: 'mq-duration',
      placeholder: H.t('timer s'), 'aria-label': H.t('Timer in seconds (optional)'), inputmode: 'numeric'
    });
    var b = this.btn;
    var actions = H.el('div', { className: 'mq-actions' }, [
      b.present,
      H.el('span', { className: 'mq-open-group' }, [b.open, this.duration]),
      b.close, b.reveal, b.hide, b.reset, b.edit,
      H.el('span', { className: 'mq-spacer' }),
      b.up, b.down, b.del
    ]);

    this.el = H.el('li', { className: 'mq', dataset: { qid: id } }, [
      H.el('div', { className: 'mq-head' }, [this.num, this.kind, this.state, this.onScreen, this.visible, this.timer]),
      this.prompt,
      this.settings,
      H.el('div', { className: 'mq-live' }, [this.voters, this.resultsBox]),
      actions
    ]);

    H.on(actions, 'click', function (ev) {
      var t = ev.target;
      while (t && t !== actions && !(t.dataset && t.dataset.action)) t = t.parentNode;
      if (!t || t === actions) return;
      self.onAction(t.dataset.action);
    });
    H.on(this.duration, 'keydown', function (ev) {
      if (ev.key === 'Enter') { ev.preventDefault(); self.onAction('open'); }
    });
  }

  QuestionItem.prototype.onAction = function (action) {
    var q = state.questions.get(this.id);
    if (!q) return;
    var id = q.id;
    switch (action) {
      case 'present':
        act({ type: 'present', question_id: state.current === id ? null : id });
        break;
      case 'open':
        var msg = { type: 'open', question_id: id };
        var secs = parseInt(this.duration.value, 10);
        if (secs > 0) msg.duration_s = secs;
        var input = this.duration;
        act(msg, function () { input.value = ''; });
        break;
      case 'close':
      case 'reveal':
      case 'hide':
        act({ type: action, question_id: id });
        break;
      case 'reset':
        if (window.confirm(H.t('Delete all votes of "{q}"? This cannot be undone.', { q: q.prompt.slice(0, 80) }))) {
          act({ type: 'reset', question_id: id }, function () { H.toast('Votes deleted.', 'ok'); });
        }
        break;
      case 'delete':
        if (window.confirm(H.t('Delete the question "{q}" and its votes?', { q: q.prompt.slice(0, 80) }))) {
          act({ type: 'delete_question', question_id: id });
        }
        break;
      case 'edit':
        startEdit(q);
        break;
      case 'up':
      case 'down':
        var index = state.questions.indexOf(id) + (action === 'up' ? -1 : 1);
        if (index < 0 || index >= state.questions.list.length) return;
        act({ type: 'move_question', question_id: id, index: index }, function () {
          state.questions.move(id, index);
          render();
        });
        break;
    }
  };

  function settingsText(q) {
    var opts = Array.isArray(q.options) ? q.options.length : 0;
    switch (q.kind) {
      case 'single': return H.t('{n} options', { n: opts }) + (Array.isArray(q.correct) && q.correct.length ? ' · ' + H.t('quiz') : '');
      case 'multiple':
        return H.t('{n} options · up to {max} choices', { n: opts, max: q.max_choices || opts }) +
          (Array.isArray(q.correct) && q.correct.length ? ' · ' + H.t('quiz') : '');
      case 'scale':
        return H.t('from {min} to {max}', { min: q.min + (q.min_label ? ' (' + q.min_label + ')' : ''), max: q.max + (q.max_label ? ' (' + q.max_label + ')' : '') });
      case 'wordcloud': return H.t('up to {n} words each', { n: q.max_words || 3 });
      case 'open': return H.t('free text, 280 characters');
      case 'ranking': return H.t('{n} options to rank', { n: opts });
    }
    return '';
  }

  QuestionItem.prototype.update = function (q, index, count) {
    this.q = q;
    var el = this.el;
    el.dataset.state = q.state;
    el.classList.toggle('is-current', state.current === q.id);
    el.classList.toggle('is-editing', state.editing === q.id);
    H.setText(this.num, (index + 1) + '.');
    H.setText(this.kind, H.KIND_NAMES[q.kind] || q.kind);
    H.setText(this.state, q.state === 'open' ? H.t('Open') : q.state === 'closed' ? H.t('Closed') : H.t('Draft'));
    this.state.dataset.state = q.state;
    this.onScreen.hidden = state.current !== q.id;
    this.visible.hidden = !q.results_visible;

    var defKey = H.definitionKey(q) + JSON.stringify(q.correct || null);
    if (defKey !== this.defKey) {
      this.defKey = defKey;
      H.setText(this.prompt, q.prompt);
      H.setText(this.settings, settingsText(q));
      this.results.reset();
    }

    var tally = state.tallies.get(q.id);
    var voters = tally && typeof tally.voters === 'number' ? tally.voters : 0;
    H.setText(this.voters, q.state === 'draft' && !tally ? H.t('Not opened yet') : H.t(voters === 1 ? '{n} voter' : '{n} voters', { n: voters }));
    this.voters.dataset.voters = String(voters);
    if (q.state !== 'draft' || tally) {
      this.resultsBox.hidden = false;
      this.results.update(q, null, tally, { showCorrect: Array.isArray(q.correct) });
    } else {
      this.resultsBox.hidden = true;
    }

    var b = this.btn;
    H.setText(b.present, state.current === q.id ? H.t('Remove from screen') : H.t('Show on screen'));
    b.open.hidden = q.state === 'open';
    this.duration.hidden = q.state === 'open';
    H.setText(b.open, q.state === 'closed' ? H.t('Reopen voting') : H.t('Open voting'));
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
    var q = this.q;
    if (q && q.state === 'open' && typeof q.closes_at === 'number') {
      var left = q.closes_at - H.clock.now();
      this.timer.hidden = false;
      H.setText(this.timer, left > 0 ? H.t('closes in {time}', { time: H.formatRemaining(left) }) : H.t('closing…'));
    } else {
      this.timer.hidden = true;
    }
  };

  H.onTick(function () {
    Object.keys(items).forEach(function (id) { items[id].tick(); });
  });

  H.on(ui.clearScreen, 'click', function () { act({ type: 'present', question_id: null }); });

  /* ------------------------------------------------------------ the question form */

  function kindChanged() {
    var kind = ui.kind.value;
    H.$$('[data-kinds]', ui.form).forEach(function (node) {
      node.hidden = node.dataset.kinds.split(' ').indexOf(kind) === -1;
    });
    renderCorrect();
  }

  function optionLines() {
    return ui.options.value.split('\n').map(function (s) { return s.trim(); }).filter(function (s) { return s; });
  }

  function renderCorrect(checked) {
    var prev = checked || H.$$('input', ui.correct).filter(function (c) { return c.checked; })
      .map(function (c) { return +c.value; });
    var kind = ui.kind.value;
    H.clear(ui.correct);
    var lines = optionLines();
    if (!lines.length) {
      ui.correct.appendChild(H.el('p', { className: 'hint', text: 'Type the options first.' }));
      return;
    }
    lines.slice(0, 12).forEach(function (label, i) {
      var id = 'f-correct-' + i;
      var box = H.el('input', {
        type: kind === 'single' ? 'radio' : 'checkbox', name: 'correct', id: id, value: String(i),
        checked: prev.indexOf(i) !== -1
      });
      ui.correct.appendChild(H.el('div', { className: 'correct-item' }, [
        box,
        H.el('label', { 'for': id }, [H.el('strong', { text: H.letter(i) + ' ' }), label])
      ]));
    });
    if (kind === 'single') {
      var none = H.el('button', { type: 'button', className: 'btn btn-secondary btn-small', text: 'No correct answer' });
      H.on(none, 'click', function () { H.$$('input', ui.correct).forEach(function (c) { c.checked = false; }); });
      ui.correct.appendChild(none);
    }
  }

  function formError(text) {
    ui.formError.hidden = !text;
    H.setText(ui.formError, text || '');
    return null;
  }

  function intOf(input) {
    var v = input.value.trim();
    if (v === '') return null;
    var n = Number(v);
    return isFinite(n) && Math.floor(n) === n ? n : NaN;
  }

  function buildSpec() {
    var kind = ui.kind.value;
    var prompt = ui.prompt.value.trim();
    if (!prompt) { ui.prompt.focus(); return formError(H.t('Type the question.')); }
    if (prompt.length > 500) return formError(H.t('The question is longer than 500 characters.'));
    var spec = { kind: kind, prompt: prompt };
    if (kind === 'single' || kind === 'multiple' || kind === 'ranking') {
      var options = optionLines();
      if (options.length < 2) { ui.options.focus(); return formError(H.t('Give at least two options, one per line.')); }
      if (options.length > 12) return formError(H.t('At most 12 options.'));
      for (var i = 0; i < options.length; i++) {
        if (options[i].length > 200) return formError(H.t('Option {letter} is longer than 200 characters.', { letter: H.letter(i) }));
      }
      spec.options = options;
    }
    if (kind === 'multiple') {
      var mc = intOf(ui.maxChoices);
      if (mc !== null) {
        if (isNaN(mc) || mc < 1 || mc > spec.options.length) return formError(H.t('"At most this many choices" must be between 1 and {n}.', { n: spec.options.length }));
        spec.max_choices = mc;
      }
    }
    if (kind === 'single' || kind === 'multiple') {
      var correct = H.$$('input', ui.correct).filter(function (c) { return c.checked; })
        .map(function (c) { return +c.value; }).filter(function (n) { return n < spec.options.length; });
      if (correct.length) spec.correct = correct;
    }
    if (kind === 'scale') {
      var min = intOf(ui.min), max = intOf(ui.max);
      if (min === null) min = 1;
      if (max === null) max = 5;
      if (isNaN(min) || isNaN(max)) return formError(H.t('The scale needs whole numbers.'));
      if (max <= min) return formError('"To" must be larger than "From".');
      if (max - min > 10) return formError(H.t('A scale has at most 11 steps.'));
      spec.min = min;
      spec.max = max;
      if (ui.minLabel.value.trim()) spec.min_label = ui.minLabel.value.trim();
      if (ui.maxLabel.value.trim()) spec.max_label = ui.maxLabel.value.trim();
    }
    if (kind === 'wordcloud') {
      var mw = intOf(ui.maxWords);
      if (mw !== null) {
        if (isNaN(mw) || mw < 1 || mw > 10) return formError(H.t('Words per person: 1 to 10.'));
        spec.max_words = mw;
      }
    }
    // Keep what the form does not edit.
    var orig = state.editing ? state.questions.get(state.editing) : null;
    if (orig && orig.kind === kind) {
      if (orig.translations) spec.translations = orig.translations;
      if (Array.isArray(orig.colours) && spec.options && orig.colours.length === spec.options.length) spec.colours = orig.colours;
    }
    formError(null);
    return spec;
  }

  function resetForm() {
    state.editing = null;
    ui.form.reset();
    ui.min.value = '1';
    ui.max.value = '5';
    ui.maxWords.value = '3';
    H.setText(ui.formTitle, H.t('Add a question'));
    H.setText(ui.submit, H.t('Add question'));
    ui.cancel.hidden = true;
    ui.form.classList.remove('is-editing');
    formError(null);
    kindChanged();
    render();
  }

  function startEdit(q) {
    state.editing = q.id;
    ui.kind.value = q.kind;
    ui.prompt.value = q.prompt || '';
    ui.options.value = Array.isArray(q.options) ? q.options.map(H.optionLabel).join('\n') : '';
    ui.maxChoices.value = q.max_choices && Array.isArray(q.options) && q.max_choices < q.options.length ? String(q.max_choices) : '';
    ui.min.value = typeof q.min === 'number' ? String(q.min) : '1';
    ui.max.value = typeof q.max === 'number' ? String(q.max) : '5';
    ui.minLabel.value = q.min_label || '';
    ui.maxLabel.value = q.max_label || '';
    ui.maxWords.value = typeof q.max_words === 'number' ? String(q.max_words) : '3';
    kindChanged();
    renderCorrect(Array.isArray(q.correct) ? q.correct : []);
    H.setText(ui.formTitle, H.t('Edit question {n}', { n: state.questions.indexOf(q.id) + 1 }));
    H.setText(ui.submit, H.t('Save changes'));
    ui.cancel.hidden = false;
    ui.form.classList.add('is-editing');
    formError(null);
    render();
    ui.prompt.focus();
    if (ui.form.scrollIntoView) ui.form.scrollIntoView({ block: 'nearest' });
  }

  H.on(ui.kind, 'change', kindChanged);
  H.on(ui.options, 'input', function () { renderCorrect(); });
  H.on(ui.cancel, 'click', resetForm);
  H.on(ui.form, 'submit', function (ev) {
    ev.preventDefault();
    var spec = buildSpec();
    if (!spec) return;
    ui.submit.disabled = true;
    var editing = state.editing;
    var msg = editing
      ? { type: 'update_question', question_id: editing, question: spec }
      : { type: 'add_question', question: spec };
    var ref = sock.send(msg, function (err) {
      ui.submit.disabled = false;
      if (err) {
        formError(errorText(err));
        H.toast(errorText(err), 'error');
        return;
      }
      H.toast(editing ? H.t('Question saved.') : H.t('Question added.'), 'ok');
      resetForm();
    });
    if (!ref) {
      ui.submit.disabled = false;
      H.toast(H.t('Not connected to the server right now: try again in a moment.'), 'error');
    }
  });

  /* ------------------------------------------------------------ files: deck, results, report */

  // Fetches one of the session's files as the moderator. The token travels
  // in the Authorization header, never in a URL; resolves to a Blob.
  function fetchFile(path) {
    return fetch(path, {
      headers: { 'Authorization': 'Bearer ' + token },
      credentials: 'same-origin',
      cache: 'no-store'
    }).then(function (res) {
      if (res.ok) return res.blob();
      return res.text().then(function (text) {
        var body = null;
        try { body = JSON.parse(text); } catch (e) { body = null; }
        throw H.apiError({ status: res.status, body: body });
      });
    }, function () {
      throw { code: 'network', message: H.t('Could not reach the server. Check the connection and try again.') };
    });
  }

  // Hands a Blob to the browser as a download named `name`.
  function saveBlob(blob, name) {
    var url = URL.createObjectURL(blob);
    var link = H.el('a', { href: url, download: name, hidden: true });
    document.body.appendChild(link);
    link.click();
    setTimeout(function () {
      if (link.parentNode) link.parentNode.removeChild(link);
      URL.revokeObjectURL(url);
    }, 10000);
  }

  // Runs a file action from a button, which stays disabled while it runs.
  function fileButton(node, run) {
    if (!token) node.disabled = true;
    H.on(node, 'click', function () {
      if (node.disabled) return;
      node.disabled = true;
      run().then(function () {
        node.disabled = false;
      }, function (err) {
        node.disabled = false;
        H.toast(errorText(err || {}), 'error');
      });
    });
  }

  fileButton(H.$('#download-deck'), function () {
    return fetchFile('/api/sessions/' + code + '/deck.toml').then(function (blob) {
      saveBlob(blob, 'handsup-' + code + '-deck.toml');
    });
  });

  fileButton(H.$('#download-csv'), function () {
    return fetchFile('/api/sessions/' + code + '/export.csv').then(function (blob) {
      saveBlob(blob, 'handsup-' + code + '-results.csv');
    });
  });

  // A report opened from a Blob URL inherits this page's Content-Security-Policy,
  // which refuses its inline stylesheet: hand the same rules over through the CSSOM.
  function styleReport(tab, url) {
    var tries = 0;
    (function look() {
      var doc = null;
      try { doc = tab.closed ? null : tab.document; } catch (e) { return; }
      if (doc && doc.URL === url && doc.readyState !== 'loading') {
        try {
          doc.adoptedStyleSheets = H.$$('style', doc).map(function (node) {
            var sheet = new tab.CSSStyleSheet();
            sheet.replaceSync(node.textContent);
            return sheet;
          });
        } catch (e) { /* an older browser: the report stays plain, and complete */ }
        return;
      }
      if (++tries < 200 && !tab.closed) setTimeout(look, 50);
    })();
  }

  fileButton(H.$('#open-report'), function () {
    // Open the tab now, while the click still counts as the user's, and fill it when the report arrives.
    var tab = window.open('', '_blank');
    return fetchFile('/api/sessions/' + code + '/report.html').then(function (blob) {
      var html = new Blob([blob], { type: 'text/html;charset=utf-8' });
      if (!tab || tab.closed) {
        // Pop-ups are blocked here: keep the report as a file instead.
        saveBlob(html, 'handsup-' + code + '-report.html');
        return;
      }
      var url = URL.createObjectURL(html);
      tab.opener = null;
      tab.location.href = url;
      styleReport(tab, url);
      // The tab keeps its document; the URL is only needed while it loads.
      setTimeout(function () { URL.revokeObjectURL(url); }, 60000);
    }, function (err) {
      if (tab && !tab.closed) tab.close();
      throw err;
    });
  });

  /* ------------------------------------------------------------ clicker keys */

  function presentAt(index) {
    var list = state.questions.list;
    if (!list.length) return;
    index = Math.max(0, Math.min(list.length - 1, index));
    if (list[index].id !== state.current) act({ type: 'present', question_id: list[index].id });
  }

  H.on(document, 'keydown', function (ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    var t = ev.target;
    var tag = t && t.tagName;
    if (tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT' || (t && t.isContentEditable)) return;
    var curIndex = state.current ? state.questions.indexOf(state.current) : -1;
    var cur = curIndex === -1 ? null : state.questions.list[curIndex];
    switch (ev.key) {
      case 'PageDown':
      case 'ArrowRight':
        ev.preventDefault();
        presentAt(curIndex + 1);
        break;
      case 'PageUp':
      case 'ArrowLeft':
        ev.preventDefault();
        presentAt(curIndex === -1 ? state.questions.list.length - 1 : curIndex - 1);
        break;
      case 'o':
      case 'O':
        if (!cur) { H.toast(H.t('Nothing is on screen.'), 'info'); return; }
        act({ type: cur.state === 'open' ? 'close' : 'open', question_id: cur.id });
        break;
      case 'r':
      case 'R':
        if (!cur) { H.toast(H.t('Nothing is on screen.'), 'info'); return; }
        act({ type: cur.results_visible ? 'hide' : 'reveal', question_id: cur.id });
        break;
    }
  });

  /* ------------------------------------------------------------ start */

  // Another interface language: rebuild the question rows and the form's texts.
  H.i18n.onChange(function () {
    Object.keys(items).forEach(function (id) {
      if (items[id].el.parentNode) items[id].el.parentNode.removeChild(items[id].el);
      delete items[id];
    });
    H.setText(ui.formTitle, state.editing ? H.t('Edit question {n}', { n: state.questions.indexOf(state.editing) + 1 }) : H.t('Add a question'));
    H.setText(ui.submit, H.t(state.editing ? H.t('Save changes') : H.t('Add question')));
    render();
  });

  resetForm();
  if (!token) {
    fatal(H.t('Invalid moderator link'), H.t('This link has no moderator token. Use the full link you got when the session was created.'));
    H.connectionBadge(ui.conn, 'fatal');
    return;
  }
  H.watchNetwork(sock);
  sock.start();
})();
