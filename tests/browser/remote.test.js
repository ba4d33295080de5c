'use strict';
// The chair's phone as a remote: next, open, reveal, with the state shown.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { PHONE, startServer, launchBrowser, openPage, assertNoProblems, api, eventually, waitLive } = require('./lib');

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

test('on a phone the console is a remote that drives the projector', async () => {
  const c = await api(server.url, 'POST', '/api/sessions', {
    title: 'Panel',
    questions: [
      { kind: 'single', prompt: 'First question?', options: ['Yes', 'No'] },
      { kind: 'single', prompt: 'Second question?', options: ['Yes', 'No'] }
    ]
  });
  const { code, moderator_token: token } = c.body;
  const remote = await openPage(browser, PHONE, `${server.url}/${code}/moderate#token=${encodeURIComponent(token)}`);
  await waitLive(remote);
  assert.ok(await remote.evaluate(() => document.body.classList.contains('remote-mode')), 'a phone starts as a remote');
  await remote.click('.remote-next');
  await remote.click('.remote-open');
  await eventually(async () => {
    const s = await remote.textContent('.remote-status');
    assert.match(s, /1\. First question\? — voting open/);
  });
  const view = await api(server.url, 'GET', `/api/sessions/${code}`);
  assert.equal(view.body.questions.find((q) => q.id === view.body.current).prompt, 'First question?');

  const phone = await openPage(browser, PHONE, `${server.url}/${code}`);
  await waitLive(phone);
  await phone.locator('button', { hasText: 'Yes' }).first().click();
  await phone.getByText(/counted/i).first().waitFor();
  await eventually(async () => assert.match(await remote.textContent('.remote-status'), /1 voter/));

  await remote.click('.remote-reveal');
  await eventually(async () => assert.match(await remote.textContent('.remote-status'), /results shown/));
  await remote.click('.remote-next');
  await eventually(async () => assert.match(await remote.textContent('.remote-status'), /2\. Second question\?/));
  // Back to the full console and back again.
  await remote.click('.remote-toggle');
  assert.ok(await remote.locator('#main').isVisible());
  assertNoProblems(remote, 'remote');
  assertNoProblems(phone, 'phone');
});

test('keys pressed at once act on the question they put on screen, not on the one still showing', async () => {
  const c = await api(server.url, 'POST', '/api/sessions', {
    title: 'Quick chair',
    questions: [
      { kind: 'single', prompt: 'First?', options: ['Yes', 'No'] },
      { kind: 'single', prompt: 'Second?', options: ['Yes', 'No'] }
    ]
  });
  const { code, moderator_token: token } = c.body;
  const page = await openPage(browser, PHONE, `${server.url}/${code}/moderate#token=${encodeURIComponent(token)}`);
  await waitLive(page);
  // Next, Next, Open in the same moment: no answer from the server between them.
  await page.evaluate(() => {
    for (const key of ['PageDown', 'PageDown', 'o']) {
      document.dispatchEvent(new KeyboardEvent('keydown', { key, bubbles: true }));
    }
  });
  await eventually(async () => {
    const view = (await api(server.url, 'GET', `/api/sessions/${code}`, undefined, token)).body;
    const second = view.questions.find((q) => q.prompt === 'Second?');
    assert.equal(view.current, second.id);
    assert.equal(second.state, 'open');
    assert.equal(view.questions.find((q) => q.prompt === 'First?').state, 'draft');
  });
  assertNoProblems(page, 'console');
});
