// The console's files: the deck, the results CSV and the session's records
// (its journal, for `handsup verify FILE`) as downloads, and the printable
// report in a new tab. The moderator token travels in the
// Authorization header, never in a URL.

import { $ } from './dom.js';
import { fetchFile, fileButton, openReport, saveBlob } from './files.js';

// Wires the file buttons of the console of session `code`; errorText(err) words a failure.
export function fileButtons(code, token, errorText) {
  function button(node, run) {
    if (!token) node.disabled = true;
    fileButton(node, run, errorText);
  }

  function download(node, path, name) {
    button(node, function () {
      return fetchFile('/api/sessions/' + code + path, token).then(function (blob) { saveBlob(blob, name); });
    });
  }

  download($('#download-deck'), '/deck.toml', 'handsup-' + code + '-deck.toml');
  download($('#download-csv'), '/export.csv', 'handsup-' + code + '-results.csv');
  download($('#download-journal'), '/journal', 'handsup-' + code + '.journal');

  button($('#open-report'), function () {
    return openReport('/api/sessions/' + code + '/report.html', token, 'handsup-' + code + '-report.html');
  });
}
