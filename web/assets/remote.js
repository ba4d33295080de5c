/* The console as a remote: on the chair's phone, four large buttons (previous,
   next, open/close, reveal/hide) for the question on screen, with its state and
   voters. The buttons press the same keys a presentation clicker sends, so the
   console's own shortcuts do the work. */
import { i18n, t as tr } from './i18n.js';
import { onSocketMessage } from './socket.js';
import { store } from './store.js';
import { findQuestion, initialView, view as reduceView } from './reducers.js';

// The session as the console sees it, built by the same reducer as the console's.
let state = initialView({ drafts: true });

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function press(key) {
  document.dispatchEvent(new KeyboardEvent('keydown', { key: key, bubbles: true }));
}

const panel = el('section', 'remote');
panel.setAttribute('aria-label', 'Remote control');
panel.setAttribute('data-i18n-attr', 'aria-label');
const status = el('p', 'remote-status');
status.setAttribute('aria-live', 'polite');
const grid = el('div', 'remote-grid');
const buttons = [
  ['\u2190 Previous', 'PageUp', 'remote-prev'],
  ['Next \u2192', 'PageDown', 'remote-next'],
  ['Open / close voting', 'o', 'remote-open'],
  ['Show / hide results', 'r', 'remote-reveal']
];
buttons.forEach(function (b) {
  const button = el('button', 'remote-btn ' + b[2], b[0]);
  button.setAttribute('data-i18n', '');
  button.type = 'button';
  button.addEventListener('click', function () { press(b[1]); });
  grid.appendChild(button);
});
panel.appendChild(status);
panel.appendChild(grid);

const toggle = el('button', 'remote-toggle', 'Remote');
toggle.type = 'button';
toggle.setAttribute('aria-pressed', 'false');

function setMode(on) {
  document.body.classList.toggle('remote-mode', on);
  toggle.setAttribute('aria-pressed', on ? 'true' : 'false');
  toggle.textContent = on ? tr('Full console') : tr('Remote');
  store.set('handsup:remote', on ? '1' : '0');
}

function render() {
  const id = state.presentation.current;
  const q = id && findQuestion(state.questions, id);
  if (!q) {
    status.textContent = tr('On screen: join instructions. Press Next to show the first question.');
    return;
  }
  const n = state.questions.indexOf(q) + 1;
  const tally = state.tallies[q.id];
  const voters = (tally && tally.voters) || 0;
  status.textContent = tr('On screen: {n}. {prompt}', { n: n, prompt: q.prompt }) + ' \u2014 ' +
    tr(q.state === 'open' ? 'voting open' : q.state === 'closed' ? 'voting closed' : 'not opened') +
    ', ' + tr(voters === 1 ? '{n} voter' : '{n} voters', { n: voters }) +
    (q.results_visible ? ', ' + tr('results shown') : '');
}

onSocketMessage(function (msg) {
  const next = reduceView(state, msg);
  if (next === state) return;
  state = next;
  render();
});

function start() {
  const top = document.querySelector('.mod-top');
  if (top) top.appendChild(toggle);
  document.body.appendChild(panel);
  i18n.apply(panel);
  i18n.onChange(function () {
    toggle.textContent = document.body.classList.contains('remote-mode') ? tr('Full console') : tr('Remote');
    render();
  });
  toggle.addEventListener('click', function () {
    setMode(!document.body.classList.contains('remote-mode'));
  });
  const saved = store.get('handsup:remote');
  // A phone-sized screen starts as a remote, unless the chair chose otherwise.
  setMode(saved === null ? window.matchMedia('(max-width: 600px)').matches : saved === '1');
  render();
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
else start();

