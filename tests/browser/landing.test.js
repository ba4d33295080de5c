'use strict';
// The start page: create a session, land in its console, come back to it, join by code.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { PHONE, DESKTOP, startServer, launchBrowser, openPage, assertNoProblems, waitLive } = require('./lib');

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

test('create a session from the start page and join it by code', async () => {
  const chair = await openPage(browser, DESKTOP, `${server.url}/`);
  assert.equal(await chair.locator('#mine').isHidden(), true, 'no remembered sessions yet');
  await chair.fill('#create-title', 'Morning keynote');
  await chair.click('#create-submit');
  await chair.waitForURL(/\/\d{6}\/moderate#token=/);
  const url = new URL(chair.url());
  assert.equal(url.origin, server.url, 'the console opens on the same origin');
  const code = url.pathname.split('/')[1];
  await waitLive(chair);
  assert.equal(await chair.locator('#title').textContent(), 'Morning keynote');

  // Back on the start page the session is listed with a link to its console.
  await chair.goto(`${server.url}/`);
  const entry = chair.locator('.mine-item', { hasText: 'Morning keynote' });
  await entry.waitFor();
  assert.match(await entry.locator('.mine-title').getAttribute('href'), new RegExp(`^/${code}/moderate#token=.+`));
  await entry.locator('.mine-title').click();
  await waitLive(chair);

  // A phone types a wrong code, then the right one (with a space, as the screen shows it).
  const phone = await openPage(browser, PHONE, `${server.url}/`);
  const wrong = code === '999999' ? '999998' : '999999';
  await phone.fill('#join-code', wrong);
  await phone.locator('#join-form button').tap();
  await phone.locator('#join-error:not([hidden])', { hasText: 'No session with code' }).waitFor();
  await phone.fill('#join-code', code.slice(0, 3) + ' ' + code.slice(3));
  await phone.locator('#join-form button').tap();
  await phone.waitForURL(`${server.url}/${code}`);
  await waitLive(phone);
  assert.equal(await phone.locator('#title').textContent(), 'Morning keynote');
  await phone.locator('#waiting:not([hidden])').waitFor();

  assertNoProblems(chair, 'start page and console');
  assertNoProblems(phone, 'phone');
  await Promise.all([chair, phone].map((p) => p.context().close()));
});
