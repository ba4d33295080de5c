'use strict';
// Interface languages: a French phone, a switch to Spanish that survives a reload, a projector of its own.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const {
  PHONE, PROJECTOR,
  startServer, launchBrowser, openPage, assertNoProblems, api, eventually, waitLive
} = require('./lib');

const I18N = path.resolve(__dirname, '../../web/assets/i18n');

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  if (browser) await browser.close();
  if (server) await server.stop();
});

test('every catalogue has the keys of en.json, with the same placeholders', () => {
  const en = JSON.parse(fs.readFileSync(path.join(I18N, 'en.json'), 'utf8'));
  for (const lang of ['fr', 'es']) {
    const cat = JSON.parse(fs.readFileSync(path.join(I18N, lang + '.json'), 'utf8'));
    for (const key of Object.keys(en)) {
      assert.equal(typeof cat[key], 'string', `${lang}.json lacks "${key}"`);
      const want = (key.match(/\{\w+\}/g) || []).sort().join();
      assert.equal((cat[key].match(/\{\w+\}/g) || []).sort().join(), want, `${lang}.json "${key}" placeholders`);
    }
    for (const key of Object.keys(cat)) assert.ok(key in en, `${lang}.json has "${key}", unknown to en.json`);
  }
});

test('a French phone, switched to Spanish; the projector keeps its own language', async () => {
  const created = await api(server.url, 'POST', '/api/sessions', {
    title: 'Multilingual room',
    questions: [{
      kind: 'single', prompt: 'Coffee or tea?', options: ['Coffee', 'Tea'],
      translations: {
        fr: { prompt: 'Café ou thé ?', options: ['Café', 'Thé'] },
        es: { prompt: '¿Café o té?', options: ['Café', 'Té'] }
      }
    }]
  });
  assert.equal(created.status, 201, created.text);
  const { code, moderator_token: token } = created.body;
  const qid = (await api(server.url, 'GET', `/api/sessions/${code}`, undefined, token)).body.questions[0].id;
  assert.equal((await api(server.url, 'POST', `/api/sessions/${code}/questions/${qid}/open`, {}, token)).status, 200);
  assert.equal((await api(server.url, 'POST', `/api/sessions/${code}/present`, { question_id: qid }, token)).status, 200);

  // The phone's browser speaks French: French interface, French question.
  const phone = await openPage(browser, Object.assign({ locale: 'fr-FR' }, PHONE), `${server.url}/${code}`);
  await waitLive(phone);
  await eventually(async () => {
    assert.equal(await phone.evaluate(() => document.documentElement.lang), 'fr');
    assert.equal((await phone.textContent('#conn')).trim(), 'En direct');
    assert.equal((await phone.textContent('.q-prompt')).trim(), 'Café ou thé ?');
    assert.equal((await phone.textContent('.q-hint')).trim(), 'Touchez une carte pour voter.');
    assert.equal((await phone.textContent('#code-label')).trim(), 'Session ' + code.slice(0, 3) + ' ' + code.slice(3));
  });
  await phone.click('.card[data-choice="1"]');
  await eventually(async () => assert.equal((await phone.textContent('.q-status')).trim(), 'Votre vote est compté.'));
  // The picker is labelled and offers the interface languages.
  assert.equal((await phone.textContent('label[for="lang"]')).trim(), 'Langue');
  assert.equal(await phone.inputValue('#lang'), 'fr');

  // Switch to Spanish: interface and question follow, and the choice survives a reload.
  await phone.selectOption('#lang', 'es');
  await eventually(async () => {
    assert.equal(await phone.evaluate(() => document.documentElement.lang), 'es');
    assert.equal((await phone.textContent('.q-status')).trim(), 'Tu voto se ha contado.');
    assert.equal((await phone.textContent('.q-prompt')).trim(), '¿Café o té?');
    assert.equal((await phone.textContent('label[for="lang"]')).trim(), 'Idioma');
  });
  assert.equal(await phone.evaluate(() => localStorage.getItem('handsup:lang')), 'es');
  await phone.reload();
  await waitLive(phone);
  await eventually(async () => {
    assert.equal(await phone.evaluate(() => document.documentElement.lang), 'es');
    assert.equal((await phone.textContent('#conn')).trim(), 'En directo');
    assert.equal((await phone.textContent('.q-status')).trim(), 'Tu voto se ha contado.');
    assert.equal(await phone.inputValue('#lang'), 'es');
  });

  // The projector: an English browser, switched to French by its own picker; the phone stays Spanish.
  const screen = await openPage(browser, Object.assign({ locale: 'en-US' }, PROJECTOR), `${server.url}/${code}/screen`);
  await waitLive(screen);
  await eventually(async () => assert.equal((await screen.textContent('#q-state')).trim(), 'Voting open'));
  await screen.selectOption('#lang', 'fr');
  await eventually(async () => {
    assert.equal(await screen.evaluate(() => document.documentElement.lang), 'fr');
    assert.equal((await screen.textContent('#q-state')).trim(), 'Vote ouvert');
    assert.equal((await screen.textContent('.join-label')).trim(), 'Rejoindre sur');
  });
  assert.equal((await phone.textContent('.q-state')).trim(), 'Votación abierta');

  // Only the chosen catalogue is fetched.
  const fetched = await phone.evaluate(() => performance.getEntriesByType('resource').map((e) => e.name).filter((n) => /\/i18n\//.test(n)));
  assert.deepEqual(fetched.map((n) => n.replace(/^.*\/i18n\//, '')), ['es.json']);

  assertNoProblems(phone, 'phone');
  assertNoProblems(screen, 'projector');
});
