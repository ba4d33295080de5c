/* handsup: audience Q&A on the phone: ask, upvote, follow the questions.
 * The welcome carries the top 100 of the board; "Show more" pages through the rest (GET /api/sessions/{code}/qa). */
(function () {
  'use strict';
  var H = window.Handsup;
  var code = H && H.codeFromPath();
  var root = H && H.$('#qa');
  if (!code || !root) return;

  var UPVOTED_KEY = 'handsup:' + code + ':upvoted';
  var MAX_TEXT = 500;
  var MAX_NAME = 60;

  var state = {
    loaded: false,
    items: {},          // id -> item
    upvoted: {},        // id -> true, the items this phone upvoted
    delta: {},          // id -> {d: +1|-1, acked: bool}, upvotes sent but not yet counted in a qa_item
    moderation: false,
    sort: 'top',
    tab: 'polls',
    presented: false,
    sending: false,
    token: null,        // this phone's participant token, for the pages
    gone: {},           // id -> true, items hidden since the welcome
    next: 0,            // the offset of the next page
    total: 0,           // how many items this phone may see
    paging: false
  };

  (function restoreUpvoted() {
    var saved = H.store.getJSON(UPVOTED_KEY, {});
    if (saved && typeof saved === 'object') {
      Object.keys(saved).forEach(function (id) { if (saved[id] === true) state.upvoted[id] = true; });
    }
  })();
  function saveUpvoted() { H.store.setJSON(UPVOTED_KEY, state.upvoted); }

  /* ------------------------------------------------------------ building */

  var tabs = H.el('div', { className: 'qa-tabs', role: 'tablist', 'aria-label': 'Sections', 'data-i18n-attr': 'aria-label', hidden: true });
  var tabPolls = H.el('button', {
    type: 'button', className: 'qa-tab', role: 'tab', id: 'tab-polls', 'aria-controls': 'questions', 'data-i18n': '', text: 'Polls'
  });
  var tabQaCount = H.el('span', { className: 'qa-tab-count' });
  var tabQa = H.el('button', {
    type: 'button', className: 'qa-tab', role: 'tab', id: 'tab-qa', 'aria-controls': 'qa'
  }, [H.el('span', { 'data-i18n': '', text: 'Questions' }), tabQaCount]);
  tabs.appendChild(tabPolls);
  tabs.appendChild(tabQa);
  var main = H.$('#main');
  main.insertBefore(tabs, main.firstChild);

  var textArea = H.el('textarea', {
    id: 'qa-text', className: 'qa-text-input', rows: '3', maxlength: String(MAX_TEXT),
    placeholder: 'Type your question…', 'data-i18n-attr': 'placeholder', autocomplete: 'off'
  });
  var counter = H.el('span', { className: 'qa-counter', id: 'qa-counter', 'aria-live': 'polite', text: '0 / ' + MAX_TEXT });
  var nameInput = H.el('input', {
    id: 'qa-name', className: 'qa-name-input', type: 'text', maxlength: String(MAX_NAME),
    autocomplete: 'nickname', placeholder: 'Anonymous', 'data-i18n-attr': 'placeholder'
  });
  var sendBtn = H.el('button', { type: 'submit', className: 'btn btn-block qa-send', id: 'qa-send', 'data-i18n': '', text: 'Send question' });
  var formStatus = H.el('p', { className: 'qa-form-status', id: 'qa-form-status', role: 'status' });
  var form = H.el('form', { className: 'qa-ask', id: 'qa-ask', novalidate: true }, [
    H.el('label', { 'for': 'qa-text', 'data-i18n': '', text: 'Ask the speakers a question' }),
    textArea,
    H.el('div', { className: 'qa-ask-row' }, [counter]),
    H.el('label', { 'for': 'qa-name' }, ['Your name ', H.el('span', { className: 'hint', text: 'optional: leave empty to stay anonymous' })]),
    nameInput,
    sendBtn,
    formStatus
  ]);

  var sortTop = H.el('button', { type: 'button', className: 'qa-sort-btn', id: 'qa-sort-top', text: 'Top' });
  var sortNew = H.el('button', { type: 'button', className: 'qa-sort-btn', id: 'qa-sort-new', text: 'Newest' });
  var listHead = H.el('div', { className: 'qa-list-head' }, [
    H.el('h2', { className: 'qa-list-title', text: 'Questions' }),
    H.el('div', { className: 'qa-sort', role: 'group', 'aria-label': 'Order' }, [sortTop, sortNew])
  ]);
  var list = H.el('ol', { className: 'qa-list', id: 'qa-list' });
  var empty = H.el('p', { className: 'qa-empty', text: 'No questions yet. Be the first to ask one.' });
  var moreBtn = H.el('button', { type: 'button', className: 'btn btn-secondary btn-block qa-more', id: 'qa-more', hidden: true, 'data-i18n': '', text: 'Show more' });

  root.appendChild(form);
  root.appendChild(listHead);
  root.appendChild(list);
  root.appendChild(empty);
  root.appendChild(moreBtn);

  /* ------------------------------------------------------------ tabs */

  function setTab(tab) {
    state.tab = tab;
    render();
  }
  H.on(tabPolls, 'click', function () { setTab('polls'); });
  H.on(tabQa, 'click', function () { setTab('qa'); });

  /* ------------------------------------------------------------ asking */

  function charCount(s) { return Array.from(s).length; }

  function updateCounter() {
    var n = charCount(textArea.value);
    H.setText(counter, n + ' / ' + MAX_TEXT);
    counter.classList.toggle('is-over', n > MAX_TEXT);
    sendBtn.disabled = state.sending || !textArea.value.trim() || n > MAX_TEXT;
  }
  H.on(textArea, 'input', updateCounter);

  function say(text, tone) {
    H.setText(formStatus, text);
    formStatus.dataset.tone = tone || '';
  }

  H.on(form, 'submit', function (ev) {
    ev.preventDefault();
    var text = textArea.value.trim();
    var name = nameInput.value.trim();
    if (!text) { say(H.t('Type a question first.'), 'bad'); return; }
    if (charCount(text) > MAX_TEXT) { say(H.t('At most {n} characters.', { n: MAX_TEXT }), 'bad'); return; }
    var msg = { type: 'ask', text: text };
    if (name) msg.name = Array.from(name).slice(0, MAX_NAME).join('');
    state.sending = true;
    updateCounter();
    say('Sending…', 'busy');
    var ref = window.handsupSend ? window.handsupSend(msg, function (err) {
      state.sending = false;
      if (err) {
        say(err.code === 'disconnected'
          ? H.t('The connection dropped before the question was received. Send it again.')
          : (err.message || H.t('The question was not accepted.')), 'bad');
      } else {
        textArea.value = '';
        say(state.moderation
          ? H.t('Sent. It appears for everyone once the moderator approves it.')
          : H.t('Sent. Thank you!'), 'ok');
      }
      updateCounter();
    }) : null;
    if (!ref) {
      state.sending = false;
      say(H.t('Not connected right now. Your question is kept here: send it again in a moment.'), 'bad');
      updateCounter();
    }
  });

  /* ------------------------------------------------------------ upvoting */

  function count(item) {
    var d = state.delta[item.id];
    return Math.max(0, (item.upvotes || 0) + (d ? d.d : 0));
  }

  function toggleUpvote(id) {
    var item = state.items[id];
    if (!item || item.status === 'pending') return;
    var up = !state.upvoted[id];
    if (up) state.upvoted[id] = true; else delete state.upvoted[id];
    var entry = { d: up ? 1 : -1, acked: false };
    state.delta[id] = entry;
    saveUpvoted();
    render();
    var ref = window.handsupSend ? window.handsupSend({ type: up ? 'upvote' : 'unupvote', item_id: id }, function (err) {
      if (err) {
        undo();
        if (err.code !== 'disconnected') H.toast(err.message || H.t('The upvote was not counted.'), 'error');
        return;
      }
      entry.acked = true;
      // The new count arrives coalesced; stop adding the local change after a while regardless.
      setTimeout(function () {
        if (state.delta[id] === entry) { delete state.delta[id]; render(); }
      }, 3000);
    }) : null;
    if (!ref) {
      undo();
      H.toast(H.t('Not connected right now: try again in a moment.'), 'error');
    }
    function undo() {
      if (state.delta[id] === entry) delete state.delta[id];
      if (up) delete state.upvoted[id]; else state.upvoted[id] = true;
      saveUpvoted();
      render();
    }
  }

  H.on(list, 'click', function (ev) {
    var btn = ev.target.closest ? ev.target.closest('.qa-vote') : null;
    if (btn && list.contains(btn)) toggleUpvote(btn.dataset.id);
  });

  H.on(sortTop, 'click', function () { state.sort = 'top'; render(); });
  H.on(sortNew, 'click', function () { state.sort = 'new'; render(); });

  /* ------------------------------------------------------------ messages */

  // The next page of the board, after what the welcome and earlier pages brought.
  function loadMore() {
    H.loadQaPage(state, code, state.token, upsert, render);
  }
  H.on(moreBtn, 'click', loadMore);

  function upsert(item) {
    if (!item || !item.id) return;
    if (item.status === 'hidden') {
      delete state.items[item.id];
      delete state.delta[item.id];
      state.gone[item.id] = true;
      return;
    }
    delete state.gone[item.id];
    var d = state.delta[item.id];
    if (d && d.acked) delete state.delta[item.id];
    state.items[item.id] = item;
  }

  H.on(document, 'handsup:message', function (ev) {
    var msg = ev.detail || {};
    switch (msg.type) {
      case 'welcome':
        var s = msg.session || {};
        state.loaded = true;
        state.items = {};
        state.delta = {};
        state.gone = {};
        if (typeof msg.participant_token === 'string') state.token = msg.participant_token;
        var top = Array.isArray(s.qa) ? s.qa : [];
        top.forEach(upsert);
        state.next = top.length;
        state.total = typeof s.qa_total === 'number' ? s.qa_total : top.length;
        state.moderation = !!(s.settings && s.settings.qa_moderation);
        if (s.qa_on_screen && !state.presented) state.tab = 'qa';
        state.presented = !!s.qa_on_screen;
        // Forget upvotes of items that no longer exist (only known once the whole board is here).
        if (state.next >= state.total) {
          Object.keys(state.upvoted).forEach(function (id) { if (!state.items[id]) delete state.upvoted[id]; });
          saveUpvoted();
        }
        break;
      case 'qa_item':
        if (msg.item && msg.item.id && msg.item.status !== 'hidden' && !state.items[msg.item.id] && !state.gone[msg.item.id]) state.total += 1;
        upsert(msg.item);
        break;
      case 'session':
        if (msg.settings && typeof msg.settings.qa_moderation === 'boolean') state.moderation = msg.settings.qa_moderation;
        break;
      case 'present':
        // The board went up on the screen: bring the phone to the questions.
        if (msg.qa && !state.presented) state.tab = 'qa';
        else if (!msg.qa && state.presented && msg.question_id) state.tab = 'polls';
        state.presented = !!msg.qa;
        break;
      case 'ended':
        state.loaded = false;
        break;
      default:
        return;
    }
    render();
  });

  /* ------------------------------------------------------------ rendering */

  var rows = {};   // id -> {li, text, name, badge, vote, count}

  function rank(item) {
    if (item.status === 'pinned') return 0;
    if (item.status === 'pending') return 1;
    if (item.status === 'answered') return 3;
    return 2;
  }

  function sorted() {
    var items = Object.keys(state.items).map(function (id) { return state.items[id]; });
    items.sort(function (a, b) {
      var r = rank(a) - rank(b);
      if (r) return r;
      if (state.sort === 'top') {
        var c = count(b) - count(a);
        if (c) return c;
      }
      return (b.at || 0) - (a.at || 0) || (a.id < b.id ? -1 : 1);
    });
    return items;
  }

  function makeRow(item) {
    var r = {};
    r.text = H.el('p', { className: 'qa-item-text' });
    r.name = H.el('span', { className: 'qa-item-name' });
    r.badge = H.el('span', { className: 'qa-badge' });
    r.count = H.el('span', { className: 'qa-vote-count' });
    r.vote = H.el('button', { type: 'button', className: 'qa-vote', dataset: { id: item.id } }, [
      H.el('span', { className: 'qa-vote-arrow', 'aria-hidden': 'true', text: '▲' }),
      r.count
    ]);
    r.li = H.el('li', { className: 'qa-item', dataset: { id: item.id } }, [
      H.el('div', { className: 'qa-item-body' }, [
        r.badge,
        r.text,
        H.el('p', { className: 'qa-item-meta' }, [r.name])
      ]),
      r.vote
    ]);
    return r;
  }

  function badgeText(item) {
    if (item.status === 'pinned') return H.t('Being answered now');
    if (item.status === 'pending') return H.t('Awaiting moderation');
    if (item.status === 'answered') return H.t('Answered');
    return '';
  }

  function render() {
    var show = state.loaded;
    tabs.hidden = !show;
    var onQa = show && state.tab === 'qa';
    document.body.classList.toggle('qa-tab-open', onQa);
    root.hidden = !onQa;
    tabPolls.setAttribute('aria-selected', onQa ? 'false' : 'true');
    tabQa.setAttribute('aria-selected', onQa ? 'true' : 'false');
    sortTop.setAttribute('aria-pressed', state.sort === 'top' ? 'true' : 'false');
    sortNew.setAttribute('aria-pressed', state.sort === 'new' ? 'true' : 'false');

    var items = sorted();
    var live = items.filter(function (i) { return i.status !== 'answered' && i.status !== 'pending'; }).length;
    H.setText(tabQaCount, live ? String(live) : '');
    tabQaCount.hidden = !live;
    empty.hidden = items.length > 0;

    var seen = {};
    items.forEach(function (item, pos) {
      seen[item.id] = true;
      var r = rows[item.id] || (rows[item.id] = makeRow(item));
      r.li.dataset.status = item.status;
      r.li.classList.toggle('is-mine', !!item.mine);
      H.setText(r.text, item.text);
      var who = item.name ? String(item.name) : H.t('Anonymous');
      H.setText(r.name, item.mine ? who + ' (you)' : who);
      var badge = badgeText(item);
      H.setText(r.badge, badge);
      r.badge.hidden = !badge;
      var n = count(item);
      var mine = !!state.upvoted[item.id];
      H.setText(r.count, String(n));
      r.vote.setAttribute('aria-pressed', mine ? 'true' : 'false');
      r.vote.setAttribute('aria-label', H.t(mine ? 'Take back your upvote' : 'Upvote') + ', ' + H.t(n === 1 ? '{n} upvote' : '{n} upvotes', { n: n }));
      r.vote.hidden = item.status === 'pending';
      r.vote.disabled = item.status === 'answered' && !mine;
      if (list.children[pos] !== r.li) list.insertBefore(r.li, list.children[pos] || null);
    });
    H.dropUnseen(rows, seen);
    moreBtn.hidden = !show || state.next >= state.total;
    moreBtn.disabled = state.paging;
  }

  H.i18n.onChange(render);
  updateCounter();
  render();
})();
