// Which interpreter's translation a reader is shown.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ownTranslation, translationFor, translationsOf } from '../../web/assets/qa-translations.js';

const item = {
  text: 'Who pays?',
  translations: { fr: 'Qui paie ?', 'pt-BR': 'Quem paga?', es: '' }
};

test('a reader gets the translation of their language, or of its primary tag', () => {
  assert.deepEqual(translationFor(item, 'fr'), { lang: 'fr', text: 'Qui paie ?' });
  assert.deepEqual(translationFor(item, 'fr-CA'), { lang: 'fr', text: 'Qui paie ?' });
  assert.deepEqual(translationFor(item, 'pt'), { lang: 'pt-BR', text: 'Quem paga?' });
  assert.equal(translationFor(item, 'es'), null, 'an empty translation is none');
  assert.equal(translationFor(item, 'en'), null);
  assert.equal(translationFor({ text: 'x' }, 'fr'), null);
  assert.equal(translationFor(item, ''), null);
});

test('the list of translations is in the order of their tags, empty ones left out', () => {
  assert.deepEqual(translationsOf(item).map((t) => t.lang), ['fr', 'pt-BR']);
  assert.deepEqual(translationsOf({}), []);
  assert.deepEqual(translationsOf({ translations: { constructor: 'x' } }).length, 1);
});

test('an interpreter finds back their own translation only', () => {
  assert.equal(ownTranslation(item, 'fr'), 'Qui paie ?');
  assert.equal(ownTranslation(item, 'fr-CA'), '');
  assert.equal(ownTranslation({ translations: {} }, 'toString'), '');
});
