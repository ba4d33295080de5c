// The interface language: the catalogues in /assets/i18n/, t() for the text
// of the pages, the language pickers, and the choice of a question's
// translation for the wanted languages.
//
// A key is the English text itself, so English needs no catalogue: a missing
// key (or a missing catalogue) shows the English. The other languages are
// flat files in /assets/i18n/ (see its README); only the chosen one is
// fetched. Placeholders look like {n}. Nothing here touches the page until
// start() is called, so the pure parts load anywhere.

import { $$, clear, el, on, setText } from './dom.js';
import { store } from './store.js';

// The languages of the interface: add a code here once its file exists.
export const LANGS = ['en', 'fr', 'es'];
const NAMES = { en: 'English', fr: 'Français', es: 'Español' };
const LANG_KEY = 'handsup:lang';

// The live state of the interface language, shared by every script of the page.
export const i18n = {
  // The language in use, one of LANGS.
  lang: 'en',
  // Its catalogue: English text -> translated text.
  dict: {},
  // Question languages that are not interface languages, offered by the pickers too.
  extra: [],
  listeners: [],
  pickers: [],
  onChange: function (fn) { i18n.listeners.push(fn); },
  apply: function (root) { apply(root); },
  setExtra: function (tags) { setExtra(tags); }
};

function own(obj, key) { return Object.prototype.hasOwnProperty.call(obj, key); }

// key in dict (else key itself), with {name} placeholders filled from params.
export function translate(dict, key, params) {
  let s = dict && own(dict, key) && typeof dict[key] === 'string' && dict[key] ? dict[key] : key;
  if (params) {
    s = s.replace(/\{(\w+)\}/g, function (m, name) {
      return own(params, name) ? String(params[name]) : m;
    });
  }
  return s;
}

// The text of key in the interface language.
export function t(key, params) { return translate(i18n.dict, key, params); }

// The interface language for a language tag ('fr-CA' -> 'fr'), or null.
export function matchLanguage(tag) {
  const primary = String(tag || '').toLowerCase().split('-')[0];
  return LANGS.indexOf(primary) !== -1 ? primary : null;
}

// The languages this device wants, most wanted first: the one chosen on a picker, then the browser's.
export function preferredLanguages() {
  const chosen = store.get(LANG_KEY);
  const list = [];
  if (chosen) list.push(chosen);
  const nav = window.navigator.languages && window.navigator.languages.length
    ? window.navigator.languages : [window.navigator.language || ''];
  for (let i = 0; i < nav.length; i++) if (nav[i]) list.push(nav[i]);
  return list;
}

// The first interface language among the wanted ones, else English.
export function pickInterfaceLanguage(wanted) {
  for (let i = 0; i < wanted.length; i++) {
    const m = matchLanguage(wanted[i]);
    if (m) return m;
  }
  return 'en';
}

// The translation tag of q that best fits the wanted languages, or null for the original.
export function pickLanguage(q, wanted) {
  const tr = q && q.translations;
  if (!tr || typeof tr !== 'object') return null;
  const tags = Object.keys(tr);
  if (!tags.length) return null;
  for (let i = 0; i < wanted.length; i++) {
    const w = String(wanted[i]).toLowerCase();
    if (w === 'original') return null;
    for (let j = 0; j < tags.length; j++) if (tags[j].toLowerCase() === w) return tags[j];
    const primary = w.split('-')[0];
    for (let j = 0; j < tags.length; j++) {
      if (tags[j].toLowerCase().split('-')[0] === primary) return tags[j];
    }
  }
  return null;
}

// {prompt, options, lang} of q in the wanted languages (falls back to the original text).
export function localize(q, wanted) {
  const out = { prompt: q.prompt || '', options: Array.isArray(q.options) ? q.options : [], lang: null };
  const tag = wanted ? pickLanguage(q, wanted) : null;
  if (!tag) return out;
  const tr = q.translations[tag] || {};
  if (typeof tr.prompt === 'string' && tr.prompt) out.prompt = tr.prompt;
  if (Array.isArray(tr.options) && tr.options.length === out.options.length) {
    out.options = out.options.map(function (o, i) {
      return typeof tr.options[i] === 'string' && tr.options[i] ? tr.options[i] : o;
    });
  }
  out.lang = tag;
  return out;
}

export function languageName(tag) {
  try {
    if (typeof Intl !== 'undefined' && Intl.DisplayNames) {
      const name = new Intl.DisplayNames([tag], { type: 'language' }).of(tag);
      if (name) return name;
    }
  } catch (e) { /* unknown tag */ }
  return tag;
}

// Sets the static text of the page: [data-i18n] elements (their English text is the key)
// and data-i18n-attr="placeholder aria-label title alt" for those attributes.
function apply(root) {
  $$('[data-i18n]', root).forEach(function (node) {
    if (node.i18nKey === undefined) node.i18nKey = node.textContent.replace(/\s+/g, ' ').trim();
    setText(node, t(node.i18nKey));
  });
  $$('[data-i18n-attr]', root).forEach(function (node) {
    if (!node.i18nAttrs) {
      node.i18nAttrs = {};
      node.getAttribute('data-i18n-attr').split(/\s+/).forEach(function (a) {
        if (a && node.hasAttribute(a)) node.i18nAttrs[a] = node.getAttribute(a);
      });
    }
    Object.keys(node.i18nAttrs).forEach(function (a) { node.setAttribute(a, t(node.i18nAttrs[a])); });
  });
}

let loadSeq = 0;
// Switches the interface to lang (fetching its catalogue), then tells the views.
function use(lang) {
  lang = matchLanguage(lang) || 'en';
  const seq = ++loadSeq;
  const got = lang === 'en' ? Promise.resolve({}) : fetch('/assets/i18n/' + lang + '.json', { credentials: 'same-origin' })
    .then(function (res) { return res.ok ? res.json() : {}; })
    .catch(function () { return {}; });
  return got.then(function (dict) {
    if (seq !== loadSeq) return;
    i18n.lang = lang;
    i18n.dict = dict && typeof dict === 'object' ? dict : {};
    document.documentElement.lang = lang;
    apply(document);
    i18n.pickers.forEach(fillPicker);
    i18n.listeners.forEach(function (fn) { try { fn(lang); } catch (e) { console.error(e); } });
  });
}

function setExtra(tags) {
  const extra = (tags || []).filter(function (tag) { return LANGS.indexOf(String(tag).toLowerCase()) === -1; }).sort();
  if (extra.join(',') === i18n.extra.join(',')) return;
  i18n.extra = extra;
  i18n.pickers.forEach(fillPicker);
}

function fillPicker(select) {
  const chosen = store.get(LANG_KEY) || i18n.lang;
  clear(select);
  LANGS.concat(i18n.extra).forEach(function (tag) {
    select.appendChild(el('option', { value: tag, lang: tag, text: NAMES[tag] || languageName(tag) }));
  });
  select.value = chosen;
  if (select.value !== chosen) select.value = i18n.lang;
}

// A language picker in select (a <select> with a <label>); the choice is kept in handsup:lang.
function picker(select) {
  if (!select) return;
  i18n.pickers.push(select);
  fillPicker(select);
  select.hidden = false;
  on(select, 'change', function () {
    store.set(LANG_KEY, select.value);
    use(pickInterfaceLanguage(preferredLanguages()));
  });
}

let started = false;
// Every page, once: start in the language of this device (English is there at once).
export function startI18n() {
  if (started) return;
  started = true;
  $$('select[data-i18n-picker]').forEach(picker);
  const lang = pickInterfaceLanguage(preferredLanguages());
  if (lang === 'en') { document.documentElement.lang = 'en'; apply(document); return; }
  use(lang);
}
