/* The console as a remote: on the chair's phone, four large buttons (previous,
   next, open/close, reveal/hide) for the question on screen, with its state and
   voters. The buttons press the same keys a presentation clicker sends, so the
   console's own shortcuts do the work. */
(function () {
  'use strict';

  var state = { questions: {}, order: [], current: null, voters: {} };

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function tr(key, params) { return window.Handsup ? window.Handsup.t(key, params) : key; }

  function press(key) {
    document.dispatchEvent(new KeyboardEvent('keydown', { key: key, bubbles: true }));
  }

  var panel = el('section', 'remote');
  panel.setAttribute('aria-label', 'Remote control');
  panel.setAttribute('data-i18n-attr', 'aria-label');
  var status = el('p', 'remote-status');
  status.setAttribute('aria-live', 'polite');
  var grid = el('div', 'remote-grid');
  var buttons = [
    ['\u2190 Previous', 'PageUp', 'remote-prev'],
    ['Next \u2192', 'PageDown', 'remote-next'],
    ['Open / close voting', 'o', 'remote-open'],
    ['Show / hide results', 'r', 'remote-reveal']
  ];
  buttons.forEach(function (b) {
    var button = el('button', 'remote-btn ' + b[2], b[0]);
    button.setAttribute('data-i18n', '');
    button.type = 'button';
    button.addEventListener('click', function () { press(b[1]); });
    grid.appendChild(button);
  });
  panel.appendChild(status);
  panel.appendChild(grid);

  var toggle = el('button', 'remote-toggle', 'Remote');
  toggle.type = 'button';
  toggle.setAttribute('aria-pressed', 'false');

  function setMode(on) {
    document.body.classList.toggle('remote-mode', on);
    toggle.setAttribute('aria-pressed', on ? 'true' : 'false');
    toggle.textContent = on ? tr('Full console') : tr('Remote');
    try { localStorage.setItem('handsup:remote', on ? '1' : '0'); } catch (e) { /* private mode */ }
  }

  function render() {
    var q = state.current && state.questions[state.current];
    if (!q) {
      status.textContent = tr('On screen: join instructions. Press Next to show the first question.');
      return;
    }
    var n = state.order.indexOf(q.id) + 1;
    var voters = state.voters[q.id] || 0;
    status.textContent = tr('On screen: {n}. {prompt}', { n: n, prompt: q.prompt }) + ' \u2014 ' +
      tr(q.state === 'open' ? 'voting open' : q.state === 'closed' ? 'voting closed' : 'not opened') +
      ', ' + tr(voters === 1 ? '{n} voter' : '{n} voters', { n: voters }) +
      (q.results_visible ? ', ' + tr('results shown') : '');
  }

  document.addEventListener('handsup:message', function (ev) {
    var m = ev.detail || {};
    switch (m.type) {
      case 'welcome':
        state.questions = {};
        state.order = [];
        (m.session && m.session.questions || []).forEach(function (q) {
          state.questions[q.id] = q;
          state.order.push(q.id);
        });
        state.current = m.session ? m.session.current : null;
        var t = m.session && m.session.tallies || {};
        Object.keys(t).forEach(function (id) { state.voters[id] = t[id].voters; });
        break;
      case 'question':
        if (!state.questions[m.question.id]) state.order.push(m.question.id);
        state.questions[m.question.id] = m.question;
        break;
      case 'question_removed':
        delete state.questions[m.question_id];
        state.order = state.order.filter(function (id) { return id !== m.question_id; });
        break;
      case 'order':
        state.order = (m.question_ids || []).slice();
        break;
      case 'present':
        state.current = m.question_id || null;
        break;
      case 'tally':
        state.voters[m.question_id] = m.voters;
        break;
      default:
        return;
    }
    render();
  });

  function start() {
    var top = document.querySelector('.mod-top');
    if (top) top.appendChild(toggle);
    document.body.appendChild(panel);
    if (window.Handsup) {
      window.Handsup.i18n.apply(panel);
      window.Handsup.i18n.onChange(function () {
        toggle.textContent = document.body.classList.contains('remote-mode') ? tr('Full console') : tr('Remote');
        render();
      });
    }
    toggle.addEventListener('click', function () {
      setMode(!document.body.classList.contains('remote-mode'));
    });
    var saved = null;
    try { saved = localStorage.getItem('handsup:remote'); } catch (e) { /* private mode */ }
    // A phone-sized screen starts as a remote, unless the chair chose otherwise.
    setMode(saved === null ? window.matchMedia('(max-width: 600px)').matches : saved === '1');
    render();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
