// The pure parts of the interface language: filling placeholders, matching
// language tags, and picking a question's translation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  localize, matchLanguage, pickInterfaceLanguage, pickLanguage, translate
} from '../../web/assets/i18n.js';

test('a key missing from the catalogue shows the English text', () => {
  assert.equal(translate({}, 'Voting open'), 'Voting open');
  assert.equal(translate({ 'Voting open': '' }, 'Voting open'), 'Voting open');
  assert.equal(translate({ 'Voting open': 'Vote ouvert' }, 'Voting open'), 'Vote ouvert');
});

test('placeholders are filled from the parameters, unknown ones are left as they are', () => {
  assert.equal(translate({}, '{n} voters', { n: 3 }), '3 voters');
  assert.equal(translate({ '{n} voters': '{n} votants' }, '{n} voters', { n: 0 }), '0 votants');
  assert.equal(translate({}, 'from {min} to {max}', { min: 1 }), 'from 1 to {max}');
  assert.equal(translate({}, 'Session {code}', { code: '123 456' }), 'Session 123 456');
});

test('a catalogue cannot answer with what objects inherit', () => {
  assert.equal(translate({}, 'constructor'), 'constructor');
  assert.equal(translate({}, '{toString}', {}), '{toString}');
});

test('an interface language is matched by its primary tag', () => {
  assert.equal(matchLanguage('fr-CA'), 'fr');
  assert.equal(matchLanguage('ES'), 'es');
  assert.equal(matchLanguage('de'), null);
  assert.equal(matchLanguage(undefined), null);
  assert.equal(pickInterfaceLanguage(['de-DE', 'es-MX', 'fr']), 'es');
  assert.equal(pickInterfaceLanguage(['de', 'it']), 'en');
});

const q = {
  prompt: 'Which day?',
  options: ['Monday', 'Tuesday'],
  translations: {
    fr: { prompt: 'Quel jour ?', options: ['Lundi', 'Mardi'] },
    'pt-BR': { prompt: 'Qual dia?', options: ['Segunda', ''] },
    de: { prompt: 'Welcher Tag?', options: ['Montag'] }
  }
};

test('the translation that fits the wanted languages best is picked', () => {
  assert.equal(pickLanguage(q, ['fr-FR']), 'fr');
  assert.equal(pickLanguage(q, ['pt-br']), 'pt-BR');
  assert.equal(pickLanguage(q, ['pt']), 'pt-BR');
  assert.equal(pickLanguage(q, ['it', 'fr']), 'fr');
  assert.equal(pickLanguage(q, ['original', 'fr']), null);
  assert.equal(pickLanguage(q, ['it']), null);
  assert.equal(pickLanguage({ prompt: 'x' }, ['fr']), null);
});

test('a question is shown in its translation, missing parts in the original', () => {
  assert.deepEqual(localize(q, ['fr']), { prompt: 'Quel jour ?', options: ['Lundi', 'Mardi'], lang: 'fr' });
  assert.deepEqual(localize(q, ['pt']), { prompt: 'Qual dia?', options: ['Segunda', 'Tuesday'], lang: 'pt-BR' });
  // A translation with the wrong number of options keeps the original options.
  assert.deepEqual(localize(q, ['de']), { prompt: 'Welcher Tag?', options: ['Monday', 'Tuesday'], lang: 'de' });
  assert.deepEqual(localize(q, ['it']), { prompt: 'Which day?', options: ['Monday', 'Tuesday'], lang: null });
});
