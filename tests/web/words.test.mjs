// The projector merges word-cloud words under the same form as the server
// counts them. The cases live in tests/fixtures/words.json, which the server's
// own unit test (normalise_word in src/domain/question.rs) reads too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { normaliseWord } from '../../web/assets/wordcloud.js';

const cases = JSON.parse(readFileSync(new URL('../fixtures/words.json', import.meta.url), 'utf8'));

test('the shared fixture has cases', () => {
  assert.ok(cases.length > 10);
});

for (const c of cases) {
  test(`word normalisation: ${c.why}`, () => {
    assert.equal(normaliseWord(c.input), c.normalised);
  });
}

test('a missing word normalises to nothing', () => {
  assert.equal(normaliseWord(undefined), '');
  assert.equal(normaliseWord(null), '');
});
