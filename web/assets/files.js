// Files the server hands a staff member (the results CSV, the report, the
// deck, the records): fetched with the token in the Authorization header,
// never in a URL, then saved as a download or opened in a new tab.

import { $$, el, on } from './dom.js';
import { apiError } from './http.js';
import { t } from './i18n.js';
import { toast } from './ui.js';

// Fetches path with token as bearer; resolves to a Blob, rejects with {code, message}.
export function fetchFile(path, token) {
  return fetch(path, {
    headers: { 'Authorization': 'Bearer ' + token },
    credentials: 'same-origin',
    cache: 'no-store'
  }).then(function (res) {
    if (res.ok) return res.blob();
    return res.text().then(function (text) {
      let body = null;
      try { body = JSON.parse(text); } catch (e) { body = null; }
      throw apiError({ status: res.status, body: body });
    });
  }, function () {
    throw { code: 'network', message: t('Could not reach the server. Check the connection and try again.') };
  });
}

// Hands a Blob to the browser as a download named `name`.
export function saveBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  const link = el('a', { href: url, download: name, hidden: true });
  document.body.appendChild(link);
  link.click();
  setTimeout(function () {
    if (link.parentNode) link.parentNode.removeChild(link);
    URL.revokeObjectURL(url);
  }, 10000);
}

// Runs a file action from a button, which stays disabled while it runs; a
// failure is a toast worded by errorText(err).
export function fileButton(node, run, errorText) {
  on(node, 'click', function () {
    if (node.disabled) return;
    node.disabled = true;
    run().then(function () {
      node.disabled = false;
    }, function (err) {
      node.disabled = false;
      toast(errorText(err || {}), 'error');
    });
  });
}

// A report opened from a Blob URL inherits this page's Content-Security-Policy,
// which refuses its inline stylesheet: hand the same rules over through the CSSOM.
function styleReport(tab, url) {
  let tries = 0;
  (function look() {
    let doc = null;
    try { doc = tab.closed ? null : tab.document; } catch (e) { return; }
    if (doc && doc.URL === url && doc.readyState !== 'loading') {
      try {
        doc.adoptedStyleSheets = $$('style', doc).map(function (node) {
          const sheet = new tab.CSSStyleSheet();
          sheet.replaceSync(node.textContent);
          return sheet;
        });
      } catch (e) { /* an older browser: the report stays plain, and complete */ }
      return;
    }
    if (++tries < 200 && !tab.closed) setTimeout(look, 50);
  })();
}

// Opens the report at path in a new tab (or, where pop-ups are blocked,
// saves it as `name`). Call it from the click itself, while it still counts
// as the user's: the tab is opened at once and filled when the report comes.
export function openReport(path, token, name) {
  const tab = window.open('', '_blank');
  return fetchFile(path, token).then(function (blob) {
    const html = new Blob([blob], { type: 'text/html;charset=utf-8' });
    if (!tab || tab.closed) {
      saveBlob(html, name);
      return;
    }
    const url = URL.createObjectURL(html);
    tab.opener = null;
    tab.location.href = url;
    styleReport(tab, url);
    // The tab keeps its document; the URL is only needed while it loads.
    setTimeout(function () { URL.revokeObjectURL(url); }, 60000);
  }, function (err) {
    if (tab && !tab.closed) tab.close();
    throw err;
  });
}
