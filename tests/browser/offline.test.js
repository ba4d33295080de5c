'use strict';
// The room has no internet: every view loads and works with every request to another host
// blocked, and the phone's first load stays small for weak Wi-Fi.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { PHONE, PROJECTOR, DESKTOP, startServer, launchBrowser, api, waitLive } = require('./lib');

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

// Opens `url` in a context where only the server's own host is reachable; returns the page,
// the requests that tried to leave, and the bytes that came over the wire.
async function openOffline(options, url) {
  const context = await browser.newContext(options);
  const blocked = [];
  const host = new URL(server.url).host;
  await context.route('**/*', (route) => {
    const u = new URL(route.request().url());
    if (u.host === host) return route.continue();
    blocked.push(u.href);
    return route.abort();
  });
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  const wire = { bytes: 0 };
  cdp.on('Network.loadingFinished', (e) => { wire.bytes += e.encodedDataLength; });
  const errors = [];
  page.on('pageerror', (err) => errors.push(err.message));
  await page.goto(url);
  return { page, blocked, wire, errors };
}

test('every view works with the internet blocked, and the phone loads under 60 KB', async () => {
  const created = await api(server.url, 'POST', '/api/sessions', {
    title: 'Offline room',
    questions: [{ kind: 'single', prompt: 'Can you read this?', options: ['Yes', 'No'] }]
  });
  assert.equal(created.status, 201);
  const { code, moderator_token: token } = created.body;
  const view = await api(server.url, 'GET', `/api/sessions/${code}`, undefined, token);
  const qid = view.body.questions[0].id;
  await api(server.url, 'POST', `/api/sessions/${code}/questions/${qid}/open`, {}, token);
  await api(server.url, 'POST', `/api/sessions/${code}/present`, { question_id: qid }, token);

  const views = [
    ['landing', DESKTOP, `${server.url}/`],
    ['projector', PROJECTOR, `${server.url}/${code}/screen`],
    ['moderator', DESKTOP, `${server.url}/${code}/moderate#token=${encodeURIComponent(token)}`]
  ];
  for (const [name, options, url] of views) {
    const v = await openOffline(options, url);
    if (name !== 'landing') await waitLive(v.page);
    await v.page.waitForLoadState('networkidle');
    assert.deepEqual(v.blocked, [], `${name} tried to reach another host`);
    assert.deepEqual(v.errors, [], `${name} had script errors`);
    await v.page.context().close();
  }

  // The phone: loads, votes, the vote is counted, and nothing leaves the room.
  const phone = await openOffline(PHONE, `${server.url}/${code}`);
  await waitLive(phone.page);
  await phone.page.waitForLoadState('networkidle');
  const firstLoad = phone.wire.bytes;
  await phone.page.locator('button', { hasText: 'Yes' }).first().click();
  await phone.page.getByText(/counted/i).first().waitFor();
  assert.deepEqual(phone.blocked, [], 'the phone tried to reach another host');
  assert.deepEqual(phone.errors, []);
  console.log(`phone first load: ${(firstLoad / 1024).toFixed(1)} KB over the wire (compressed, headers included)`);
  assert.ok(firstLoad < 60 * 1024, `phone first load is ${firstLoad} bytes`);
  await phone.page.context().close();
});
