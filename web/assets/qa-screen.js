/* handsup: the Q&A board on the projector: the top questions by upvotes, the pinned one first. */
import { $, el, on, setText } from './dom.js';
import { t } from './i18n.js';
import { onSocketMessage } from './socket.js';
import { initialBoard, qaBoard } from './reducers.js';
import { translationsOf } from './qa-translations.js';

const root = $('#qa');
if (root) start();

function start() {
  const TOP = 6;
  let board = initialBoard();
  const cards = {};     // id -> {li, text, name, count, label}

  const ol = el('ol', { className: 'qa-board', id: 'qa-board', 'aria-live': 'polite' });
  const empty = el('p', { className: 'qa-board-empty', text: 'No questions yet.' });
  const more = el('p', { className: 'qa-board-more' });
  root.classList.add('has-board');
  root.appendChild(ol);
  root.appendChild(empty);
  root.appendChild(more);

  onSocketMessage(function (msg) {
    const next = qaBoard(board, msg);
    // A `present` can show or hide the board: render even when the board did not change.
    if (next === board && msg.type !== 'present') return;
    board = next;
    render();
  });

  function shown() {
    let list = Object.keys(board.items).map(function (id) { return board.items[id]; })
      .filter(function (i) { return i.status === 'approved' || i.status === 'pinned'; });
    list.sort(function (a, b) {
      return (a.status === 'pinned' ? 0 : 1) - (b.status === 'pinned' ? 0 : 1) ||
        (b.upvotes || 0) - (a.upvotes || 0) ||
        (a.at || 0) - (b.at || 0) ||
        (a.id < b.id ? -1 : 1);
    });
    return list;
  }

  function makeCard(item) {
    let c = {};
    c.count = el('span', { className: 'qa-card-count' });
    c.countLabel = el('span', { className: 'qa-card-count-label' });
    c.label = el('span', { className: 'qa-card-flag', text: 'Being answered now' });
    c.text = el('p', { className: 'qa-card-text' });
    c.translations = el('ul', { className: 'qa-card-translations' });
    c.trKey = '';
    c.name = el('p', { className: 'qa-card-name' });
    c.li = el('li', { className: 'qa-card is-new', dataset: { id: item.id } }, [
      el('div', { className: 'qa-card-votes' }, [c.count, c.countLabel]),
      el('div', { className: 'qa-card-body' }, [c.label, c.text, c.translations, c.name])
    ]);
    return c;
  }

  // FLIP: remember where the cards were, move them in the DOM, then slide them from there.
  function render() {
    let list = shown();
    let top = list.slice(0, TOP);
    let visible = !root.hidden;
    let before = {};
    if (visible) {
      Object.keys(cards).forEach(function (id) { before[id] = cards[id].li.getBoundingClientRect().top; });
    }

    let keep = {};
    top.forEach(function (item, pos) {
      keep[item.id] = true;
      let c = cards[item.id] || (cards[item.id] = makeCard(item));
      let n = item.upvotes || 0;
      setText(c.count, String(n));
      setText(c.countLabel, n === 1 ? 'upvote' : 'upvotes');
      setText(c.text, item.text);
      c.text.classList.toggle('is-long', String(item.text).length > 180);
      // The original, then each interpreter's translation under it.
      const trs = translationsOf(item);
      const trKey = JSON.stringify(trs);
      if (trKey !== c.trKey) {
        c.trKey = trKey;
        while (c.translations.firstChild) c.translations.removeChild(c.translations.firstChild);
        trs.forEach(function (tr) {
          c.translations.appendChild(el('li', { className: 'qa-card-translation', lang: tr.lang }, [
            el('span', { className: 'qa-card-lang', text: tr.lang.toUpperCase() }),
            ' ' + tr.text
          ]));
        });
      }
      c.translations.hidden = !trs.length;
      setText(c.name, item.name ? String(item.name) : t('Anonymous'));
      c.label.hidden = item.status !== 'pinned';
      c.li.dataset.status = item.status;
      if (ol.children[pos] !== c.li) ol.insertBefore(c.li, ol.children[pos] || null);
    });
    Object.keys(cards).forEach(function (id) {
      if (!keep[id]) {
        let li = cards[id].li;
        if (li.parentNode) li.parentNode.removeChild(li);
        delete cards[id];
      }
    });

    empty.hidden = list.length > 0;
    let rest = list.length - top.length;
    setText(more, rest > 0 ? t(rest === 1 ? '+ {n} more question' : '+ {n} more questions', { n: rest }) : '');
    more.hidden = rest <= 0;

    if (!visible) return;
    Object.keys(cards).forEach(function (id) {
      let li = cards[id].li;
      if (before[id] === undefined) return;
      let dy = before[id] - li.getBoundingClientRect().top;
      if (!dy) return;
      li.classList.add('is-moving-start');
      li.style.transform = 'translateY(' + Math.round(dy) + 'px)';
    });
    // Force a layout, then let the transition carry every card to its new place.
    void ol.offsetHeight;
    Object.keys(cards).forEach(function (id) {
      let li = cards[id].li;
      li.classList.remove('is-moving-start');
      li.style.transform = '';
    });
    window.setTimeout(function () {
      Object.keys(cards).forEach(function (id) { cards[id].li.classList.remove('is-new'); });
    }, 700);
  }
}
