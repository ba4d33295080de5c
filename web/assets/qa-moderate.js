/* handsup: the moderator's Q&A panel: approve, pin, mark answered, hide (one item, or all by its author); the moderation setting; the board on screen.
 * The welcome carries the top 100 of the board; "Show more" pages through the rest (GET /api/sessions/{code}/qa). */
import { $, dropUnseen, el, on, setText } from './dom.js';
import { codeFromPath, plural } from './format.js';
import { i18n, t } from './i18n.js';
import { onSocketMessage, sendOnSocket, socketToken } from './socket.js';
import { toast } from './ui.js';
import { createStore, hasMorePages, initialBoard, qaBoard } from './reducers.js';
import { loadQaPage } from './qa-paging.js';

const root = $('#qa-panel');
const code = codeFromPath();
if (root && code) start();

function start() {
  // The board as the moderator sees it: every status, hidden ones counted in the total.
  const board = createStore(qaBoard, initialBoard({ countsHidden: true }));

  /* ------------------------------------------------------------ building */

  const countsText = el('span', { className: 'mqa-counts', id: 'qa-counts' });
  const modToggle = el('input', { type: 'checkbox', id: 'qa-moderation', className: 'mqa-toggle-input' });
  const presentBtn = el('button', { type: 'button', className: 'btn', id: 'qa-present', text: 'Show Q&A on screen' });
  const list = el('ol', { className: 'mqa-list', id: 'qa-mod-list' });
  const empty = el('p', { className: 'empty', 'data-i18n': '', text: 'No questions from the audience yet.' });
  const moreBtn = el('button', { type: 'button', className: 'btn btn-secondary mqa-more', id: 'qa-mod-more', 'data-i18n': '', text: 'Show more' });
  const more = el('div', { className: 'mqa-more-row', hidden: true }, [moreBtn]);

  root.appendChild(el('div', { className: 'mod-section-head' }, [
    el('h2', { id: 'qa-heading', 'data-i18n': '', text: 'Audience Q&A' }),
    countsText
  ]));
  root.appendChild(el('div', { className: 'mqa-controls' }, [
    el('label', { className: 'mqa-toggle', 'for': 'qa-moderation' }, [
      modToggle,
      el('span', { 'data-i18n': '', text: 'Moderate questions before they are shown' })
    ]),
    presentBtn
  ]));
  root.appendChild(list);
  root.appendChild(empty);
  root.appendChild(more);

  /* ------------------------------------------------------------ actions */

  function send(msg, onError) {
    const ref = sendOnSocket(msg, function (err) {
      if (err) {
        if (onError) onError();
        if (err.code !== 'disconnected') toast(err.message || t('That did not work.'), 'error');
      }
    });
    if (!ref) {
      if (onError) onError();
      toast(t('Not connected: try again in a moment.'), 'error');
    }
  }

  on(modToggle, 'change', function () {
    const wanted = modToggle.checked;
    send({ type: 'settings', qa_moderation: wanted }, function () {
      modToggle.checked = board.state.moderation;
    });
  });

  on(presentBtn, 'click', function () {
    if (board.state.onScreen) send({ type: 'present', question_id: null });
    else send({ type: 'present', qa: true });
  });

  on(list, 'click', function (ev) {
    const btn = ev.target.closest ? ev.target.closest('button[data-status], button[data-hide-author]') : null;
    if (!btn || !list.contains(btn)) return;
    const li = btn.closest('li');
    if (!li || !li.dataset.id) return;
    if (btn.dataset.hideAuthor) send({ type: 'qa_hide_author', item_id: li.dataset.id });
    else send({ type: 'qa_status', item_id: li.dataset.id, status: btn.dataset.status });
  });

  // The next page of the board, after what the welcome and earlier pages brought.
  on(moreBtn, 'click', function () { loadQaPage(board, code, socketToken()); });

  onSocketMessage(function (msg) { board.dispatch(msg); });
  board.subscribe(render);

  /* ------------------------------------------------------------ rendering */

  const rows = {};

  const ORDER = { pending: 0, pinned: 1, approved: 2, answered: 3 };
  const STATUS_TEXT = { pending: 'Awaiting approval', pinned: 'Being answered now', approved: 'Shown', answered: 'Answered' };

  function sorted() {
    const items = Object.keys(board.state.items).map(function (id) { return board.state.items[id]; });
    items.sort(function (a, b) {
      const r = (ORDER[a.status] === undefined ? 9 : ORDER[a.status]) - (ORDER[b.status] === undefined ? 9 : ORDER[b.status]);
      if (r) return r;
      // Pending ones oldest first, as they came in; the others by upvotes.
      if (a.status !== 'pending') {
        const c = (b.upvotes || 0) - (a.upvotes || 0);
        if (c) return c;
      }
      return (a.at || 0) - (b.at || 0) || (a.id < b.id ? -1 : 1);
    });
    return items;
  }

  function actionButton(label, status, extra) {
    return el('button', {
      type: 'button', className: 'btn btn-small ' + (extra || 'btn-secondary'),
      text: label, 'data-i18n': '', dataset: { status: status }
    });
  }

  function makeRow(item) {
    const r = {};
    r.status = el('span', { className: 'mqa-status' });
    r.votes = el('span', { className: 'mqa-votes' });
    r.time = el('span', { className: 'mqa-time' });
    r.text = el('p', { className: 'mqa-text' });
    r.name = el('span', { className: 'mqa-name' });
    r.approve = actionButton('Approve', 'approved', 'btn');
    r.pin = actionButton('Pin', 'pinned');
    r.answered = actionButton('Answered', 'answered');
    r.hide = actionButton('Hide', 'hidden', 'btn-danger');
    r.hideAuthor = el('button', {
      type: 'button', className: 'btn btn-small btn-danger mqa-hide-author',
      text: 'Hide all by this author', 'data-i18n': '', dataset: { hideAuthor: '1' }
    });
    r.li = el('li', { className: 'mqa', dataset: { id: item.id } }, [
      el('div', { className: 'mqa-head' }, [r.status, r.votes, r.name, r.time]),
      r.text,
      el('div', { className: 'mqa-actions' }, [r.approve, r.pin, r.answered, r.hide, r.hideAuthor])
    ]);
    return r;
  }

  function timeText(at) {
    if (typeof at !== 'number' || !isFinite(at)) return '';
    const d = new Date(at > 1e12 ? at : at * 1000);
    const h = d.getHours();
    const m = d.getMinutes();
    return (h < 10 ? '0' : '') + h + ':' + (m < 10 ? '0' : '') + m;
  }

  function render() {
    const state = board.state;
    modToggle.checked = state.moderation;
    presentBtn.disabled = !state.loaded;
    setText(presentBtn, t(state.onScreen ? 'Take Q&A off screen' : 'Show Q&A on screen'));
    presentBtn.classList.toggle('btn-secondary', state.onScreen);
    root.classList.toggle('is-on-screen', state.onScreen);

    const items = sorted();
    const pending = items.filter(function (i) { return i.status === 'pending'; }).length;
    const parts = [t(items.length === 1 ? '{n} question' : '{n} questions', { n: items.length })];
    if (pending) parts.push(t('{n} awaiting approval', { n: pending }));
    if (state.onScreen) parts.push(t('on screen'));
    setText(countsText, parts.join(' · '));
    empty.hidden = items.length > 0;

    const seen = {};
    items.forEach(function (item, pos) {
      seen[item.id] = true;
      const r = rows[item.id] || (rows[item.id] = makeRow(item));
      r.li.dataset.status = item.status;
      setText(r.status, t(STATUS_TEXT[item.status] || item.status));
      r.status.dataset.status = item.status;
      setText(r.votes, '▲ ' + (item.upvotes || 0));
      r.votes.setAttribute('title', plural(item.upvotes || 0, 'upvote', 'upvotes'));
      setText(r.name, item.name ? String(item.name) : t('Anonymous'));
      setText(r.time, timeText(item.at));
      setText(r.text, item.text);
      r.approve.hidden = item.status !== 'pending';
      r.pin.removeAttribute('data-i18n');
      setText(r.pin, item.status === 'pinned' ? t('Unpin') : t('Pin'));
      r.pin.dataset.status = item.status === 'pinned' ? 'approved' : 'pinned';
      r.answered.removeAttribute('data-i18n');
      setText(r.answered, item.status === 'answered' ? t('Reopen') : t('Answered'));
      r.answered.dataset.status = item.status === 'answered' ? 'approved' : 'answered';
      if (list.children[pos] !== r.li) list.insertBefore(r.li, list.children[pos] || null);
    });
    dropUnseen(rows, seen);

    more.hidden = !state.loaded || !hasMorePages(state);
    moreBtn.disabled = state.paging;
  }

  i18n.onChange(render);
  render();
}
