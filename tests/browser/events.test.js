'use strict';
// An event of three rooms: the organiser's overview over one socket, two
// consoles and a projector opened from it, votes in each room, the overview's
// counts, a chair's link minted from the overview, and the combined report.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const {
  PHONE, PROJECTOR, DESKTOP, startServer, launchBrowser, openPage, assertNoProblems, api, eventually, waitLive
} = require('./lib');

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

const ROOMS = ['Oceans', 'Digital rights', 'Health'];

async function phoneVote(code, qid, choice) {
  const p = await api(server.url, 'POST', `/api/sessions/${code}/participants`, {});
  assert.equal(p.status, 201, p.text);
  const v = await api(server.url, 'PUT', `/api/sessions/${code}/questions/${qid}/ballot`, { choice }, p.body.participant_token);
  assert.ok(v.status < 300, v.text);
}

test('an event of three rooms on one overview, its consoles, votes and one report', async () => {
  const e = await api(server.url, 'POST', '/api/events', { title: 'Forum side events' });
  assert.equal(e.status, 201, e.text);
  const { id, organiser_token: token } = e.body;
  const rooms = [];
  for (const title of ROOMS) {
    const s = await api(server.url, 'POST', '/api/sessions', {
      title,
      questions: [{ kind: 'single', prompt: `${title}: act now?`, options: ['Yes', 'No'] }],
      event: { id, organiser_token: token }
    });
    assert.equal(s.status, 201, s.text);
    rooms.push(s.body);
  }

  // The overview: every room, nothing connected yet, over a single socket.
  const overview = await openPage(browser, DESKTOP);
  const sockets = [];
  overview.on('websocket', (ws) => sockets.push(ws.url()));
  await overview.goto(`${server.url}/events/${id}#token=${encodeURIComponent(token)}`);
  await waitLive(overview);
  assert.equal((await overview.textContent('#title')).trim(), 'Forum side events');
  await eventually(async () => assert.equal(await overview.locator('.ev-room').count(), 3));
  assert.deepEqual(await overview.locator('.ev-room h2').allTextContents(), ROOMS);
  const card = (s) => overview.locator(`.ev-room[data-code="${s.code}"]`);
  assert.equal((await card(rooms[0]).locator('.ev-people').textContent()).trim(), '0');
  assert.match(await card(rooms[0]).locator('.ev-question').textContent(), /No question on screen/);

  // Two consoles and a projector, opened from the overview's links.
  const consoles = [];
  for (const s of rooms.slice(0, 2)) {
    const href = await card(s).locator('.ev-console').getAttribute('href');
    assert.ok(href.endsWith(`/${s.code}/moderate#token=${token}`), href);
    const mod = await openPage(browser, DESKTOP, href);
    await waitLive(mod);
    consoles.push(mod);
  }
  const screen = await openPage(browser, PROJECTOR, await card(rooms[0]).locator('.ev-projector').getAttribute('href'));
  await waitLive(screen);

  // Each console opens its question and puts it on screen; the third room is
  // run over the API with the organiser token.
  const qids = [];
  for (const [i, s] of rooms.entries()) {
    const view = await api(server.url, 'GET', `/api/sessions/${s.code}`, undefined, token);
    const qid = view.body.questions[0].id;
    qids.push(qid);
    if (i < 2) {
      const item = consoles[i].locator(`.mq[data-qid="${qid}"]`);
      await item.locator('[data-action="open"]').click();
      await item.locator('[data-action="present"]').click();
    } else {
      assert.equal((await api(server.url, 'POST', `/api/sessions/${s.code}/questions/${qid}/open`, {}, token)).status, 200);
    }
  }
  await screen.locator('#q-prompt', { hasText: 'Oceans: act now?' }).waitFor();

  // Phones: two on the first room (pages), votes in every room.
  const phones = [];
  for (let i = 0; i < 2; i++) {
    const phone = await openPage(browser, PHONE, `${server.url}/${rooms[0].code}`);
    await waitLive(phone);
    await phone.locator('.q .card[data-choice="0"]').tap();
    await phone.locator('.q .q-status', { hasText: 'Your vote is counted' }).waitFor();
    phones.push(phone);
  }
  for (const c of [0, 1, 1]) await phoneVote(rooms[1].code, qids[1], c);
  await phoneVote(rooms[2].code, qids[2], 0);

  // The overview shows each room's phones, question, state and voters.
  await eventually(async () => {
    assert.equal((await card(rooms[0]).locator('.ev-people').textContent()).trim(), '2');
    assert.equal((await card(rooms[0]).locator('.ev-voters').textContent()).trim(), '2');
    assert.equal((await card(rooms[1]).locator('.ev-voters').textContent()).trim(), '3');
    assert.equal((await card(rooms[2]).locator('.ev-voters').textContent()).trim(), '1');
    assert.equal((await overview.textContent('#people')).trim(), '2');
  });
  assert.match(await card(rooms[0]).locator('.ev-question').textContent(), /Open\s*Oceans: act now\?/);
  assert.match(await card(rooms[2]).locator('.ev-question').textContent(), /not on screen/);
  // One socket for the whole event.
  assert.deepEqual(sockets.map((u) => new URL(u).pathname), [`/ws/events/${id}`]);

  // A chair's link for the third room, from the overview: it opens that room's console.
  await card(rooms[2]).locator('.ev-role').selectOption('presenter');
  await card(rooms[2]).locator('.ev-mint').click();
  const minted = card(rooms[2]).locator('.ev-minted input');
  await minted.waitFor();
  const chairUrl = await minted.inputValue();
  assert.match(chairUrl, new RegExp(`/${rooms[2].code}/moderate#token=`));
  const links = await api(server.url, 'GET', `/api/sessions/${rooms[2].code}/links`, undefined, token);
  assert.deepEqual(links.body.links.map((l) => l.role), ['presenter']);

  // Q&A waiting for moderation shows on the overview.
  await api(server.url, 'PATCH', `/api/sessions/${rooms[1].code}`, { settings: { qa_moderation: true } }, token);
  const asker = await api(server.url, 'POST', `/api/sessions/${rooms[1].code}/participants`, {});
  const ws = await overview.evaluate(async ({ code, ptoken }) => {
    return await new Promise((resolve) => {
      const s = new WebSocket(`ws://${location.host}/ws/${code}`);
      s.onopen = () => s.send(JSON.stringify({ type: 'hello', role: 'audience', token: ptoken }));
      s.onmessage = (m) => {
        const v = JSON.parse(m.data);
        if (v.type === 'welcome') s.send(JSON.stringify({ type: 'ask', text: 'Who pays?', ref: 'a' }));
        if (v.type === 'ack') { s.close(); resolve(true); }
      };
    });
  }, { code: rooms[1].code, ptoken: asker.body.participant_token });
  assert.ok(ws);
  await eventually(async () => assert.equal((await card(rooms[1]).locator('.ev-qa-pending').textContent()).trim(), '1'));

  // The combined report, from the overview's button.
  const [tab] = await Promise.all([
    overview.context().waitForEvent('page'),
    overview.click('#open-report')
  ]);
  await tab.locator('h1', { hasText: 'Forum side events' }).first().waitFor();
  const toc = await tab.locator('nav.toc li a').allTextContents();
  assert.deepEqual(toc, ROOMS);
  for (const s of rooms) assert.equal(await tab.locator(`section#s-${s.code}`).count(), 1);
  assert.match(await tab.locator(`section#s-${rooms[1].code}`).textContent(), /Digital rights: act now\?/);
  assert.match(await tab.locator(`section#s-${rooms[1].code}`).textContent(), /Who pays\?/);

  // Ending the event: the overview says so, the rooms end.
  assert.equal((await api(server.url, 'DELETE', `/api/events/${id}`, undefined, token)).status, 204);
  await overview.locator('#fatal:not([hidden])').waitFor();
  assert.match(await overview.textContent('#fatal-title'), /This event has ended/);
  await eventually(async () => assert.match(await phones[0].textContent('#conn'), /Ended/));

  for (const p of [overview, screen, ...consoles, ...phones]) assertNoProblems(p);
});

test('a wrong organiser token gets the invalid link notice, in French on a phone', async () => {
  const e = await api(server.url, 'POST', '/api/events', { title: 'Other forum' });
  const page = await openPage(browser, Object.assign({ locale: 'fr-FR' }, PHONE), `${server.url}/events/${e.body.id}#token=wrong`);
  await page.locator('#fatal:not([hidden])').waitFor();
  await eventually(async () => assert.equal((await page.textContent('#fatal-title')).trim(), 'Lien d’organisation invalide'));
  assertNoProblems(page);
});
