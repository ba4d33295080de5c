/* handsup: the start page. Join with a code, or create a session and go to its console. */
(function () {
  'use strict';
  var H = window.Handsup;

  var joinForm = H.$('#join-form');
  var joinCode = H.$('#join-code');
  var joinError = H.$('#join-error');
  var createForm = H.$('#create-form');
  var createTitle = H.$('#create-title');
  var createAdmin = H.$('#create-admin');
  var createError = H.$('#create-error');
  var createSubmit = H.$('#create-submit');
  var adminDetails = H.$('#admin-details');
  var mine = H.$('#mine');
  var mineList = H.$('#mine-list');

  function showError(node, text) {
    node.hidden = !text;
    H.setText(node, text || '');
  }

  /* ------------------------------------------------------------ join */

  H.on(joinForm, 'submit', function (ev) {
    ev.preventDefault();
    var code = joinCode.value.replace(/\D/g, '');
    if (code.length !== 6) {
      showError(joinError, H.t('The code has 6 digits.'));
      joinCode.focus();
      return;
    }
    showError(joinError, null);
    H.api('GET', '/api/sessions/' + code).then(function (res) {
      if (res.status === 404) {
        showError(joinError, H.t('No session with code {code}. Check the code on the screen.', { code: H.spacedCode(code) }));
        return;
      }
      window.location.href = '/' + code;
    }, function () {
      // Network trouble: let the audience page deal with it (it retries by itself).
      window.location.href = '/' + code;
    });
  });

  /* ------------------------------------------------------------ create */

  H.on(createForm, 'submit', function (ev) {
    ev.preventDefault();
    var title = createTitle.value.trim();
    if (!title) {
      showError(createError, H.t('Give the session a title.'));
      createTitle.focus();
      return;
    }
    if (title.length > 200) {
      showError(createError, H.t('The title is longer than 200 characters.'));
      return;
    }
    showError(createError, null);
    createSubmit.disabled = true;
    var admin = createAdmin.value.trim();
    H.api('POST', '/api/sessions', { title: title }, admin || null).then(function (res) {
      createSubmit.disabled = false;
      var body = res.body || {};
      if (res.status === 201 || (res.ok && body.code)) {
        if (!/^\d{6}$/.test(String(body.code)) || !body.moderator_token) {
          showError(createError, H.t('The server gave an unexpected answer.'));
          return;
        }
        // Same origin as this page: the server's own urls may name a LAN address.
        window.location.href = '/' + body.code + '/moderate#token=' + encodeURIComponent(body.moderator_token);
        return;
      }
      if (res.status === 401 || res.status === 403) {
        adminDetails.open = true;
        showError(createError, admin
          ? H.t('This admin token was refused.')
          : H.t('This server only lets its admins create sessions: enter the admin token.'));
        createAdmin.focus();
        return;
      }
      showError(createError, H.apiError(res).message);
    }, function () {
      createSubmit.disabled = false;
      showError(createError, H.t('Could not reach the server. Check the connection and try again.'));
    });
  });

  /* ------------------------------------------------------------ create from a deck file */

  var deckForm = H.$('#deck-form');
  var deckFile = H.$('#deck-file');
  var deckError = H.$('#deck-error');
  var deckSubmit = H.$('#deck-submit');

  H.on(deckFile, 'change', function () { showError(deckError, null); });

  H.on(deckForm, 'submit', function (ev) {
    ev.preventDefault();
    var file = deckFile.files && deckFile.files[0];
    if (!file) {
      showError(deckError, H.t('Choose a deck file first.'));
      deckFile.focus();
      return;
    }
    showError(deckError, null);
    deckSubmit.disabled = true;
    var admin = createAdmin.value.trim();
    var headers = { 'Accept': 'application/json', 'Content-Type': 'application/toml' };
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
        var body = null;
        try { body = JSON.parse(text); } catch (e) { body = null; }
        return { status: res.status, ok: res.ok, body: body };
      });
    }).then(function (res) {
      deckSubmit.disabled = false;
      var body = res.body || {};
      if (res.status === 201 && /^\d{6}$/.test(String(body.code)) && body.moderator_token) {
        window.location.href = '/' + body.code + '/moderate#token=' + encodeURIComponent(body.moderator_token);
        return;
      }
      if (res.status === 401 || res.status === 403) {
        adminDetails.open = true;
        showError(deckError, admin
          ? H.t('This admin token was refused.')
          : H.t('This server only lets its admins create sessions: enter the admin token above.'));
        createAdmin.focus();
        return;
      }
      var err = H.apiError(res);
      if (res.status === 413 && /request body/.test(err.message)) {
        showError(deckError, H.t('This file is larger than this server takes: is it really a deck?'));
        return;
      }
      showError(deckError, H.t('This deck has a mistake: {error}', { error: err.message }));
    }, function () {
      deckSubmit.disabled = false;
      showError(deckError, H.t('Could not reach the server. Check the connection and try again.'));
    });
  });

  /* ------------------------------------------------------------ remembered sessions */

  // Only the sessions a chair chose to remember in their console are here.
  var forgetAll = H.$('#mine-forget-all');
  H.on(forgetAll, 'click', function () {
    H.forgetAllSessions();
    renderMine();
  });

  function renderMine() {
    var list = H.rememberedSessions();
    H.clear(mineList);
    mine.hidden = !list.length;
    list.forEach(function (s) {
      var consoleLink = H.el('a', {
        className: 'mine-title',
        href: '/' + s.code + '/moderate#token=' + encodeURIComponent(s.token),
        text: s.title || H.t('Untitled session')
      });
      var forget = H.el('button', { type: 'button', className: 'btn btn-secondary btn-small mine-forget', text: H.t('Forget') });
      H.on(forget, 'click', function () {
        H.forgetSession(s.code);
        renderMine();
      });
      var when = s.at ? new Date(s.at) : null;
      mineList.appendChild(H.el('li', { className: 'mine-item', dataset: { code: s.code } }, [
        H.el('div', { className: 'mine-text' }, [
          consoleLink,
          H.el('span', {
            className: 'mine-meta',
            text: H.t('Code {code}', { code: H.spacedCode(s.code) }) + (when && !isNaN(when) ? ' · ' + when.toLocaleString() : '')
          })
        ]),
        H.el('a', { className: 'btn btn-secondary btn-small', href: '/' + s.code + '/screen', target: '_blank', rel: 'noopener', text: H.t('Screen') }),
        forget
      ]));
    });
  }

  renderMine();
  H.i18n.onChange(renderMine);
  H.onSessionsChange(renderMine);
})();
