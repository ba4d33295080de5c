'use strict';
// Page start-up: a page opens its socket only once all of its scripts have run, so the add-on
// views (the Q&A, the remote) see the welcome however late their script arrives.
// This once showed as a phone without its "Questions" tab: qa-audience.js came in after the
// welcome had been handled, and the tab waited for a welcome that never came again.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { PHONE, PROJECTOR, DESKTOP, startServer, launchBrowser, openPage, api, assertNoProblems, waitLive } = require('./lib');

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

// Records, in the page, whether a WebSocket was made before DOMContentLoaded (before the
// page's deferred scripts had all run).
function watchSocketTiming() {
  window.__handsupDomReady = false;
  window.__handsupEarlySockets = 0;
  document.addEventListener('DOMContentLoaded', () => { window.__handsupDomReady = true; }, true);
  const Native = window.WebSocket;
  function Watched(url, protocols) {
    if (!window.__handsupDomReady) window.__handsupEarlySockets += 1;
    return protocols === undefined ? new Native(url) : new Native(url, protocols);
  }
  Watched.prototype = Native.prototype;
  Object.keys(Native).forEach((k) => { Watched[k] = Native[k]; });
  ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED'].forEach((k) => { Watched[k] = Native[k]; });
  window.WebSocket = Watched;
}

// Opens url with the page's add-on script held back: it is served once the page's socket has
// had its first message (the welcome), or after `holdMs` if no socket is made meanwhile.
async function openWithLateScript(options, url, script, holdMs = 1500) {
  const context = await browser.newContext(options);
  const page = await context.newPage();
  page.problems = [];
  page.on('pageerror', (err) => page.problems.push('page error: ' + err.message));
  await page.addInitScript(watchSocketTiming);
  let welcomed;
  const welcome = new Promise((resolve) => { welcomed = resolve; });
  page.on('websocket', (ws) => ws.once('framereceived', () => welcomed()));
  await page.route(`**/assets/${script}`, async (route) => {
    const response = await route.fetch();
    let timer;
    await Promise.race([welcome, new Promise((resolve) => { timer = setTimeout(resolve, holdMs); })]);
    clearTimeout(timer);
    await route.fulfill({ response });
  });
  await page.goto(url);
  return page;
}

async function createSession() {
  const res = await api(server.url, 'POST', '/api/sessions', { title: 'Start-up order' });
  assert.equal(res.status, 201, res.text);
  return res.body;
}

test('a phone whose Q&A script arrives late still gets its Questions tab', async () => {
  const session = await createSession();
  const phone = await openWithLateScript(PHONE, `${server.url}/${session.code}`, 'qa-audience.js');
  await waitLive(phone);
  assert.equal(await phone.evaluate(() => window.__handsupEarlySockets), 0, 'socket made before the page\'s scripts had run');
  await phone.locator('#tab-qa').waitFor({ state: 'visible', timeout: 10000 });
  await phone.click('#tab-qa');
  await phone.locator('#qa:not([hidden])').waitFor({ timeout: 10000 });
  assertNoProblems(phone, 'phone');
  await phone.context().close();
});

test('the console and the screen connect only once their add-on scripts have run', async () => {
  const session = await createSession();
  const present = await api(server.url, 'POST', `/api/sessions/${session.code}/present`, { qa: true }, session.moderator_token);
  assert.equal(present.status, 200, present.text);
  const text = 'Is the welcome seen by every view?';
  const phone = await openPage(browser, PHONE, `${server.url}/${session.code}`);
  await waitLive(phone);
  await phone.locator('#qa:not([hidden])').waitFor();
  await phone.fill('#qa-text', text);
  await phone.click('#qa-send');
  await phone.locator('#qa-form-status[data-tone="ok"]').waitFor();

  // Both learn the question and the board from the welcome only.
  const mod = await openWithLateScript(DESKTOP,
    `${server.url}/${session.code}/moderate#token=${encodeURIComponent(session.moderator_token)}`, 'qa-moderate.js');
  await waitLive(mod);
  assert.equal(await mod.evaluate(() => window.__handsupEarlySockets), 0, 'console: socket made before its scripts had run');
  await mod.locator('#qa-mod-list .mqa', { hasText: text }).waitFor({ timeout: 10000 });
  await mod.locator('#qa-present', { hasText: 'Take Q&A off screen' }).waitFor({ timeout: 10000 });

  const screen = await openWithLateScript(PROJECTOR, `${server.url}/${session.code}/screen`, 'qa-screen.js');
  await waitLive(screen);
  assert.equal(await screen.evaluate(() => window.__handsupEarlySockets), 0, 'screen: socket made before its scripts had run');
  await screen.locator('#qa:not([hidden]) #qa-board .qa-card', { hasText: text }).waitFor({ timeout: 10000 });

  assertNoProblems(phone, 'phone');
  assertNoProblems(mod, 'console');
  assertNoProblems(screen, 'screen');
  await Promise.all([phone, mod, screen].map((p) => p.context().close()));
});
