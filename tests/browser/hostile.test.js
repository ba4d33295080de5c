'use strict';
// Titles, prompts and options are hostile input: every view must show them as text.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const {
  PHONE, PROJECTOR, DESKTOP,
  startServer, launchBrowser, openPage, assertNoProblems, api, waitLive
} = require('./lib');

const TITLE = '<img src=x onerror=window.__pwned=1>';
const PROMPT = '<script>window.__pwned=2</script> really?';
const OPTIONS = ['<b onmouseover=window.__pwned=3>bold</b>', '"><svg onload=window.__pwned=4>'];

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

async function pwned(page) {
  return page.evaluate(() => typeof window.__pwned);
}

async function injected(page) {
  // Elements that only an HTML injection could have made.
  return page.evaluate(() => document.querySelectorAll('img[src="x"], svg[onload], b[onmouseover], main script, body > script:not([src])').length);
}

test('a hostile title, prompt and options are shown as text on all three views', async () => {
  const created = await api(server.url, 'POST', '/api/sessions', {
    title: TITLE,
    questions: [{ kind: 'single', prompt: PROMPT, options: OPTIONS }]
  });
  assert.equal(created.status, 201, created.text);
  const { code, moderator_token: token } = created.body;

  const mod = await openPage(browser, DESKTOP, `${server.url}/${code}/moderate#token=${encodeURIComponent(token)}`);
  await waitLive(mod);
  const screen = await openPage(browser, PROJECTOR, `${server.url}/${code}/screen`);
  await waitLive(screen);
  const phone = await openPage(browser, PHONE, `${server.url}/${code}`);
  await waitLive(phone);

  // The title, as text, on every view.
  assert.equal(await mod.locator('#title').textContent(), TITLE);
  assert.equal(await screen.locator('#w-title').textContent(), TITLE);
  assert.equal(await screen.locator('#w-title').isVisible(), true);
  assert.equal(await phone.locator('#title').textContent(), TITLE);
  assert.ok((await phone.title()).includes(TITLE), 'document title holds the text');

  // The prompt and options, as text, once the question is open and on screen.
  const item = mod.locator('.mq').first();
  assert.equal(await item.locator('.mq-prompt').textContent(), PROMPT);
  await item.locator('[data-action="open"]').click();
  await item.locator('[data-action="present"]').click();
  await screen.locator('#q-prompt:visible').waitFor();
  assert.equal(await screen.locator('#q-prompt').textContent(), PROMPT);
  assert.deepEqual(await screen.locator('#q-options .opt-label').allTextContents(), OPTIONS);
  await phone.locator('.q .q-prompt').waitFor();
  assert.equal(await phone.locator('.q .q-prompt').textContent(), PROMPT);
  assert.deepEqual(await phone.locator('.q .card-label').allTextContents(), OPTIONS);

  // Vote and reveal so the result rows render the labels too.
  await phone.locator('.q .card').first().tap();
  await phone.locator('.q .q-status', { hasText: 'Your vote is counted' }).waitFor();
  await item.locator('[data-action="reveal"]').click();
  await screen.locator('#q-results:not([hidden]) .res-label').first().waitFor();
  assert.deepEqual(await screen.locator('#q-results .res-label').allTextContents(), OPTIONS);
  await screen.locator('#q-prompt').hover();

  for (const [label, page] of [['moderator', mod], ['projector', screen], ['phone', phone]]) {
    assert.equal(await pwned(page), 'undefined', `${label}: window.__pwned stays undefined`);
    assert.equal(await injected(page), 0, `${label}: no injected elements`);
    assertNoProblems(page, label);
  }

  // Once remembered, the start page lists the session by its title, as text too.
  await mod.check('#remember');
  const landing = await mod.context().newPage();
  await landing.goto(`${server.url}/`);
  await landing.locator('#mine:not([hidden])').waitFor();
  assert.equal(await landing.locator('.mine-title').first().textContent(), TITLE);
  assert.equal(await pwned(landing), 'undefined');
  assert.equal(await injected(landing), 0);

  await Promise.all([mod, screen, phone].map((p) => p.context().close()));
});
