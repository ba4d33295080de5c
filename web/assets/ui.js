// Page-wide feedback: the toasts and the connection badge.

import { $, el, on, setText } from './dom.js';
import { t } from './i18n.js';

export function toast(message, kind) {
  let box = $('#toasts');
  if (!box) {
    box = el('div', { id: 'toasts', className: 'toasts', role: 'status', 'aria-live': 'assertive' });
    document.body.appendChild(box);
  }
  const node = el('div', { className: 'toast toast-' + (kind || 'info') }, [
    el('span', { className: 'toast-text', text: message }),
    el('button', { type: 'button', className: 'toast-close', 'aria-label': t('Dismiss'), text: '×' })
  ]);
  function dismiss() { if (node.parentNode) node.parentNode.removeChild(node); }
  on(node.lastChild, 'click', dismiss);
  box.appendChild(node);
  setTimeout(dismiss, kind === 'error' ? 9000 : 4000);
  return node;
}

const BADGE = {
  open: 'Live',
  connecting: 'Connecting…',
  waiting: 'Reconnecting…',
  polling: 'Live (slow network mode)',
  offline: 'Offline',
  fatal: 'Disconnected',
  ended: 'Ended'
};

export function connectionBadge(node, state, extra) {
  const label = t(BADGE[state] || state);
  node.dataset.state = state;
  setText(node, extra || label);
  node.setAttribute('title', extra || label);
}
