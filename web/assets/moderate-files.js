// The console's files: the deck, the results CSV and the session's records
// (its journal, for `handsup verify FILE`) as downloads, and the printable
// report in a new tab. The moderator token travels in the
// Authorization header, never in a URL.

import { $, $$, el, on } from './dom.js';
import { apiError } from './http.js';
import { t } from './i18n.js';
import { toast } from './ui.js';

// Wires the file buttons of the console of session `code`; errorText(err) words a failure.
export function fileButtons(code, token, errorText) {
  // Fetches one of the session's files as the moderator; resolves to a Blob.
  function fetchFile(path) {
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
  function saveBlob(blob, name) {
    const url = URL.createObjectURL(blob);
    const link = el('a', { href: url, download: name, hidden: true });
    document.body.appendChild(link);
    link.click();
    setTimeout(function () {
      if (link.parentNode) link.parentNode.removeChild(link);
      URL.revokeObjectURL(url);
    }, 10000);
  }

  // Runs a file action from a button, which stays disabled while it runs.
  function fileButton(node, run) {
    if (!token) node.disabled = true;
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

  fileButton($('#download-deck'), function () {
    return fetchFile('/api/sessions/' + code + '/deck.toml').then(function (blob) {
      saveBlob(blob, 'handsup-' + code + '-deck.toml');
    });
  });

  fileButton($('#download-csv'), function () {
    return fetchFile('/api/sessions/' + code + '/export.csv').then(function (blob) {
      saveBlob(blob, 'handsup-' + code + '-results.csv');
    });
  });

  fileButton($('#download-journal'), function () {
    return fetchFile('/api/sessions/' + code + '/journal').then(function (blob) {
      saveBlob(blob, 'handsup-' + code + '.journal');
    });
  });

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

  fileButton($('#open-report'), function () {
    // Open the tab now, while the click still counts as the user's, and fill it when the report arrives.
    const tab = window.open('', '_blank');
    return fetchFile('/api/sessions/' + code + '/report.html').then(function (blob) {
      const html = new Blob([blob], { type: 'text/html;charset=utf-8' });
      if (!tab || tab.closed) {
        // Pop-ups are blocked here: keep the report as a file instead.
        saveBlob(html, 'handsup-' + code + '-report.html');
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
  });
}
