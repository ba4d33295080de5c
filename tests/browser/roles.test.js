'use strict';
// Links for every role: a presenter's link on a phone runs the polls, an
// interpreter's translation reaches a French phone, the Share panel makes a
// link with its QR code, and the console's header folds on a phone.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const {
  PHONE, PROJECTOR, DESKTOP, startServer, launchBrowser, openPage, assertNoProblems, api, eventually, waitLive
} = require('./lib');

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

async function session(title, settings) {
  const c = await api(server.url, 'POST', '/api/sessions', {
    title,
    settings,
    questions: [
      { kind: 'single', prompt: 'First question?', options: ['Yes', 'No'] },
      { kind: 'single', prompt: 'Second question?', options: ['Yes', 'No'] }
    ]
  });
  assert.equal(c.status, 201);
  return c.body;
}

async function mint(s, body) {
  const r = await api(server.url, 'POST', `/api/sessions/${s.code}/links`, body, s.moderator_token);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body;
}

test('a presenter link on a phone opens and closes a poll, and shows nothing else', async () => {
  const s = await session('Chaired panel');
  const link = await mint(s, { role: 'presenter', label: 'Chair' });
  const screen = await openPage(browser, PROJECTOR, `${server.url}/${s.code}/screen`);
  await waitLive(screen);
  const remote = await openPage(browser, PHONE, link.url);
  await waitLive(remote);
  assert.equal(await remote.evaluate(() => document.body.dataset.scope), 'presenter');
  assert.ok(await remote.evaluate(() => document.body.classList.contains('remote-mode')), 'a phone starts as a remote');
  await remote.click('.remote-next');
  await remote.click('.remote-open');
  await eventually(async () => assert.match(await remote.textContent('.remote-status'), /1\. First question\? — voting open/));
  await screen.getByText('First question?').first().waitFor();
  const open = (await api(server.url, 'GET', `/api/sessions/${s.code}`)).body;
  assert.equal(open.questions.find((q) => q.prompt === 'First question?').state, 'open');
  await remote.click('.remote-open');
  await eventually(async () => assert.match(await remote.textContent('.remote-status'), /voting closed/));
  await eventually(async () => {
    const v = (await api(server.url, 'GET', `/api/sessions/${s.code}`)).body;
    assert.equal(v.questions.find((q) => q.prompt === 'First question?').state, 'closed');
  });
  // The full console of a presenter: no form, no editing, no Q&A, no Share.
  await remote.click('.remote-toggle');
  await remote.locator('#main').waitFor();
  assert.equal(await remote.locator('#qform').isVisible(), false);
  assert.equal(await remote.locator('#qa-panel').isVisible(), false);
  assert.equal(await remote.locator('#share-panel').count(), 0);
  assert.equal(await remote.locator('.mq [data-action="delete"]').first().isVisible(), false);
  assert.equal(await remote.locator('.mq [data-action="present"]').first().isVisible(), true);
  assertNoProblems(remote, 'remote');
  assertNoProblems(screen, 'projector');
});

test("an interpreter's translation reaches a French phone, marked, with the original a tap away", async () => {
  const s = await session('Forum', { qa_moderation: false });
  const link = await mint(s, { role: 'interpreter', lang: 'fr' });
  const phone = await openPage(browser, Object.assign({ locale: 'fr-FR' }, PHONE), `${server.url}/${s.code}`);
  await waitLive(phone);
  await phone.click('#tab-qa');
  await phone.fill('#qa-text', 'Who pays for the follow-up?');
  await phone.click('#qa-send');
  const item = phone.locator('.qa-item').first();
  await item.locator('.qa-item-text', { hasText: 'Who pays for the follow-up?' }).waitFor();
  assert.equal(await item.locator('.qa-translated').isVisible(), false, 'nothing translated yet');

  const booth = await openPage(browser, DESKTOP, link.url);
  await waitLive(booth);
  assert.equal(await booth.evaluate(() => document.body.dataset.scope), 'interpreter');
  assert.equal(await booth.locator('.mod-questions').isVisible(), false);
  const row = booth.locator('.translate-item', { hasText: 'Who pays for the follow-up?' });
  await row.locator('textarea').fill('Qui paie la suite ?');
  await row.locator('.translate-save').click();
  await row.locator('.translate-state', { hasText: /\S/ }).waitFor();

  await item.locator('.qa-item-text', { hasText: 'Qui paie la suite ?' }).waitFor();
  assert.equal(await item.locator('.qa-item-text').getAttribute('lang'), 'fr');
  assert.equal((await item.locator('.qa-translated').textContent()).trim(), 'Traduit');
  await item.locator('.qa-original').click();
  await item.locator('.qa-item-text', { hasText: 'Who pays for the follow-up?' }).waitFor();
  await item.locator('.qa-original').click();
  await item.locator('.qa-item-text', { hasText: 'Qui paie la suite ?' }).waitFor();

  // The projector's board shows the original with its translation under it.
  const screen = await openPage(browser, PROJECTOR, `${server.url}/${s.code}/screen`);
  await waitLive(screen);
  await api(server.url, 'POST', `/api/sessions/${s.code}/present`, { qa: true }, s.moderator_token);
  const card = screen.locator('#qa-board .qa-card').first();
  await card.locator('.qa-card-text', { hasText: 'Who pays for the follow-up?' }).waitFor();
  assert.match(await card.locator('.qa-card-translation').textContent(), /FR\s+Qui paie la suite \?/);
  // An English phone shows the original only.
  const english = await openPage(browser, Object.assign({ locale: 'en-US' }, PHONE), `${server.url}/${s.code}`);
  await waitLive(english);
  await english.click('#tab-qa');
  await english.locator('.qa-item-text', { hasText: 'Who pays for the follow-up?' }).waitFor();
  assert.equal(await english.locator('.qa-translated').first().isVisible(), false);
  for (const [page, label] of [[phone, 'phone'], [booth, 'interpreter'], [screen, 'projector'], [english, 'english phone']]) {
    assertNoProblems(page, label);
  }
});

test('the Share panel makes a link with its QR code and revokes it', async () => {
  const s = await session('Shared');
  const console = await openPage(browser, DESKTOP, `${server.url}/${s.code}/moderate#token=${encodeURIComponent(s.moderator_token)}`);
  await waitLive(console);
  await console.locator('#share-panel').waitFor();
  await console.selectOption('#share-role', 'interpreter');
  assert.equal(await console.locator('#share-lang').isVisible(), true, 'an interpreter link asks for its language');
  await console.fill('#share-label', 'Booth 1');
  await console.fill('#share-lang', 'es');
  await console.click('#share-create');
  const row = console.locator('.share-item').first();
  await row.waitFor();
  assert.match(await row.locator('.share-title').textContent(), /Interpreter \(es\) · Booth 1/);
  const url = await row.locator('.share-url').inputValue();
  assert.match(url, new RegExp(`/${s.code}/moderate#token=`));
  // The QR code is an image drawn from the server's SVG, fetched with the bearer token.
  await eventually(async () => {
    const img = await row.locator('.share-qr').evaluate((i) => ({ src: i.src, w: i.naturalWidth }));
    assert.match(img.src, /^data:image\/svg\+xml;base64,/);
    assert.ok(img.w > 0, 'the QR code is drawn');
  });
  const listed = await api(server.url, 'GET', `/api/sessions/${s.code}/links`, undefined, s.moderator_token);
  assert.equal(listed.body.links.length, 1);
  assert.equal(listed.body.links[0].url, url);

  console.once('dialog', (d) => d.accept());
  await row.locator('.share-revoke').click();
  await eventually(async () => assert.equal(await console.locator('.share-item').count(), 0));
  const after = await api(server.url, 'GET', `/api/sessions/${s.code}/links`, undefined, s.moderator_token);
  assert.equal(after.body.links.length, 0);

  // A cohost's console has no Share panel.
  const cohost = await mint(s, { role: 'cohost' });
  const co = await openPage(browser, DESKTOP, cohost.url);
  await waitLive(co);
  assert.equal(await co.evaluate(() => document.body.dataset.scope), 'cohost');
  assert.equal(await co.locator('#qform').isVisible(), true);
  assert.equal(await co.locator('#share-panel').count(), 0);
  assertNoProblems(console, 'console');
  assertNoProblems(co, 'cohost console');
});

test('a results link opens the downloads only', async () => {
  const s = await session('Reported');
  const link = await mint(s, { role: 'results', label: 'Rapporteur' });
  const page = await openPage(browser, DESKTOP, link.url);
  await page.locator('#results-note:not([hidden])').waitFor();
  assert.equal(await page.evaluate(() => document.body.dataset.scope), 'results');
  assert.equal(await page.locator('#main').isVisible(), false);
  assert.equal(await page.locator('#download-csv').isVisible(), true);
  assert.equal(await page.locator('#download-deck').isVisible(), false);
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-csv')]);
  assert.match(download.suggestedFilename(), /results\.csv$/);
  assertNoProblems(page, 'results');
});

test("on a phone the console's header folds behind one menu and the remote fills the screen", async () => {
  const s = await session('Folded');
  const phone = await openPage(browser, PHONE, `${server.url}/${s.code}/moderate#token=${encodeURIComponent(s.moderator_token)}`);
  await waitLive(phone);
  assert.equal(await phone.locator('#menu-toggle').isVisible(), true);
  assert.equal(await phone.locator('#download-csv').isVisible(), false);
  assert.equal(await phone.locator('#link-screen').isVisible(), false);
  const header = await phone.locator('.mod-top').boundingBox();
  assert.ok(header.height < 844 / 5, `the folded header is ${header.height}px high`);
  const grid = await phone.locator('.remote-grid').boundingBox();
  assert.ok(grid.height > 844 / 2, `the remote's buttons take ${grid.height}px`);
  await phone.click('#menu-toggle');
  assert.equal(await phone.locator('#menu-toggle').getAttribute('aria-expanded'), 'true');
  assert.equal(await phone.locator('#download-csv').isVisible(), true);
  assert.equal(await phone.locator('#link-screen').isVisible(), true);
  await phone.click('#menu-toggle');
  assert.equal(await phone.locator('#download-csv').isVisible(), false);

  // On a desktop nothing is folded.
  const desk = await openPage(browser, DESKTOP, `${server.url}/${s.code}/moderate#token=${encodeURIComponent(s.moderator_token)}`);
  await waitLive(desk);
  assert.equal(await desk.locator('#menu-toggle').isVisible(), false);
  assert.equal(await desk.locator('#download-csv').isVisible(), true);
  assertNoProblems(phone, 'phone console');
  assertNoProblems(desk, 'desktop console');
});
