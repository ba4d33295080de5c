// Interpreters' translations of the questions from the floor: which one a
// reader in a given language is shown. Pure: no page, no socket.

function own(obj, key) { return Object.prototype.hasOwnProperty.call(obj, key); }

// The item's translations as [{lang, text}], in the order of their tags.
export function translationsOf(item) {
  const tr = item && item.translations;
  if (!tr || typeof tr !== 'object') return [];
  return Object.keys(tr).sort()
    .filter(function (lang) { return typeof tr[lang] === 'string' && tr[lang]; })
    .map(function (lang) { return { lang: lang, text: tr[lang] }; });
}

// The translation of item for a reader of `lang` ('fr', 'pt-BR'): the same
// tag first, then one of the same primary language; null when there is none.
export function translationFor(item, lang) {
  const list = translationsOf(item);
  if (!lang || !list.length) return null;
  const wanted = String(lang).toLowerCase();
  const primary = wanted.split('-')[0];
  let exact = null;
  let near = null;
  list.forEach(function (tr) {
    const tag = tr.lang.toLowerCase();
    if (tag === wanted) exact = exact || tr;
    else if (tag.split('-')[0] === primary) near = near || tr;
  });
  return exact || near;
}

// The translation an interpreter of `lang` has made of item, or ''.
export function ownTranslation(item, lang) {
  const tr = item && item.translations;
  return tr && lang && own(tr, lang) && typeof tr[lang] === 'string' ? tr[lang] : '';
}
