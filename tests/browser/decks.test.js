'use strict';
// Decks: create a session from a deck file on the start page, then download the deck, the
// results and the report from the console.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const {
  PHONE, DESKTOP, startServer, launchBrowser, openPage, assertNoProblems, api, eventually, waitLive
} = require('./lib');

const DECK = path.resolve(__dirname, '../../decks/capacity-building.toml');

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

// Clicks `selector` and returns the text and file name of the download it starts.
async function download(page, selector) {
  const [file] = await Promise.all([page.waitForEvent('download'), page.click(selector)]);
  const text = fs.readFileSync(await file.path(), 'utf8');
  return { name: file.suggestedFilename(), text };
}

test('create a session from a deck file, then download its deck, results and report', async () => {
  const chair = await openPage(browser, DESKTOP, `${server.url}/`);
  const urls = [];
  chair.on('request', (req) => urls.push(req.url()));

  // A deck with a mistake is refused with the question and the field.
  await chair.setInputFiles('#deck-file', {
    name: 'broken.toml',
    mimeType: 'application/toml',
    buffer: Buffer.from('title = "Broken"\n[[question]]\nkind = "open"\nprompt = "Fine"\n' +
      '[[question]]\nkind = "single"\nprompt = "Coffee?"\noptions = ["Yes"]\n')
  });
  await chair.click('#deck-submit');
  const error = chair.locator('#deck-error:not([hidden])');
  await error.waitFor();
  assert.match(await error.textContent(), /question 2: options: a question needs at least 2 options/);

  // The example deck makes a session and opens its console.
  await chair.setInputFiles('#deck-file', DECK);
  assert.equal(await error.isHidden(), true, 'choosing another file clears the error');
  await chair.click('#deck-submit');
  await chair.waitForURL(/\/\d{6}\/moderate#token=/);
  const url = new URL(chair.url());
  assert.equal(url.origin, server.url);
  const code = url.pathname.split('/')[1];
  const token = decodeURIComponent(url.hash.replace(/^#token=/, ''));
  await waitLive(chair);
  assert.match(await chair.locator('#title').textContent(), /^What role for capacity building/);
  await chair.locator('.mq', { hasText: 'What should the panel discuss next?' }).waitFor();
  assert.equal(await chair.locator('.mq').count(), 7);

  // Download the deck: the same questions, quiz answer and translations included.
  const deck = await download(chair, '#download-deck');
  assert.equal(deck.name, `handsup-${code}-deck.toml`);
  assert.match(deck.text, /^title = "What role for capacity building/m);
  assert.equal((deck.text.match(/^\[\[question\]\]$/gm) || []).length, 7);
  assert.match(deck.text, /^correct = \[2\]$/m);
  assert.match(deck.text, /Où travaillez-vous sur les migrations \?/);
  // It creates the same session again.
  const again = await fetch(`${server.url}/api/decks`, { method: 'POST', body: deck.text });
  assert.equal(again.status, 201);

  // A phone votes on the first question; the CSV counts it.
  const view = await api(server.url, 'GET', `/api/sessions/${code}`, undefined, token);
  const first = view.body.questions[0].id;
  assert.equal((await api(server.url, 'POST', `/api/sessions/${code}/questions/${first}/open`, {}, token)).status, 200);
  assert.equal((await api(server.url, 'POST', `/api/sessions/${code}/present`, { question_id: first }, token)).status, 200);
  const phone = await openPage(browser, PHONE, `${server.url}/${code}`);
  await waitLive(phone);
  await phone.locator('.q .card', { hasText: 'Civil society' }).tap();
  await phone.locator('.q .q-status', { hasText: 'Your vote is counted' }).waitFor();
  await chair.locator('.mq').first().locator('.mq-voters[data-voters="1"]').waitFor();

  const csv = await download(chair, '#download-csv');
  assert.equal(csv.name, `handsup-${code}-results.csv`);
  const lines = csv.text.replace(/^\uFEFF/, '').split(/\r\n/);
  assert.match(lines[0], /^question,question_id,kind,prompt,state,voters,/);
  const row = lines.find((l) => l.includes(',Civil society,'));
  assert.ok(row, 'a row for "Civil society" in\n' + csv.text);
  assert.match(row, /^1,[^,]+,single,Where do you work on migration\?,open,1,.*,Civil society,1,100\.0,/);

  // The report opens in a new tab.
  const [report] = await Promise.all([chair.waitForEvent('popup'), chair.click('#open-report')]);
  await report.waitForURL(/^blob:/);
  await report.waitForLoadState();
  assert.match(await report.locator('body').textContent(), /What role for capacity building/);
  assert.match(await report.locator('body').textContent(), /Civil society/);
  // Its own stylesheet applies, though the tab inherits the console's Content-Security-Policy.
  await eventually(async () => {
    assert.equal(await report.evaluate(() => getComputedStyle(document.body).maxWidth), '760px');
  });

  // The token was never in a URL the console asked for.
  const leaked = urls.filter((u) => u.includes(token));
  assert.deepEqual(leaked, [], 'the moderator token appears in a request URL');

  assertNoProblems(chair, 'start page and console');
  assertNoProblems(phone, 'phone');
  await Promise.all([chair, phone].map((p) => p.context().close()));
});
