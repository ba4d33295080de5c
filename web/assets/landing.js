/* handsup: the start page. Join with a code, or create a session and go to its console. */
import { $, clear, el, on, setText } from './dom.js';
import { spacedCode } from './format.js';
import { i18n, startI18n, t } from './i18n.js';
import { api, apiError } from './http.js';
import { forgetAllSessions, forgetSession, onSessionsChange, rememberedSessions } from './store.js';

startI18n();

const joinForm = $('#join-form');
const joinCode = $('#join-code');
const joinError = $('#join-error');
const createForm = $('#create-form');
const createTitle = $('#create-title');
const createAdmin = $('#create-admin');
const createError = $('#create-error');
const createSubmit = $('#create-submit');
const adminDetails = $('#admin-details');
const mine = $('#mine');
const mineList = $('#mine-list');

function showError(node, text) {
  node.hidden = !text;
  setText(node, text || '');
}

/* ------------------------------------------------------------ join */

on(joinForm, 'submit', function (ev) {
  ev.preventDefault();
  const code = joinCode.value.replace(/\D/g, '');
  if (code.length !== 6) {
    showError(joinError, t('The code has 6 digits.'));
    joinCode.focus();
    return;
  }
  showError(joinError, null);
  api('GET', '/api/sessions/' + code).then(function (res) {
    if (res.status === 404) {
      showError(joinError, t('No session with code {code}. Check the code on the screen.', { code: spacedCode(code) }));
      return;
    }
    window.location.href = '/' + code;
  }, function () {
    // Network trouble: let the audience page deal with it (it retries by itself).
    window.location.href = '/' + code;
  });
});

/* ------------------------------------------------------------ create */

on(createForm, 'submit', function (ev) {
  ev.preventDefault();
  const title = createTitle.value.trim();
  if (!title) {
    showError(createError, t('Give the session a title.'));
    createTitle.focus();
    return;
  }
  if (title.length > 200) {
    showError(createError, t('The title is longer than 200 characters.'));
    return;
  }
  showError(createError, null);
  createSubmit.disabled = true;
  const admin = createAdmin.value.trim();
  api('POST', '/api/sessions', { title: title }, admin || null).then(function (res) {
    createSubmit.disabled = false;
    const body = res.body || {};
    if (res.status === 201 || (res.ok && body.code)) {
      if (!/^\d{6}$/.test(String(body.code)) || !body.moderator_token) {
        showError(createError, t('The server gave an unexpected answer.'));
        return;
      }
      // Same origin as this page: the server's own urls may name a LAN address.
      window.location.href = '/' + body.code + '/moderate#token=' + encodeURIComponent(body.moderator_token);
      return;
    }
    if (res.status === 401 || res.status === 403) {
      adminDetails.open = true;
      showError(createError, admin
        ? t('This admin token was refused.')
        : t('This server only lets its admins create sessions: enter the admin token.'));
      createAdmin.focus();
      return;
    }
    showError(createError, apiError(res).message);
  }, function () {
    createSubmit.disabled = false;
    showError(createError, t('Could not reach the server. Check the connection and try again.'));
  });
});

/* ------------------------------------------------------------ create from a deck file */

const deckForm = $('#deck-form');
const deckFile = $('#deck-file');
const deckError = $('#deck-error');
const deckSubmit = $('#deck-submit');

on(deckFile, 'change', function () { showError(deckError, null); });

on(deckForm, 'submit', function (ev) {
  ev.preventDefault();
  const file = deckFile.files && deckFile.files[0];
  if (!file) {
    showError(deckError, t('Choose a deck file first.'));
    deckFile.focus();
    return;
  }
  showError(deckError, null);
  deckSubmit.disabled = true;
  const admin = createAdmin.value.trim();
  const headers = { 'Accept': 'application/json', 'Content-Type': 'application/toml' };
  if (admin) headers['Authorization'] = 'Bearer ' + admin;
  // The file goes as it is: the server reads the TOML and says what is wrong with it.
  fetch('/api/decks', {
    method: 'POST',
    headers: headers,
    body: file,
    credentials: 'same-origin',
    cache: 'no-store'
  }).then(function (res) {
    return res.text().then(function (text) {
      let body = null;
      try { body = JSON.parse(text); } catch (e) { body = null; }
      return { status: res.status, ok: res.ok, body: body };
    });
  }).then(function (res) {
    deckSubmit.disabled = false;
    const body = res.body || {};
    if (res.status === 201 && /^\d{6}$/.test(String(body.code)) && body.moderator_token) {
      window.location.href = '/' + body.code + '/moderate#token=' + encodeURIComponent(body.moderator_token);
      return;
    }
    if (res.status === 401 || res.status === 403) {
      adminDetails.open = true;
      showError(deckError, admin
        ? t('This admin token was refused.')
        : t('This server only lets its admins create sessions: enter the admin token above.'));
      createAdmin.focus();
      return;
    }
    const err = apiError(res);
    if (res.status === 413 && /request body/.test(err.message)) {
      showError(deckError, t('This file is larger than this server takes: is it really a deck?'));
      return;
    }
    showError(deckError, t('This deck has a mistake: {error}', { error: err.message }));
  }, function () {
    deckSubmit.disabled = false;
    showError(deckError, t('Could not reach the server. Check the connection and try again.'));
  });
});

/* ------------------------------------------------------------ remembered sessions */

// Only the sessions a chair chose to remember in their console are here.
const forgetAll = $('#mine-forget-all');
on(forgetAll, 'click', function () {
  forgetAllSessions();
  renderMine();
});

function renderMine() {
  const list = rememberedSessions();
  clear(mineList);
  mine.hidden = !list.length;
  list.forEach(function (s) {
    const consoleLink = el('a', {
      className: 'mine-title',
      href: '/' + s.code + '/moderate#token=' + encodeURIComponent(s.token),
      text: s.title || t('Untitled session')
    });
    const forget = el('button', { type: 'button', className: 'btn btn-secondary btn-small mine-forget', text: t('Forget') });
    on(forget, 'click', function () {
      forgetSession(s.code);
      renderMine();
    });
    const when = s.at ? new Date(s.at) : null;
    mineList.appendChild(el('li', { className: 'mine-item', dataset: { code: s.code } }, [
      el('div', { className: 'mine-text' }, [
        consoleLink,
        el('span', {
          className: 'mine-meta',
          text: t('Code {code}', { code: spacedCode(s.code) }) + (when && !isNaN(when) ? ' · ' + when.toLocaleString() : '')
        })
      ]),
      el('a', { className: 'btn btn-secondary btn-small', href: '/' + s.code + '/screen', target: '_blank', rel: 'noopener', text: t('Screen') }),
      forget
    ]));
  });
}

renderMine();
i18n.onChange(renderMine);
onSessionsChange(renderMine);
