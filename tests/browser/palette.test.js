'use strict';
// One palette: every option has the same colour on the phone, on the projector
// and in the printable report (option 8 used to be grey in the report).

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { PHONE, PROJECTOR, startServer, launchBrowser, openPage, assertNoProblems, api, waitLive } = require('./lib');

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

// '#RRGGBB' as the browser computes it: 'rgb(r, g, b)'.
function rgb(hex) {
  const n = parseInt(hex.slice(1), 16);
  return `rgb(${n >> 16}, ${(n >> 8) & 255}, ${n & 255})`;
}

test('each of twelve options has one colour on the phone, the projector and in the report', async () => {
  const options = Array.from({ length: 12 }, (_, i) => `Option ${i + 1}`);
  const created = await api(server.url, 'POST', '/api/sessions', {
    title: 'Colours',
    questions: [{ kind: 'single', prompt: 'Pick one', options }]
  });
  assert.equal(created.status, 201, created.text);
  const { code, moderator_token: token } = created.body;
  const qid = (await api(server.url, 'GET', `/api/sessions/${code}`, undefined, token)).body.questions[0].id;
  assert.equal((await api(server.url, 'POST', `/api/sessions/${code}/questions/${qid}/open`, {}, token)).status, 200);
  assert.equal((await api(server.url, 'POST', `/api/sessions/${code}/present`, { question_id: qid }, token)).status, 200);

  const report = await api(server.url, 'GET', `/api/sessions/${code}/report.html`, undefined, token);
  assert.equal(report.status, 200);
  const chart = report.text.slice(0, report.text.indexOf('</svg>'));
  const fills = [...chart.matchAll(/<rect [^>]*fill="(#[0-9A-Fa-f]{6})"/g)].map((m) => m[1]);
  assert.equal(fills.length, 12, chart);
  assert.equal(fills[7].toUpperCase(), '#332288', 'option 8 is indigo in the report');

  const screen = await openPage(browser, PROJECTOR, `${server.url}/${code}/screen`);
  await waitLive(screen);
  await screen.locator('.opt[data-option="11"]').waitFor();
  const onScreen = await screen.$$eval('.opt', (cards) => cards.map((c) => getComputedStyle(c).borderTopColor));

  const phone = await openPage(browser, PHONE, `${server.url}/${code}`);
  await waitLive(phone);
  await phone.locator('.card[data-choice="11"]').waitFor();
  const onPhone = await phone.$$eval('.card', (cards) => cards.map((c) => getComputedStyle(c).backgroundColor));

  assert.deepEqual(onScreen, fills.map(rgb), 'projector and report');
  assert.deepEqual(onPhone, fills.map(rgb), 'phone and report');
  await assertNoProblems(screen);
  await assertNoProblems(phone);
});
