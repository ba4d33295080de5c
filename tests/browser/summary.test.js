'use strict';
// The public summary (/{code}/summary): the closed, revealed questions with
// their final results, a breakdown with its anonymity floor, the answered
// questions from the floor in the reader's language, and nothing before the
// moderator publishes it.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { PHONE, DESKTOP, startServer, launchBrowser, openPage, assertNoProblems, api, eventually, waitLive } = require('./lib');

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

// Runs websocket messages from a page of the server's origin: a hello as
// `hello`, then each message in turn, each waited for until its ack.
async function overSocket(page, code, hello, messages) {
  return page.evaluate(async ({ code, hello, messages }) => {
    const ws = new WebSocket(location.origin.replace(/^http/, 'ws') + '/ws/' + code);
    const frames = [];
    const waiters = [];
    ws.onmessage = (ev) => {
      const m = JSON.parse(ev.data);
      frames.push(m);
      waiters.splice(0).forEach((w) => w());
    };
    const until = async (pred) => {
      for (;;) {
        const hit = frames.find(pred);
        if (hit) return hit;
        await new Promise((r) => waiters.push(r));
      }
    };
    await new Promise((r) => { ws.onopen = r; });
    ws.send(JSON.stringify(hello));
    const welcome = await until((m) => m.type === 'welcome');
    const answers = [];
    for (let i = 0; i < messages.length; i++) {
      const ref = 'm' + i;
      ws.send(JSON.stringify(Object.assign({ ref }, messages[i])));
      const answer = await until((m) => (m.type === 'ack' || m.type === 'error') && m.ref === ref);
      answers.push(answer);
    }
    const board = welcome.session.qa || [];
    ws.close();
    return { answers, board, frames };
  }, { code, hello, messages });
}

test('the summary shows the closed, revealed questions, the floor applied, and the answered questions in the reader\'s language', async () => {
  const c = await api(server.url, 'POST', '/api/sessions', {
    title: 'Forum on the oceans',
    settings: { min_group: 2 },
    questions: [
      { kind: 'single', prompt: 'Which group are you?', segment: true, options: ['Government', 'Civil society', 'Private sector'] },
      { kind: 'single', prompt: 'Support the text?', options: ['Yes', 'No'], translations: { fr: { prompt: 'Soutenez-vous le texte ?', options: ['Oui', 'Non'] } } },
      { kind: 'scale', prompt: 'How urgent?', min: 1, max: 5 },
      { kind: 'single', prompt: 'Closed but never shown?', options: ['A', 'B'] },
      { kind: 'single', prompt: 'Still open?', options: ['A', 'B'] }
    ]
  });
  assert.equal(c.status, 201, JSON.stringify(c.body));
  const s = c.body;
  const mod = (method, path, body) => api(server.url, method, `/api/sessions/${s.code}${path}`, body, s.moderator_token);
  const view = await mod('GET', '');
  const ids = view.body.questions.map((q) => q.id);
  for (const id of ids) assert.equal((await mod('POST', `/questions/${id}/open`, {})).status, 200);

  // Not published yet: the page says so and shows nothing of the session.
  const early = await openPage(browser, DESKTOP, `${server.url}/${s.code}/summary`);
  await early.locator('#status.is-error', { hasText: 'has not published a summary' }).waitFor();
  assert.equal(await early.locator('#polls').isVisible(), false);
  assert.doesNotMatch(await early.textContent('body'), /Support the text/);

  // Three from governments (yes; urgency 5), two from civil society (no; 1)
  // and one from the private sector (yes; 3). With a floor of 2 the private
  // sector is hidden, and civil society with it: else the totals less the
  // governments would give the private sector's answer away.
  const people = [[0, 0, 5], [0, 0, 5], [0, 0, 5], [1, 1, 1], [1, 1, 1], [2, 0, 3]];
  for (const [group, yes, urgency] of people) {
    const p = await api(server.url, 'POST', `/api/sessions/${s.code}/participants`, {});
    assert.equal(p.status, 201);
    const vote = async (i, choice) => {
      const r = await api(server.url, 'PUT', `/api/sessions/${s.code}/questions/${ids[i]}/ballot`, { choice }, p.body.participant_token);
      assert.equal(r.status, 200, JSON.stringify(r.body));
    };
    await vote(0, group);
    await vote(1, yes);
    await vote(2, urgency);
    await vote(3, 0);
  }
  assert.equal((await mod('POST', `/questions/${ids[1]}/breakdown`, { by: ids[0] })).status, 200);
  for (const i of [0, 1, 2, 3]) assert.equal((await mod('POST', `/questions/${ids[i]}/close`, {})).status, 200);
  for (const i of [1, 2]) assert.equal((await mod('POST', `/questions/${ids[i]}/reveal`, {})).status, 200);

  // The floor: one question answered, one pending, one dismissed; the
  // answered one translated into French.
  const helper = await openPage(browser, DESKTOP, `${server.url}/`);
  const asked = await overSocket(helper, s.code, { type: 'hello', role: 'audience' }, [
    { type: 'ask', text: 'Who pays for the follow-up?' },
    { type: 'ask', text: 'Still waiting for an answer?' }
  ]);
  asked.answers.forEach((a) => assert.equal(a.type, 'ack', JSON.stringify(a)));
  const board = (await mod('GET', '/qa')).body;
  const first = board.items.find((i) => i.text === 'Who pays for the follow-up?');
  assert.ok(first, 'the asked question is on the board: ' + JSON.stringify(board));
  const done = await overSocket(helper, s.code, { type: 'hello', role: 'moderator', token: s.moderator_token }, [
    { type: 'qa_status', item_id: first.id, status: 'answered' },
    { type: 'qa_translate', item_id: first.id, text: 'Qui paie la suite ?', lang: 'fr' },
    { type: 'settings', public_summary: true }
  ]);
  done.answers.forEach((a) => assert.equal(a.type, 'ack', JSON.stringify(a)));

  // What the API answers anyone: no counts of a hidden group.
  const sum = await api(server.url, 'GET', `/api/sessions/${s.code}/summary`);
  assert.equal(sum.status, 200, JSON.stringify(sum.body));
  assert.deepEqual(sum.body.questions.map((q) => q.prompt), ['Support the text?', 'How urgent?']);
  assert.deepEqual(sum.body.questions[0].tally.groups, [
    { option: 0, voters: 3, counts: [3, 0] },
    { option: 1, suppressed: true },
    { option: 2, suppressed: true }
  ]);
  assert.deepEqual(sum.body.segments.map((q) => q.prompt), ['Which group are you?']);

  // An English reader on a laptop.
  const page = await openPage(browser, Object.assign({ locale: 'en-US' }, DESKTOP), `${server.url}/${s.code}/summary`);
  await page.locator('#polls').waitFor();
  assert.equal((await page.textContent('#title')).trim(), 'Forum on the oceans');
  const cards = page.locator('.sum-q');
  assert.equal(await cards.count(), 2);
  const support = cards.nth(0);
  assert.match(await support.locator('h3').textContent(), /^1\. Support the text\?$/);
  assert.match(await support.locator('.sum-q-meta').textContent(), /^6 people answered$/);
  const bars = support.locator('.res-row');
  assert.equal(await bars.count(), 2);
  assert.match(await bars.nth(0).textContent(), /Yes[\s\S]*4/);
  assert.match(await bars.nth(1).textContent(), /No[\s\S]*2/);
  const rows = support.locator('.sum-table tbody tr');
  assert.equal(await rows.count(), 3);
  assert.deepEqual(
    await rows.nth(0).locator('th, td').allTextContents(),
    ['Government', '3', '3 (100%)', '0 (0%)']
  );
  for (const [i, name] of [[1, 'Civil society'], [2, 'Private sector']]) {
    const cells = await rows.nth(i).locator('th, td').allTextContents();
    assert.deepEqual(cells, [name, 'hidden: too few people to show'], 'no numbers for a hidden group');
  }
  assert.match(await support.locator('.sum-groups h4').textContent(), /By group: Which group are you\?/);
  const urgent = cards.nth(1);
  assert.match(await urgent.locator('h3').textContent(), /How urgent\?/);
  assert.match(await urgent.textContent(), /average 3\.3/);
  assert.equal(await urgent.locator('.sum-table').count(), 0, 'no breakdown chosen for it');
  const text = await page.textContent('body');
  assert.doesNotMatch(text, /Still open\?|Closed but never shown\?/);
  const qa = page.locator('#qa-list li');
  assert.equal(await qa.count(), 1, 'only the answered question from the floor');
  assert.equal((await qa.locator('.sum-qa-text').textContent()).trim(), 'Who pays for the follow-up?');
  assert.equal(await qa.locator('.sum-qa-original').count(), 0);
  assert.doesNotMatch(text, /Still waiting for an answer/);

  // A French reader gets the French interface, the question and the item
  // from the floor translated, the original under it.
  const phone = await openPage(browser, Object.assign({ locale: 'fr-FR' }, PHONE), `${server.url}/${s.code}/summary`);
  await phone.locator('#polls').waitFor();
  await phone.locator('.sum-q h3', { hasText: 'Soutenez-vous le texte ?' }).waitFor();
  assert.equal((await phone.textContent('#floor-h')).trim(), 'Questions de la salle');
  const item = phone.locator('#qa-list li').first();
  assert.equal((await item.locator('.sum-qa-text').textContent()).trim(), 'Qui paie la suite ?');
  assert.equal(await item.locator('.sum-qa-text').getAttribute('lang'), 'fr');
  assert.match(await item.locator('.sum-qa-original').textContent(), /^Traduit · original : Who pays for the follow-up\?$/);
  const width = await phone.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 390, 'nothing wider than the phone: ' + width);

  // Printable: the print stylesheet drops the tools.
  await page.emulateMedia({ media: 'print' });
  assert.equal(await page.locator('#print').isVisible(), false);
  assert.equal(await page.locator('.sum-table').first().isVisible(), true);

  // Unpublished again: the page says so.
  const off = await mod('PATCH', '', { settings: { public_summary: false } });
  assert.equal(off.status, 200, JSON.stringify(off.body));
  await page.emulateMedia({ media: 'screen' });
  await page.reload();
  await page.locator('#status.is-error', { hasText: 'has not published a summary' }).waitFor();
  assert.equal(await page.locator('#polls').isVisible(), false);

  for (const [p, label] of [[early, 'early'], [page, 'summary'], [phone, 'french phone'], [helper, 'helper']]) {
    assertNoProblems(p, label);
  }
});

test('an unknown code says so', async () => {
  const page = await openPage(browser, DESKTOP, `${server.url}/999999/summary`);
  await page.locator('#status.is-error', { hasText: 'No session has this code' }).waitFor();
  assertNoProblems(page, 'unknown');
});

test('the console makes a segment question from its form, sets the floor and publishes the summary', async () => {
  const c = await api(server.url, 'POST', '/api/sessions', { title: 'Side event' });
  assert.equal(c.status, 201);
  const s = c.body;
  const mod = await openPage(browser, DESKTOP, `${server.url}/${s.code}/moderate#token=${encodeURIComponent(s.moderator_token)}`);
  await waitLive(mod);
  // Only a single choice can group the room.
  await mod.selectOption('#f-kind', 'multiple');
  assert.equal(await mod.locator('#f-segment').isVisible(), false);
  await mod.selectOption('#f-kind', 'single');
  await mod.fill('#f-prompt', 'Which group are you?');
  await mod.fill('#f-options', 'Government\nCivil society');
  await mod.check('#f-segment');
  await mod.click('#f-submit');
  await mod.selectOption('#f-kind', 'single');
  await mod.fill('#f-prompt', 'Support the text?');
  await mod.fill('#f-options', 'Yes\nNo');
  assert.equal(await mod.isChecked('#f-segment'), false, 'the form starts afresh');
  await mod.click('#f-submit');
  const view = async () => (await api(server.url, 'GET', `/api/sessions/${s.code}`, undefined, s.moderator_token)).body;
  await eventually(async () => {
    const qs = (await view()).questions;
    assert.deepEqual(qs.map((q) => [q.prompt, q.segment === true]), [['Which group are you?', true], ['Support the text?', false]]);
  });
  await eventually(async () => assert.deepEqual(
    (await mod.locator('.mq-kind').allTextContents()).map((x) => x.trim()),
    ['Single choice · groups the room', 'Single choice']
  ));

  // The floor, then the summary, from the header.
  assert.equal(await mod.inputValue('#min-group'), '5');
  await mod.fill('#min-group', '3');
  await mod.press('#min-group', 'Enter');
  await eventually(async () => assert.equal((await view()).settings.min_group, 3));
  await mod.fill('#min-group', '0');
  await mod.press('#min-group', 'Enter');
  await mod.locator('.toast-error', { hasText: 'from 1' }).waitFor();
  assert.equal(await mod.inputValue('#min-group'), '3');
  assert.equal((await view()).settings.min_group, 3);

  assert.equal(await mod.locator('#link-summary').isVisible(), false);
  assert.equal((await api(server.url, 'GET', `/api/sessions/${s.code}/summary`)).status, 403);
  await mod.check('#public-summary');
  await mod.locator('#link-summary').waitFor();
  assert.equal(await mod.getAttribute('#link-summary', 'href'), `/${s.code}/summary`);
  await eventually(async () => assert.equal((await api(server.url, 'GET', `/api/sessions/${s.code}/summary`)).status, 200));
  const reader = await openPage(browser, DESKTOP, `${server.url}/${s.code}/summary`);
  await reader.locator('#status', { hasText: 'Nothing to show yet' }).waitFor();
  assert.equal((await reader.textContent('#title')).trim(), 'Side event');

  // A presenter's console has none of these settings.
  const link = await api(server.url, 'POST', `/api/sessions/${s.code}/links`, { role: 'presenter' }, s.moderator_token);
  assert.equal(link.status, 201);
  const presenter = await openPage(browser, DESKTOP, link.body.url);
  await waitLive(presenter);
  assert.equal(await presenter.locator('#public-summary').isVisible(), false);
  assert.equal(await presenter.locator('#min-group').isVisible(), false);
  for (const [p, label] of [[mod, 'console'], [reader, 'summary'], [presenter, 'presenter']]) assertNoProblems(p, label);
});
