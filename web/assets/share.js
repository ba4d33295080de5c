/* handsup: links for every role in the console.
 *
 * - The scope: the welcome says which role this console was opened with
 *   (`scope`); the page then shows only what that role may do (share.css reads
 *   body[data-scope]). The server decides: this only hides what it would refuse.
 *   A results link opens no socket (the server refuses its hello with
 *   `forbidden`): the console then offers the results' downloads alone.
 * - The Share panel (the session's own moderator only): make a link for a role,
 *   see each with its QR code, revoke it. The QR code is fetched with the token
 *   in the Authorization header and shown as a data: image, so a link's token
 *   never travels in a request line.
 * - On a phone, the header folds behind one Menu button, so the remote fills
 *   the screen. */
import { $, clear, el, on, setText } from './dom.js';
import { codeFromPath } from './format.js';
import { i18n, t } from './i18n.js';
import { api, apiError } from './http.js';
import { onSocketMessage, socketToken } from './socket.js';
import { toast } from './ui.js';

const code = codeFromPath();

const ROLES = ['presenter', 'cohost', 'qa_moderator', 'interpreter', 'results'];
const ROLE_NAMES = {
  moderator: 'Moderator',
  cohost: 'Co-host',
  presenter: 'Presenter',
  qa_moderator: 'Q&A moderator',
  interpreter: 'Interpreter',
  results: 'Results'
};
const ROLE_HINTS = {
  cohost: 'Everything but links, deleting the session and its records',
  presenter: 'The remote: what is on screen, open, close, reveal',
  qa_moderator: 'Approves and hides the questions from the floor',
  interpreter: 'Translates the approved questions from the floor',
  results: 'Reads and downloads the results'
};

// Which role this console shows, as the server said.
export function applyScope(scope) {
  document.body.dataset.scope = scope || 'moderator';
}

// A results link: no socket, the downloads only.
export function resultsOnly() {
  applyScope('results');
  const note = $('#results-note');
  if (note) note.hidden = false;
}

function roleName(role) { return t(ROLE_NAMES[role] || role); }

/* ------------------------------------------------------------ the folded header */

function foldHeader() {
  const top = $('.mod-top');
  if (!top) return;
  const button = el('button', {
    type: 'button', id: 'menu-toggle', className: 'menu-toggle', 'aria-expanded': 'false',
    'data-i18n': '', text: 'Menu'
  });
  const heading = $('.mod-heading', top);
  if (heading && heading.nextSibling) top.insertBefore(button, heading.nextSibling);
  else top.appendChild(button);
  on(button, 'click', function () {
    const open = !document.body.classList.contains('menu-open');
    document.body.classList.toggle('menu-open', open);
    button.setAttribute('aria-expanded', open ? 'true' : 'false');
  });
}

/* ------------------------------------------------------------ a results link */

function resultsNote() {
  const main = $('#main');
  if (!main || !main.parentNode) return;
  const note = el('section', { id: 'results-note', className: 'notice results-note', hidden: true }, [
    el('h2', { 'data-i18n': '', text: 'Results of this session' }),
    el('p', { 'data-i18n': '', text: 'This link reads the results: download them as a table, or open the printable report.' })
  ]);
  main.parentNode.insertBefore(note, main);
}

/* ------------------------------------------------------------ the Share panel */

function sharePanel() {
  const main = $('#main');
  if (!main) return;
  const role = el('select', { id: 'share-role', name: 'role' },
    ROLES.map(function (r) { return el('option', { value: r, 'data-i18n': '', text: ROLE_NAMES[r] }); }));
  const hint = el('p', { id: 'share-role-hint', className: 'hint' });
  const label = el('input', { id: 'share-label', type: 'text', maxlength: '100', placeholder: 'e.g. Chair', 'data-i18n-attr': 'placeholder' });
  const lang = el('input', { id: 'share-lang', type: 'text', maxlength: '35', placeholder: 'e.g. fr', 'data-i18n-attr': 'placeholder', autocapitalize: 'off', spellcheck: 'false' });
  const langField = el('div', { className: 'field', hidden: true }, [
    el('label', { 'for': 'share-lang', 'data-i18n': '', text: 'Language of the translations' }), lang
  ]);
  const submit = el('button', { type: 'submit', id: 'share-create', className: 'btn', 'data-i18n': '', text: 'Create link' });
  const form = el('form', { className: 'share-form', novalidate: true }, [
    el('div', { className: 'field' }, [el('label', { 'for': 'share-role', 'data-i18n': '', text: 'Role' }), role, hint]),
    el('div', { className: 'field' }, [
      el('label', { 'for': 'share-label' }, [el('span', { 'data-i18n': '', text: 'For whom' }), ' ', el('span', { className: 'hint', 'data-i18n': '', text: 'optional' })]),
      label
    ]),
    langField,
    submit
  ]);
  const list = el('ul', { id: 'share-list', className: 'share-list' });
  const empty = el('p', { className: 'empty', 'data-i18n': '', text: 'No links yet.' });
  const panel = el('section', { id: 'share-panel', className: 'mod-share', 'aria-labelledby': 'share-heading' }, [
    el('div', { className: 'mod-section-head' }, [el('h2', { id: 'share-heading', 'data-i18n': '', text: 'Share the work' })]),
    el('p', { className: 'hint', 'data-i18n': '', text: 'A link gives a part of the work to someone else, without your moderator link. Scan its code with a phone.' }),
    form, list, empty
  ]);
  main.appendChild(panel);
  i18n.apply(panel);

  let links = [];
  let loaded = false;
  const qr = {};   // id -> data: URL of the QR code

  function renderHint() {
    setText(hint, t(ROLE_HINTS[role.value] || ''));
    langField.hidden = role.value !== 'interpreter';
  }
  on(role, 'change', renderHint);

  function call(method, path, body) {
    return api(method, '/api/sessions/' + code + '/links' + path, body, socketToken());
  }

  function load() {
    call('GET', '').then(function (res) {
      if (!res.ok) { toast(apiError(res).message, 'error'); return; }
      links = (res.body && res.body.links) || [];
      loaded = true;
      render();
    }, function () { toast(t('Could not reach the server. Check the connection and try again.'), 'error'); });
  }

  function fetchQr(link, img) {
    if (qr[link.id]) { img.src = qr[link.id]; return; }
    fetch('/api/sessions/' + code + '/links/' + link.id + '/qr.svg', {
      headers: { 'Authorization': 'Bearer ' + socketToken() }, cache: 'no-store', credentials: 'same-origin'
    }).then(function (res) {
      return res.ok ? res.text() : null;
    }).then(function (svg) {
      if (!svg) return;
      // A data: image: the page's policy allows it, and an image runs nothing.
      qr[link.id] = 'data:image/svg+xml;base64,' + btoa(unescape(encodeURIComponent(svg)));
      img.src = qr[link.id];
    }, function () { /* offline: the link is still there to copy */ });
  }

  function row(link) {
    const img = el('img', { className: 'share-qr', alt: t('QR code of the link for {who}', { who: link.label || roleName(link.role) }), width: '160', height: '160' });
    fetchQr(link, img);
    const url = el('input', { className: 'share-url', type: 'text', readonly: true, value: link.url, 'aria-label': t('Link') });
    const copy = el('button', { type: 'button', className: 'btn btn-secondary btn-small', text: t('Copy') });
    const revoke = el('button', { type: 'button', className: 'btn btn-danger btn-small share-revoke', text: t('Revoke') });
    on(copy, 'click', function () {
      url.select();
      const done = function () { toast(t('Link copied.'), 'ok'); };
      if (navigator.clipboard && navigator.clipboard.writeText) navigator.clipboard.writeText(link.url).then(done, function () { /* selected: copy by hand */ });
    });
    on(revoke, 'click', function () {
      if (!window.confirm(t('Revoke this link? Whoever uses it is disconnected at once.'))) return;
      revoke.disabled = true;
      call('DELETE', '/' + link.id).then(function (res) {
        if (!res.ok && res.status !== 404) { revoke.disabled = false; toast(apiError(res).message, 'error'); return; }
        links = links.filter(function (l) { return l.id !== link.id; });
        delete qr[link.id];
        render();
      }, function () { revoke.disabled = false; toast(t('Could not reach the server. Check the connection and try again.'), 'error'); });
    });
    const title = roleName(link.role) + (link.lang ? ' (' + link.lang + ')' : '') + (link.label ? ' · ' + link.label : '');
    return el('li', { className: 'share-item', dataset: { id: link.id, role: link.role } }, [
      img,
      el('div', { className: 'share-body' }, [
        el('p', { className: 'share-title', text: title }),
        el('p', { className: 'hint', text: t(ROLE_HINTS[link.role] || '') }),
        el('div', { className: 'share-actions' }, [url, copy, revoke])
      ])
    ]);
  }

  function render() {
    clear(list);
    links.forEach(function (l) { list.appendChild(row(l)); });
    empty.hidden = !loaded || links.length > 0;
  }

  on(form, 'submit', function (ev) {
    ev.preventDefault();
    const body = { role: role.value };
    if (label.value.trim()) body.label = label.value.trim();
    if (role.value === 'interpreter') body.lang = lang.value.trim();
    submit.disabled = true;
    call('POST', '', body).then(function (res) {
      submit.disabled = false;
      if (!res.ok) { toast(apiError(res).message, 'error'); return; }
      links.push(res.body);
      label.value = '';
      render();
    }, function () {
      submit.disabled = false;
      toast(t('Could not reach the server. Check the connection and try again.'), 'error');
    });
  });

  i18n.onChange(function () { renderHint(); render(); });
  renderHint();
  return { load: load };
}

/* ------------------------------------------------------------ start */

function start() {
  foldHeader();
  resultsNote();
  let share = null;
  onSocketMessage(function (msg) {
    if (msg.type !== 'welcome') return;
    applyScope(msg.scope);
    if (msg.scope === 'moderator' || msg.scope === undefined) {
      if (!share) share = sharePanel();
      if (share) share.load();
    }
  });
}

if (code) {
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
}
