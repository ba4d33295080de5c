'use strict';
// Accessibility audit with axe-core in Chromium: no serious or critical WCAG 2.1 A/AA violation on any view.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const {
  PHONE, PROJECTOR, DESKTOP,
  startServer, launchBrowser, api, eventually, waitLive
} = require('./lib');

const AXE = require.resolve('axe-core/axe.min.js');
const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

let server;
let browser;
let session;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  const created = await api(server.url, 'POST', '/api/sessions', {
    title: 'Accessible room',
    questions: [
      { kind: 'single', prompt: 'Which format works best for you?', options: ['Panel', 'Workshop', 'Keynote', 'Lightning talks'] },
      { kind: 'scale', prompt: 'How clear was the keynote?', min: 1, max: 5, min_label: 'Not at all', max_label: 'Very' }
    ]
  });
  assert.equal(created.status, 201, created.text);
  session = created.body;
  const view = await api(server.url, 'GET', `/api/sessions/${session.code}`, undefined, session.moderator_token);
  session.qid = view.body.questions[0].id;
  const act = (path, body) => api(server.url, 'POST', `/api/sessions/${session.code}${path}`, body || {}, session.moderator_token);
  assert.equal((await act(`/questions/${session.qid}/open`)).status, 200);
  assert.equal((await act('/present', { question_id: session.qid })).status, 200);
});

after(async () => {
  if (browser) await browser.close();
  if (server) await server.stop();
});

// The audit runs in its own context: the pages' CSP would refuse the injected script.
async function open(options, url) {
  const context = await browser.newContext(Object.assign({ bypassCSP: true }, options));
  const page = await context.newPage();
  await page.goto(url);
  return page;
}

async function audit(page, label) {
  await page.addScriptTag({ path: AXE });
  const result = await page.evaluate((tags) => window.axe.run(document, { runOnly: { type: 'tag', values: tags } }), TAGS);
  const summary = (v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.length}×: ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')})`;
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  const minor = result.violations.filter((v) => !(v.impact === 'serious' || v.impact === 'critical'));
  for (const v of minor) console.log(`# ${label}: ${summary(v)}`);
  if (!minor.length) console.log(`# ${label}: no remaining minor findings`);
  assert.deepEqual(bad.map(summary), [], `${label}: serious or critical accessibility violations`);
}

test('phone with an open question, after voting', async () => {
  const page = await open(PHONE, `${server.url}/${session.code}`);
  await waitLive(page);
  await page.click('.card[data-choice="0"]');
  await page.locator('.q-status[data-tone="ok"]').waitFor();
  // Touch targets on the phone: every button and field at least 44 px high and wide.
  const small = await page.evaluate(() => Array.prototype.slice.call(document.querySelectorAll('button, select, input, textarea, a.btn'))
    .filter((n) => n.offsetParent !== null)
    .map((n) => { const r = n.getBoundingClientRect(); return { what: n.id || n.className || n.tagName, w: r.width, h: r.height }; })
    .filter((r) => r.w < 44 || r.h < 44));
  assert.deepEqual(small, [], 'touch targets under 44 px');
  // The countdown and the "vote counted" line are announced.
  assert.equal(await page.getAttribute('.q-status', 'aria-live'), 'polite');
  await audit(page, 'phone');
  await page.context().close();
});

test('projector with revealed results', async () => {
  const act = (path) => api(server.url, 'POST', `/api/sessions/${session.code}${path}`, {}, session.moderator_token);
  assert.equal((await act(`/questions/${session.qid}/reveal`)).status, 200);
  const page = await open(PROJECTOR, `${server.url}/${session.code}/screen`);
  await waitLive(page);
  await page.locator('#q-results:not([hidden]) .res-row').first().waitFor();
  await audit(page, 'projector');
  await page.context().close();
});

test('moderator console', async () => {
  const page = await open(DESKTOP, `${server.url}/${session.code}/moderate#token=${encodeURIComponent(session.moderator_token)}`);
  await waitLive(page);
  await page.locator('.mq').first().waitFor();
  await audit(page, 'moderator');
  await page.context().close();
});

test('landing page', async () => {
  const page = await open(DESKTOP, `${server.url}/`);
  await page.locator('#join-form').waitFor();
  await audit(page, 'landing');
  await page.context().close();
});
