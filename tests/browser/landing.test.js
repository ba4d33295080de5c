'use strict';
// The start page: create a session, land in its console, come back to it, join by code.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { PHONE, DESKTOP, startServer, launchBrowser, openPage, assertNoProblems, api, waitLive } = require('./lib');

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
  // The chair asks this computer to remember the session.
  await chair.check('#remember');

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

// Everything this origin keeps in the browser's storage, as one string.
async function storedText(page) {
  return page.evaluate(() => {
    const out = [];
    for (const store of [localStorage, sessionStorage]) {
      for (let i = 0; i < store.length; i++) out.push(store.key(i) + '=' + store.getItem(store.key(i)));
    }
    return out.join('\n');
  });
}

test('the console keeps a moderator token on this computer only when asked to, and forgets it', async () => {
  const chair = await openPage(browser, DESKTOP, `${server.url}/`);
  await chair.fill('#create-title', 'Board meeting');
  await chair.click('#create-submit');
  await chair.waitForURL(/\/\d{6}\/moderate#token=/);
  const first = {
    code: new URL(chair.url()).pathname.split('/')[1],
    token: decodeURIComponent(new URL(chair.url()).hash.replace(/^#token=/, ''))
  };
  await waitLive(chair);

  // Not remembered unless the chair says so: no trace of the token in this browser's storage.
  await chair.locator('#remember:not([disabled])').waitFor();
  assert.equal(await chair.isChecked('#remember'), false, 'not remembered by default');
  assert.ok(!(await storedText(chair)).includes(first.token), 'the moderator token was stored without consent');
  await chair.goto(`${server.url}/`);
  assert.equal(await chair.locator('#mine').isHidden(), true, 'nothing listed on the start page');

  // With consent: kept, and listed on the start page.
  await chair.goto(`${server.url}/${first.code}/moderate#token=${encodeURIComponent(first.token)}`);
  await waitLive(chair);
  await chair.check('#remember');
  assert.ok((await storedText(chair)).includes(first.token));
  const created = await api(server.url, 'POST', '/api/sessions', { title: 'Workshop B' });
  assert.equal(created.status, 201, created.text);
  const second = { code: created.body.code, token: created.body.moderator_token };
  await chair.goto(`${server.url}/${second.code}/moderate#token=${encodeURIComponent(second.token)}`);
  await waitLive(chair);
  await chair.locator('#remember:not([disabled])').waitFor();
  await chair.check('#remember');
  await chair.goto(`${server.url}/`);
  await chair.locator('.mine-item', { hasText: 'Board meeting' }).waitFor();
  await chair.locator('.mine-item', { hasText: 'Workshop B' }).waitFor();

  // Unticking in the console forgets that one.
  await chair.goto(`${server.url}/${second.code}/moderate#token=${encodeURIComponent(second.token)}`);
  await waitLive(chair);
  await chair.locator('#remember:not([disabled])').waitFor();
  assert.equal(await chair.isChecked('#remember'), true, 'the console knows it is remembered');
  await chair.uncheck('#remember');
  assert.ok(!(await storedText(chair)).includes(second.token), 'unticking forgets the token');
  await chair.check('#remember');

  // "Forget" on the start page removes one session, token included.
  await chair.goto(`${server.url}/`);
  await chair.locator('.mine-item', { hasText: 'Board meeting' }).locator('.mine-forget').click();
  await chair.locator('.mine-item', { hasText: 'Board meeting' }).waitFor({ state: 'detached' });
  assert.equal(await chair.locator('.mine-item').count(), 1);
  let stored = await storedText(chair);
  assert.ok(!stored.includes(first.token), 'the forgotten token is gone');
  assert.ok(stored.includes(second.token), 'the other one is kept');

  // "Forget all" leaves no moderator token at all.
  await chair.click('#mine-forget-all');
  await chair.locator('#mine').waitFor({ state: 'hidden' });
  stored = await storedText(chair);
  assert.ok(!stored.includes(first.token) && !stored.includes(second.token), 'no token left after forget all');
  await chair.reload();
  assert.equal(await chair.locator('#mine').isHidden(), true, 'and none comes back');

  assertNoProblems(chair, 'start page and console');
  await chair.context().close();
});
