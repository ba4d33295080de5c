/* handsup: audience Q&A on the phone: ask, upvote, follow the questions.
 * The welcome carries the top 100 of the board; "Show more" pages through the rest (GET /api/sessions/{code}/qa). */
import { $, dropUnseen, el, on, setText } from './dom.js';
import { codeFromPath } from './format.js';
import { i18n, t } from './i18n.js';
import { onSocketMessage, sendOnSocket } from './socket.js';
import { store } from './store.js';
import { toast } from './ui.js';
import {
  createStore, hasMorePages, initialBoard, phoneTab, qaBoard, shownUpvotes, upvotesInFlight
} from './reducers.js';
import { loadQaPage } from './qa-paging.js';
import { translationFor } from './qa-translations.js';

const code = codeFromPath();
const root = $('#qa');
if (code && root) start();

function start() {
  const UPVOTED_KEY = 'handsup:' + code + ':upvoted';
  const MAX_TEXT = 500;
  const MAX_NAME = 60;

  // What the server says: the board as this phone may see it.
  const board = createStore(qaBoard, initialBoard());
  // Which tab the phone shows.
  const tab = createStore(phoneTab, { tab: 'polls', onScreen: false });
  // Upvotes sent whose count has not come back yet.
  const inFlight = createStore(upvotesInFlight, {});

  const local = {
    upvoted: {},        // id -> true, the items this phone upvoted (kept in this browser)
    original: {},       // id -> true, translated items this phone shows in the original
    sort: 'top',
    sending: false,
    token: null         // this phone's participant token, for the pages
  };
  let sent = 0;         // numbers the upvotes sent, to tell one from the next

  (function restoreUpvoted() {
    const saved = store.getJSON(UPVOTED_KEY, {});
    if (saved && typeof saved === 'object') {
      Object.keys(saved).forEach(function (id) { if (saved[id] === true) local.upvoted[id] = true; });
    }
  })();
  function saveUpvoted() { store.setJSON(UPVOTED_KEY, local.upvoted); }

  /* ------------------------------------------------------------ building */

  let tabs = el('div', { className: 'qa-tabs', role: 'tablist', 'aria-label': 'Sections', 'data-i18n-attr': 'aria-label', hidden: true });
  let tabPolls = el('button', {
    type: 'button', className: 'qa-tab', role: 'tab', id: 'tab-polls', 'aria-controls': 'questions', 'data-i18n': '', text: 'Polls'
  });
  let tabQaCount = el('span', { className: 'qa-tab-count' });
  let tabQa = el('button', {
    type: 'button', className: 'qa-tab', role: 'tab', id: 'tab-qa', 'aria-controls': 'qa'
  }, [el('span', { 'data-i18n': '', text: 'Questions' }), tabQaCount]);
  tabs.appendChild(tabPolls);
  tabs.appendChild(tabQa);
  let main = $('#main');
  main.insertBefore(tabs, main.firstChild);

  let textArea = el('textarea', {
    id: 'qa-text', className: 'qa-text-input', rows: '3', maxlength: String(MAX_TEXT),
    placeholder: 'Type your question…', 'data-i18n-attr': 'placeholder', autocomplete: 'off'
  });
  let counter = el('span', { className: 'qa-counter', id: 'qa-counter', 'aria-live': 'polite', text: '0 / ' + MAX_TEXT });
  let nameInput = el('input', {
    id: 'qa-name', className: 'qa-name-input', type: 'text', maxlength: String(MAX_NAME),
    autocomplete: 'nickname', placeholder: 'Anonymous', 'data-i18n-attr': 'placeholder'
  });
  let sendBtn = el('button', { type: 'submit', className: 'btn btn-block qa-send', id: 'qa-send', 'data-i18n': '', text: 'Send question' });
  let formStatus = el('p', { className: 'qa-form-status', id: 'qa-form-status', role: 'status' });
  let form = el('form', { className: 'qa-ask', id: 'qa-ask', novalidate: true }, [
    el('label', { 'for': 'qa-text', 'data-i18n': '', text: 'Ask the speakers a question' }),
    textArea,
    el('div', { className: 'qa-ask-row' }, [counter]),
    el('label', { 'for': 'qa-name' }, ['Your name ', el('span', { className: 'hint', text: 'optional: leave empty to stay anonymous' })]),
    nameInput,
    sendBtn,
    formStatus
  ]);

  let sortTop = el('button', { type: 'button', className: 'qa-sort-btn', id: 'qa-sort-top', text: 'Top' });
  let sortNew = el('button', { type: 'button', className: 'qa-sort-btn', id: 'qa-sort-new', text: 'Newest' });
  let listHead = el('div', { className: 'qa-list-head' }, [
    el('h2', { className: 'qa-list-title', text: 'Questions' }),
    el('div', { className: 'qa-sort', role: 'group', 'aria-label': 'Order' }, [sortTop, sortNew])
  ]);
  let list = el('ol', { className: 'qa-list', id: 'qa-list' });
  let empty = el('p', { className: 'qa-empty', text: 'No questions yet. Be the first to ask one.' });
  let moreBtn = el('button', { type: 'button', className: 'btn btn-secondary btn-block qa-more', id: 'qa-more', hidden: true, 'data-i18n': '', text: 'Show more' });

  root.appendChild(form);
  root.appendChild(listHead);
  root.appendChild(list);
  root.appendChild(empty);
  root.appendChild(moreBtn);


  /* ------------------------------------------------------------ tabs */

  on(tabPolls, 'click', function () { tab.dispatch({ type: 'show_tab', tab: 'polls' }); render(); });
  on(tabQa, 'click', function () { tab.dispatch({ type: 'show_tab', tab: 'qa' }); render(); });

  /* ------------------------------------------------------------ asking */

  function charCount(s) { return Array.from(s).length; }

  function updateCounter() {
    let n = charCount(textArea.value);
    setText(counter, n + ' / ' + MAX_TEXT);
    counter.classList.toggle('is-over', n > MAX_TEXT);
    sendBtn.disabled = local.sending || !textArea.value.trim() || n > MAX_TEXT;
  }
  on(textArea, 'input', updateCounter);

  function say(text, tone) {
    setText(formStatus, text);
    formStatus.dataset.tone = tone || '';
  }

  on(form, 'submit', function (ev) {
    ev.preventDefault();
    let text = textArea.value.trim();
    let name = nameInput.value.trim();
    if (!text) { say(t('Type a question first.'), 'bad'); return; }
    if (charCount(text) > MAX_TEXT) { say(t('At most {n} characters.', { n: MAX_TEXT }), 'bad'); return; }
    let msg = { type: 'ask', text: text };
    if (name) msg.name = Array.from(name).slice(0, MAX_NAME).join('');
    local.sending = true;
    updateCounter();
    say('Sending…', 'busy');
    let ref = sendOnSocket(msg, function (err) {
      local.sending = false;
      if (err) {
        say(err.code === 'disconnected'
          ? t('The connection dropped before the question was received. Send it again.')
          : (err.message || t('The question was not accepted.')), 'bad');
      } else {
        textArea.value = '';
        say(board.state.moderation
          ? t('Sent. It appears for everyone once the moderator approves it.')
          : t('Sent. Thank you!'), 'ok');
      }
      updateCounter();
    });
    if (!ref) {
      local.sending = false;
      say(t('Not connected right now. Your question is kept here: send it again in a moment.'), 'bad');
      updateCounter();
    }
  });


  /* ------------------------------------------------------------ upvoting */

  function count(item) { return shownUpvotes(item, inFlight.state); }

  function toggleUpvote(id) {
    const item = board.state.items[id];
    if (!item || item.status === 'pending') return;
    const up = !local.upvoted[id];
    if (up) local.upvoted[id] = true; else delete local.upvoted[id];
    const n = ++sent;
    inFlight.dispatch({ type: 'upvote_sent', item_id: id, up: up, n: n });
    saveUpvoted();
    render();
    const ref = sendOnSocket({ type: up ? 'upvote' : 'unupvote', item_id: id }, function (err) {
      if (err) {
        undo();
        if (err.code !== 'disconnected') toast(err.message || t('The upvote was not counted.'), 'error');
        return;
      }
      inFlight.dispatch({ type: 'upvote_acked', item_id: id, n: n });
      // The new count arrives coalesced; stop adding the local change after a while regardless.
      setTimeout(function () {
        if (inFlight.dispatch({ type: 'upvote_dropped', item_id: id, n: n })) render();
      }, 3000);
    });
    if (!ref) {
      undo();
      toast(t('Not connected right now: try again in a moment.'), 'error');
    }
    function undo() {
      inFlight.dispatch({ type: 'upvote_dropped', item_id: id, n: n });
      if (up) delete local.upvoted[id]; else local.upvoted[id] = true;
      saveUpvoted();
      render();
    }
  }

  on(list, 'click', function (ev) {
    const btn = ev.target.closest ? ev.target.closest('.qa-vote') : null;
    if (btn && list.contains(btn)) toggleUpvote(btn.dataset.id);
    // A translated item: the original is one tap away, and back.
    const swap = ev.target.closest ? ev.target.closest('.qa-original') : null;
    if (swap && list.contains(swap)) {
      const id = swap.dataset.id;
      if (local.original[id]) delete local.original[id]; else local.original[id] = true;
      render();
    }
  });

  on(sortTop, 'click', function () { local.sort = 'top'; render(); });
  on(sortNew, 'click', function () { local.sort = 'new'; render(); });

  /* ------------------------------------------------------------ messages */

  // The next page of the board, after what the welcome and earlier pages brought.
  on(moreBtn, 'click', function () { loadQaPage(board, code, local.token); });
  board.subscribe(function (state, msg) { if (msg.type.indexOf('qa_page') === 0) render(); });

  onSocketMessage(function (msg) {
    const changed = [inFlight.dispatch(msg), board.dispatch(msg), tab.dispatch(msg)].some(Boolean);
    if (msg.type === 'welcome') {
      if (typeof msg.participant_token === 'string') local.token = msg.participant_token;
      // Forget upvotes of items that no longer exist (only known once the whole board is here).
      if (!hasMorePages(board.state)) {
        Object.keys(local.upvoted).forEach(function (id) { if (!board.state.items[id]) delete local.upvoted[id]; });
        saveUpvoted();
      }
    }
    if (changed) render();
  });

  /* ------------------------------------------------------------ rendering */

  let rows = {};   // id -> {li, text, name, badge, vote, count}

  function rank(item) {
    if (item.status === 'pinned') return 0;
    if (item.status === 'pending') return 1;
    if (item.status === 'answered') return 3;
    return 2;
  }

  function sorted() {
    let items = Object.keys(board.state.items).map(function (id) { return board.state.items[id]; });
    items.sort(function (a, b) {
      let r = rank(a) - rank(b);
      if (r) return r;
      if (local.sort === 'top') {
        let c = count(b) - count(a);
        if (c) return c;
      }
      return (b.at || 0) - (a.at || 0) || (a.id < b.id ? -1 : 1);
    });
    return items;
  }

  function makeRow(item) {
    let r = {};
    r.text = el('p', { className: 'qa-item-text' });
    r.translated = el('span', { className: 'qa-translated', hidden: true });
    r.original = el('button', { type: 'button', className: 'qa-original', dataset: { id: item.id }, hidden: true });
    r.name = el('span', { className: 'qa-item-name' });
    r.badge = el('span', { className: 'qa-badge' });
    r.count = el('span', { className: 'qa-vote-count' });
    r.vote = el('button', { type: 'button', className: 'qa-vote', dataset: { id: item.id } }, [
      el('span', { className: 'qa-vote-arrow', 'aria-hidden': 'true', text: '▲' }),
      r.count
    ]);
    r.li = el('li', { className: 'qa-item', dataset: { id: item.id } }, [
      el('div', { className: 'qa-item-body' }, [
        r.badge,
        r.text,
        el('p', { className: 'qa-item-meta' }, [r.name, r.translated, r.original])
      ]),
      r.vote
    ]);
    return r;
  }

  function badgeText(item) {
    if (item.status === 'pinned') return t('Being answered now');
    if (item.status === 'pending') return t('Awaiting moderation');
    if (item.status === 'answered') return t('Answered');
    return '';
  }

  function render() {
    let state = board.state;
    let show = state.loaded;
    tabs.hidden = !show;
    let onQa = show && tab.state.tab === 'qa';
    document.body.classList.toggle('qa-tab-open', onQa);
    root.hidden = !onQa;
    tabPolls.setAttribute('aria-selected', onQa ? 'false' : 'true');
    tabQa.setAttribute('aria-selected', onQa ? 'true' : 'false');
    sortTop.setAttribute('aria-pressed', local.sort === 'top' ? 'true' : 'false');
    sortNew.setAttribute('aria-pressed', local.sort === 'new' ? 'true' : 'false');

    let items = sorted();
    let live = items.filter(function (i) { return i.status !== 'answered' && i.status !== 'pending'; }).length;
    setText(tabQaCount, live ? String(live) : '');
    tabQaCount.hidden = !live;
    empty.hidden = items.length > 0;

    let seen = {};
    items.forEach(function (item, pos) {
      seen[item.id] = true;
      let r = rows[item.id] || (rows[item.id] = makeRow(item));
      r.li.dataset.status = item.status;
      r.li.classList.toggle('is-mine', !!item.mine);
      // In this phone's language where an interpreter translated it.
      let tr = translationFor(item, i18n.lang);
      let original = !tr || !!local.original[item.id];
      setText(r.text, original ? item.text : tr.text);
      r.text.lang = original ? '' : tr.lang;
      r.translated.hidden = !tr;
      setText(r.translated, original ? t('Original') : t('Translated'));
      r.original.hidden = !tr;
      setText(r.original, original ? t('Show translation') : t('Show original'));
      let who = item.name ? String(item.name) : t('Anonymous');
      setText(r.name, item.mine ? who + ' (you)' : who);
      let badge = badgeText(item);
      setText(r.badge, badge);
      r.badge.hidden = !badge;
      let n = count(item);
      let mine = !!local.upvoted[item.id];
      setText(r.count, String(n));
      r.vote.setAttribute('aria-pressed', mine ? 'true' : 'false');
      r.vote.setAttribute('aria-label', t(mine ? 'Take back your upvote' : 'Upvote') + ', ' + t(n === 1 ? '{n} upvote' : '{n} upvotes', { n: n }));
      r.vote.hidden = item.status === 'pending';
      r.vote.disabled = item.status === 'answered' && !mine;
      if (list.children[pos] !== r.li) list.insertBefore(r.li, list.children[pos] || null);
    });
    dropUnseen(rows, seen);
    moreBtn.hidden = !show || !hasMorePages(state);
    moreBtn.disabled = state.paging;
  }

  i18n.onChange(render);
  updateCounter();
  render();
}
