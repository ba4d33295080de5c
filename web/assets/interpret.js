/* handsup: the interpreter's console: the approved questions from the floor,
 * each with a box for its translation into the link's language (`lang` in the
 * welcome), sent as `qa_translate`. Phones set to that language show it. */
import { $, dropUnseen, el, on, setText } from './dom.js';
import { languageName, t, i18n } from './i18n.js';
import { onSocketMessage, sendOnSocket } from './socket.js';
import { toast } from './ui.js';
import { createStore, initialBoard, qaBoard } from './reducers.js';
import { ownTranslation } from './qa-translations.js';

const MAX = 500;
let panel = null;

onSocketMessage(function (msg) {
  if (msg.type === 'welcome' && msg.scope === 'interpreter' && !panel) panel = start(msg.lang);
  if (panel) panel.dispatch(msg);
});

function start(lang) {
  const main = $('#main');
  if (!main) return null;
  const board = createStore(qaBoard, initialBoard());
  const list = el('ol', { id: 'translate-list', className: 'translate-list' });
  const empty = el('p', { className: 'empty', 'data-i18n': '', text: 'No approved questions from the floor yet.' });
  const heading = el('h2', { id: 'translate-heading' });
  const root = el('section', { id: 'translate-panel', className: 'mod-translate', 'aria-labelledby': 'translate-heading' }, [
    el('div', { className: 'mod-section-head' }, [heading]),
    el('p', { className: 'hint', 'data-i18n': '', text: 'Type the translation of each question; phones set to this language show it, marked as translated.' }),
    list, empty
  ]);
  main.appendChild(root);
  i18n.apply(root);

  const rows = {};

  function makeRow(item) {
    const r = {};
    const id = 'tr-' + item.id;
    r.text = el('p', { className: 'translate-original' });
    r.box = el('textarea', { id: id, className: 'translate-box', rows: '2', maxlength: String(MAX), lang: lang });
    r.save = el('button', { type: 'button', className: 'btn btn-small translate-save', text: t('Save translation') });
    r.state = el('span', { className: 'translate-state', 'aria-live': 'polite' });
    r.dirty = false;
    on(r.box, 'input', function () { r.dirty = true; setText(r.state, ''); });
    on(r.save, 'click', function () {
      const text = r.box.value.trim();
      if (!text) { setText(r.state, t('Type the translation first.')); return; }
      r.save.disabled = true;
      const ref = sendOnSocket({ type: 'qa_translate', item_id: item.id, text: text }, function (err) {
        r.save.disabled = false;
        if (err) { toast(err.message || t('That did not work.'), 'error'); return; }
        r.dirty = false;
        setText(r.state, t('Saved'));
      });
      if (!ref) { r.save.disabled = false; toast(t('Not connected: try again in a moment.'), 'error'); }
    });
    r.li = el('li', { className: 'translate-item', dataset: { id: item.id } }, [
      r.text,
      el('label', { 'for': id, className: 'visually-hidden', text: t('Translation') }),
      r.box,
      el('div', { className: 'translate-actions' }, [r.save, r.state])
    ]);
    return r;
  }

  function render() {
    setText(heading, t('Translate into {lang}', { lang: languageName(lang) + ' (' + lang + ')' }));
    const items = Object.keys(board.state.items).map(function (id) { return board.state.items[id]; })
      .filter(function (i) { return i.status === 'approved' || i.status === 'pinned' || i.status === 'answered'; })
      .sort(function (a, b) { return (a.at || 0) - (b.at || 0) || (a.id < b.id ? -1 : 1); });
    const seen = {};
    items.forEach(function (item, pos) {
      seen[item.id] = true;
      const r = rows[item.id] || (rows[item.id] = makeRow(item));
      setText(r.text, item.text);
      const saved = ownTranslation(item, lang);
      if (!r.dirty && r.box.value !== saved) r.box.value = saved;
      if (list.children[pos] !== r.li) list.insertBefore(r.li, list.children[pos] || null);
    });
    dropUnseen(rows, seen);
    empty.hidden = items.length > 0;
  }

  board.subscribe(render);
  i18n.onChange(render);
  render();
  return { dispatch: function (msg) { board.dispatch(msg); } };
}
