// Small pure helpers that turn values into text: session codes, option
// letters, countdowns, percentages. No DOM, no interface language.

// The six-digit session code at the start of a page path, or null.
export function codeFromPath(pathname) {
  const path = pathname === undefined ? window.location.pathname : pathname;
  const m = /^\/(\d{6})(?:\/|$)/.exec(path);
  return m ? m[1] : null;
}

// "123456" -> "123 456".
export function spacedCode(code) {
  code = String(code || '');
  return code.length === 6 ? code.slice(0, 3) + ' ' + code.slice(3) : code;
}

// The letter of option i: A..Z, then AA, AB...
export function letter(i) {
  if (i < 26) return String.fromCharCode(65 + i);
  return String.fromCharCode(65 + Math.floor(i / 26) - 1) + String.fromCharCode(65 + (i % 26));
}

export function optionLabel(opt) {
  if (typeof opt === 'string') return opt;
  if (opt && typeof opt === 'object') return String(opt.label || opt.text || '');
  return '';
}

// Milliseconds left as m:ss, rounded up.
export function formatRemaining(ms) {
  let s = Math.max(0, Math.ceil(ms / 1000));
  const m = Math.floor(s / 60);
  s = s % 60;
  return m + ':' + (s < 10 ? '0' : '') + s;
}

export function plural(n, one, many) { return n + ' ' + (n === 1 ? one : many); }

export function pct(part, whole) {
  if (!whole) return 0;
  return Math.round((part / whole) * 100);
}

export function numberOr(n, d) { return typeof n === 'number' && isFinite(n) ? n : d; }

// A fingerprint of what a question says (not its state), to know when to rebuild its view.
export function definitionKey(q) {
  return JSON.stringify([q.kind, q.prompt, q.options, q.colours, q.max_choices, q.min, q.max,
    q.min_label, q.max_label, q.max_words, q.translations]);
}

// A stable small hash of a text, to scatter words without randomness.
export function hashText(s) {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) | 0;
  return h;
}
