/* handsup: the Q&A board on the projector: the top questions by upvotes, the pinned one first. */
(function () {
  'use strict';
  var H = window.Handsup;
  var root = H && H.$('#qa');
  if (!root) return;

  var TOP = 6;
  var items = {};     // id -> item (approved, pinned, answered)
  var cards = {};     // id -> {li, text, name, count, label}

  var board = H.el('ol', { className: 'qa-board', id: 'qa-board', 'aria-live': 'polite' });
  var empty = H.el('p', { className: 'qa-board-empty', text: 'No questions yet.' });
  var more = H.el('p', { className: 'qa-board-more' });
  root.classList.add('has-board');
  root.appendChild(board);
  root.appendChild(empty);
  root.appendChild(more);

  function upsert(item) {
    if (!item || !item.id) return;
    if (item.status === 'hidden' || item.status === 'pending') delete items[item.id];
    else items[item.id] = item;
  }

  H.on(document, 'handsup:message', function (ev) {
    var msg = ev.detail || {};
    if (msg.type === 'welcome') {
      items = {};
      var s = msg.session || {};
      (Array.isArray(s.qa) ? s.qa : []).forEach(upsert);
    } else if (msg.type === 'qa_item') {
      upsert(msg.item);
    } else if (msg.type !== 'present') {
      return;
    }
    render();
  });

  function shown() {
    var list = Object.keys(items).map(function (id) { return items[id]; })
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
    var c = {};
    c.count = H.el('span', { className: 'qa-card-count' });
    c.countLabel = H.el('span', { className: 'qa-card-count-label' });
    c.label = H.el('span', { className: 'qa-card-flag', text: 'Being answered now' });
    c.text = H.el('p', { className: 'qa-card-text' });
    c.name = H.el('p', { className: 'qa-card-name' });
    c.li = H.el('li', { className: 'qa-card is-new', dataset: { id: item.id } }, [
      H.el('div', { className: 'qa-card-votes' }, [c.count, c.countLabel]),
      H.el('div', { className: 'qa-card-body' }, [c.label, c.text, c.name])
    ]);
    return c;
  }

  // FLIP: remember where the cards were, move them in the DOM, then slide them from there.
  function render() {
    var list = shown();
    var top = list.slice(0, TOP);
    var visible = !root.hidden;
    var before = {};
    if (visible) {
      Object.keys(cards).forEach(function (id) { before[id] = cards[id].li.getBoundingClientRect().top; });
    }

    var keep = {};
    top.forEach(function (item, pos) {
      keep[item.id] = true;
      var c = cards[item.id] || (cards[item.id] = makeCard(item));
      var n = item.upvotes || 0;
      H.setText(c.count, String(n));
      H.setText(c.countLabel, n === 1 ? 'upvote' : 'upvotes');
      H.setText(c.text, item.text);
      c.text.classList.toggle('is-long', String(item.text).length > 180);
      H.setText(c.name, item.name ? String(item.name) : H.t('Anonymous'));
      c.label.hidden = item.status !== 'pinned';
      c.li.dataset.status = item.status;
      if (board.children[pos] !== c.li) board.insertBefore(c.li, board.children[pos] || null);
    });
    Object.keys(cards).forEach(function (id) {
      if (!keep[id]) {
        var li = cards[id].li;
        if (li.parentNode) li.parentNode.removeChild(li);
        delete cards[id];
      }
    });

    empty.hidden = list.length > 0;
    var rest = list.length - top.length;
    H.setText(more, rest > 0 ? H.t(rest === 1 ? '+ {n} more question' : '+ {n} more questions', { n: rest }) : '');
    more.hidden = rest <= 0;

    if (!visible) return;
    Object.keys(cards).forEach(function (id) {
      var li = cards[id].li;
      if (before[id] === undefined) return;
      var dy = before[id] - li.getBoundingClientRect().top;
      if (!dy) return;
      li.classList.add('is-moving-start');
      li.style.transform = 'translateY(' + Math.round(dy) + 'px)';
    });
    // Force a layout, then let the transition carry every card to its new place.
    void board.offsetHeight;
    Object.keys(cards).forEach(function (id) {
      var li = cards[id].li;
      li.classList.remove('is-moving-start');
      li.style.transform = '';
    });
    window.setTimeout(function () {
      Object.keys(cards).forEach(function (id) { cards[id].li.classList.remove('is-new'); });
    }, 700);
  }
})();
