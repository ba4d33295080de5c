/* handsup: the moderator's Q&A panel: approve, pin, mark answered, hide (one item, or all by its author); the moderation setting; the board on screen.
 * The welcome carries the top 100 of the board; "Show more" pages through the rest (GET /api/sessions/{code}/qa). */
(function () {
  'use strict';
  var H = window.Handsup;
  var root = H && H.$('#qa-panel');
  var code = H && H.codeFromPath();
  if (!root || !code) return;

  var state = {
    items: {},          // id -> item, every status but hidden
    moderation: false,
    onScreen: false,
    loaded: false,
    gone: {},           // id -> true, items hidden since the welcome: a page fetched meanwhile does not bring them back
    next: 0,            // the offset of the next page
    total: 0,           // how many items the board holds (every status)
    paging: false
  };

  /* ------------------------------------------------------------ building */

  var countsText = H.el('span', { className: 'mqa-counts', id: 'qa-counts' });
  var modToggle = H.el('input', { type: 'checkbox', id: 'qa-moderation', className: 'mqa-toggle-input' });
  var presentBtn = H.el('button', { type: 'button', className: 'btn', id: 'qa-present', text: 'Show Q&A on screen' });
  var list = H.el('ol', { className: 'mqa-list', id: 'qa-mod-list' });
  var empty = H.el('p', { className: 'empty', 'data-i18n': '', text: 'No questions from the audience yet.' });
  var moreBtn = H.el('button', { type: 'button', className: 'btn btn-secondary mqa-more', id: 'qa-mod-more', 'data-i18n': '', text: 'Show more' });
  var more = H.el('div', { className: 'mqa-more-row', hidden: true }, [moreBtn]);

  root.appendChild(H.el('div', { className: 'mod-section-head' }, [
    H.el('h2', { id: 'qa-heading', 'data-i18n': '', text: 'Audience Q&A' }),
    countsText
  ]));
  root.appendChild(H.el('div', { className: 'mqa-controls' }, [
    H.el('label', { className: 'mqa-toggle', 'for': 'qa-moderation' }, [
      modToggle,
      H.el('span', { 'data-i18n': '', text: 'Moderate questions before they are shown' })
    ]),
    presentBtn
  ]));
  root.appendChild(list);
  root.appendChild(empty);
  root.appendChild(more);

  /* ------------------------------------------------------------ actions */

  function send(msg, onError) {
    var ref = window.handsupSend ? window.handsupSend(msg, function (err) {
      if (err) {
        if (onError) onError();
        if (err.code !== 'disconnected') H.toast(err.message || H.t('That did not work.'), 'error');
      }
    }) : null;
    if (!ref) {
      if (onError) onError();
      H.toast(H.t('Not connected: try again in a moment.'), 'error');
    }
  }

  H.on(modToggle, 'change', function () {
    var wanted = modToggle.checked;
    send({ type: 'settings', qa_moderation: wanted }, function () {
      modToggle.checked = state.moderation;
    });
  });

  H.on(presentBtn, 'click', function () {
    if (state.onScreen) send({ type: 'present', question_id: null });
    else send({ type: 'present', qa: true });
  });

  H.on(list, 'click', function (ev) {
    var btn = ev.target.closest ? ev.target.closest('button[data-status], button[data-hide-author]') : null;
    if (!btn || !list.contains(btn)) return;
    var li = btn.closest('li');
    if (!li || !li.dataset.id) return;
    if (btn.dataset.hideAuthor) send({ type: 'qa_hide_author', item_id: li.dataset.id });
    else send({ type: 'qa_status', item_id: li.dataset.id, status: btn.dataset.status });
  });

  function moderatorToken() {
    var t = H.socket && H.socket.tokenSource;
    return typeof t === 'function' ? t() : t;
  }

  // The next page of the board, after what the welcome and earlier pages brought.
  function loadMore() {
    H.loadQaPage(state, code, moderatorToken(), upsert, render);
  }
  H.on(moreBtn, 'click', loadMore);

  /* ------------------------------------------------------------ messages */

  function upsert(item) {
    if (!item || !item.id) return;
    if (item.status === 'hidden') {
      delete state.items[item.id];
      state.gone[item.id] = true;
    } else {
      state.items[item.id] = item;
      delete state.gone[item.id];
    }
  }

  H.on(document, 'handsup:message', function (ev) {
    var msg = ev.detail || {};
    switch (msg.type) {
      case 'welcome':
        var s = msg.session || {};
        state.loaded = true;
        state.items = {};
        state.gone = {};
        var top = Array.isArray(s.qa) ? s.qa : [];
        top.forEach(upsert);
        state.next = top.length;
        state.total = typeof s.qa_total === 'number' ? s.qa_total : top.length;
        state.moderation = !!(s.settings && s.settings.qa_moderation);
        state.onScreen = !!s.qa_on_screen;
        break;
      case 'qa_item':
        if (msg.item && msg.item.id && !state.items[msg.item.id] && !state.gone[msg.item.id]) state.total += 1;
        upsert(msg.item);
        break;
      case 'session':
        if (msg.settings && typeof msg.settings.qa_moderation === 'boolean') state.moderation = msg.settings.qa_moderation;
        break;
      case 'present':
        state.onScreen = !!msg.qa;
        break;
      default:
        return;
    }
    render();
  });

  /* ------------------------------------------------------------ rendering */

  var rows = {};

  var ORDER = { pending: 0, pinned: 1, approved: 2, answered: 3 };
  var STATUS_TEXT = { pending: 'Awaiting approval', pinned: 'Being answered now', approved: 'Shown', answered: 'Answered' };

  function sorted() {
    var items = Object.keys(state.items).map(function (id) { return state.items[id]; });
    items.sort(function (a, b) {
      var r = (ORDER[a.status] === undefined ? 9 : ORDER[a.status]) - (ORDER[b.status] === undefined ? 9 : ORDER[b.status]);
      if (r) return r;
      // Pending ones oldest first, as they came in; the others by upvotes.
      if (a.status !== 'pending') {
        var c = (b.upvotes || 0) - (a.upvotes || 0);
        if (c) return c;
      }
      return (a.at || 0) - (b.at || 0) || (a.id < b.id ? -1 : 1);
    });
    return items;
  }

  function actionButton(label, status, extra) {
    return H.el('button', {
      type: 'button', className: 'btn btn-small ' + (extra || 'btn-secondary'),
      text: label, 'data-i18n': '', dataset: { status: status }
    });
  }

  function makeRow(item) {
    var r = {};
    r.status = H.el('span', { className: 'mqa-status' });
    r.votes = H.el('span', { className: 'mqa-votes' });
    r.time = H.el('span', { className: 'mqa-time' });
    r.text = H.el('p', { className: 'mqa-text' });
    r.name = H.el('span', { className: 'mqa-name' });
    r.approve = actionButton('Approve', 'approved', 'btn');
    r.pin = actionButton('Pin', 'pinned');
    r.answered = actionButton('Answered', 'answered');
    r.hide = actionButton('Hide', 'hidden', 'btn-danger');
    r.hideAuthor = H.el('button', {
      type: 'button', className: 'btn btn-small btn-danger mqa-hide-author',
      text: 'Hide all by this author', 'data-i18n': '', dataset: { hideAuthor: '1' }
    });
    r.li = H.el('li', { className: 'mqa', dataset: { id: item.id } }, [
      H.el('div', { className: 'mqa-head' }, [r.status, r.votes, r.name, r.time]),
      r.text,
      H.el('div', { className: 'mqa-actions' }, [r.approve, r.pin, r.answered, r.hide, r.hideAuthor])
    ]);
    return r;
  }

  function timeText(at) {
    if (typeof at !== 'number' || !isFinite(at)) return '';
    var d = new Date(at > 1e12 ? at : at * 1000);
    var h = d.getHours();
    var m = d.getMinutes();
    return (h < 10 ? '0' : '') + h + ':' + (m < 10 ? '0' : '') + m;
  }

  function render() {
    modToggle.checked = state.moderation;
    presentBtn.disabled = !state.loaded;
    H.setText(presentBtn, H.t(state.onScreen ? 'Take Q&A off screen' : 'Show Q&A on screen'));
    presentBtn.classList.toggle('btn-secondary', state.onScreen);
    root.classList.toggle('is-on-screen', state.onScreen);

    var items = sorted();
    var pending = items.filter(function (i) { return i.status === 'pending'; }).length;
    var parts = [H.t(items.length === 1 ? '{n} question' : '{n} questions', { n: items.length })];
    if (pending) parts.push(H.t('{n} awaiting approval', { n: pending }));
    if (state.onScreen) parts.push(H.t('on screen'));
    H.setText(countsText, parts.join(' · '));
    empty.hidden = items.length > 0;

    var seen = {};
    items.forEach(function (item, pos) {
      seen[item.id] = true;
      var r = rows[item.id] || (rows[item.id] = makeRow(item));
      r.li.dataset.status = item.status;
      H.setText(r.status, H.t(STATUS_TEXT[item.status] || item.status));
      r.status.dataset.status = item.status;
      H.setText(r.votes, '▲ ' + (item.upvotes || 0));
      r.votes.setAttribute('title', H.plural(item.upvotes || 0, 'upvote', 'upvotes'));
      H.setText(r.name, item.name ? String(item.name) : H.t('Anonymous'));
      H.setText(r.time, timeText(item.at));
      H.setText(r.text, item.text);
      r.approve.hidden = item.status !== 'pending';
      r.pin.removeAttribute('data-i18n');
      H.setText(r.pin, item.status === 'pinned' ? H.t('Unpin') : H.t('Pin'));
      r.pin.dataset.status = item.status === 'pinned' ? 'approved' : 'pinned';
      r.answered.removeAttribute('data-i18n');
      H.setText(r.answered, item.status === 'answered' ? H.t('Reopen') : H.t('Answered'));
      r.answered.dataset.status = item.status === 'answered' ? 'approved' : 'answered';
      if (list.children[pos] !== r.li) list.insertBefore(r.li, list.children[pos] || null);
    });
    H.dropUnseen(rows, seen);

    var left = state.next < state.total;
    more.hidden = !state.loaded || !left;
    moreBtn.disabled = state.paging;
  }

  H.i18n.onChange(render);
  render();
})();
