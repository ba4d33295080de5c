'use strict';
// The session's digest on the projector: with the setting show_digest (turned on from the
// console), under revealed results, the digest the results give, kept current as votes
// arrive; not shown with the setting off or the results hidden.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { DESKTOP, PROJECTOR, startServer, launchBrowser, openPage, assertNoProblems, api, eventually, screenshot, waitLive } = require('./lib');

let server;
let browser;
let dataDir;

before(async () => {
  // The digest is the journal's chain: the server keeps one.
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'handsup-digest-'));
  server = await startServer({ args: ['--data-dir', dataDir] });
  browser = await launchBrowser();
});

after(async () => {
  if (browser) await browser.close();
  if (server) await server.stop();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

function groups(hex) {
  return hex.match(/.{4}/g).join(' ');
}

test('the projector shows the digest under revealed results only with the setting on', async () => {
  const created = await api(server.url, 'POST', '/api/sessions', {
    title: 'Audit',
    questions: [{ kind: 'single', prompt: 'Which one?', options: ['Red', 'Blue'] }]
  });
  assert.equal(created.status, 201, created.text);
  const { code, moderator_token: token } = created.body;
  const base = `/api/sessions/${code}`;
  const qid = (await api(server.url, 'GET', base, undefined, token)).body.questions[0].id;
  assert.equal((await api(server.url, 'POST', `${base}/questions/${qid}/open`, {}, token)).status, 200);
  assert.equal((await api(server.url, 'POST', `${base}/present`, { question_id: qid }, token)).status, 200);
  async function vote(choice) {
    const p = await api(server.url, 'POST', `${base}/participants`, {});
    assert.equal(p.status, 201, p.text);
    const b = await api(server.url, 'PUT', `${base}/questions/${qid}/ballot`, { choice }, p.body.participant_token);
    assert.equal(b.status, 200, b.text);
  }
  async function digest() {
    const r = await api(server.url, 'GET', `${base}/results`, undefined, token);
    assert.equal(r.status, 200);
    return r.body.session.digest;
  }
  await vote(0);
  await vote(1);

  const screen = await openPage(browser, PROJECTOR, `${server.url}/${code}/screen`);
  await waitLive(screen);
  const box = screen.locator('#q-digest');

  // Setting off, results revealed: no digest.
  assert.equal((await api(server.url, 'POST', `${base}/questions/${qid}/reveal`, {}, token)).status, 200);
  await screen.locator('#q-results:not([hidden])').waitFor();
  await screen.waitForTimeout(300);
  assert.equal(await box.isVisible(), false, 'the setting is off');
  assert.equal((await api(server.url, 'GET', base)).body.digest, undefined, 'the view carries no digest');

  // The console turns the setting on.
  const mod = await openPage(browser, DESKTOP, `${server.url}/${code}/moderate#token=${encodeURIComponent(token)}`);
  await waitLive(mod);
  const toggle = mod.locator('#show-digest');
  assert.equal(await toggle.isChecked(), false);
  await toggle.check();
  await eventually(async () => {
    const view = await api(server.url, 'GET', base, undefined, token);
    assert.equal(view.body.settings.show_digest, true);
  });

  // The digest the results give, its first 16 hex digits in groups of four.
  await box.waitFor({ state: 'visible' });
  let expected = await digest();
  await eventually(async () => {
    assert.equal(await screen.locator('#q-digest-short').textContent(), groups(expected.slice(0, 16)));
  });
  const size = await screen.locator('#q-digest-short').evaluate((n) => parseFloat(getComputedStyle(n).fontSize));
  assert.ok(size >= 28, `large enough to copy down from the room: ${size}px`);

  // A vote moves the digest; the projector follows.
  await vote(1);
  const moved = await digest();
  assert.notEqual(moved, expected);
  expected = moved;
  await eventually(async () => {
    assert.equal(await screen.locator('#q-digest-short').textContent(), groups(expected.slice(0, 16)));
  });

  await screenshot(screen, 'projector-digest');

  // The whole of it, on request.
  assert.equal(await screen.locator('#q-digest-full').isVisible(), false);
  await screen.locator('#q-digest-toggle').click();
  assert.equal(await screen.locator('#q-digest-full').textContent(), groups(expected));
  assert.equal(await screen.locator('#q-digest-full').isVisible(), true);

  // Results hidden: no digest.
  assert.equal((await api(server.url, 'POST', `${base}/questions/${qid}/hide`, {}, token)).status, 200);
  await box.waitFor({ state: 'hidden' });

  // Revealed again, then the setting turned off: no digest.
  assert.equal((await api(server.url, 'POST', `${base}/questions/${qid}/reveal`, {}, token)).status, 200);
  await box.waitFor({ state: 'visible' });
  const off = await api(server.url, 'PATCH', base, { settings: { show_digest: false } }, token);
  assert.equal(off.status, 200, off.text);
  assert.equal(off.body.settings.show_digest, false);
  assert.equal(off.body.settings.qa_moderation, false, 'the other setting is left as it was');
  await box.waitFor({ state: 'hidden' });
  await eventually(async () => assert.equal(await toggle.isChecked(), false));

  await assertNoProblems(screen, 'projector');
  await assertNoProblems(mod, 'console');
});
