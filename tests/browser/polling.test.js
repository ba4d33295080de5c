'use strict';
// A room votes on phones, the moderator sees live counts, reveals, and the projector shows them.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const {
  PHONE, PROJECTOR, DESKTOP,
  startServer, launchBrowser, openPage, assertNoProblems, api, eventually, screenshot, waitLive
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

// [count text, percentage text] of every result row inside `root`.
async function resultRows(root) {
  return root.locator('.res-row').evaluateAll((rows) => rows.map((r) => [
    r.querySelector('.res-count').textContent.trim(),
    r.querySelector('.res-pct').textContent.trim()
  ]));
}

async function createSession(title, questions) {
  const res = await api(server.url, 'POST', '/api/sessions', { title, questions });
  assert.equal(res.status, 201, 'POST /api/sessions: ' + res.text);
  assert.match(res.body.code, /^\d{6}$/);
  assert.ok(res.body.moderator_token, 'moderator_token in the answer');
  return res.body;
}

function moderatorUrl(session) {
  return `${server.url}/${session.code}/moderate#token=${encodeURIComponent(session.moderator_token)}`;
}

test('phones vote, the moderator sees counts before the reveal, the projector only after', async () => {
  const session = await createSession('Panel: the future of open data', [
    { kind: 'single', prompt: 'Warm-up: coffee or tea?', options: ['Coffee', 'Tea'] }
  ]);

  // The moderator console lists the question made over HTTP.
  const mod = await openPage(browser, DESKTOP, moderatorUrl(session));
  await waitLive(mod);
  await mod.locator('.mq', { hasText: 'Warm-up: coffee or tea?' }).waitFor();
  assert.equal((await mod.locator('#title').textContent()).trim(), 'Panel: the future of open data');

  // Add a question with the form.
  const prompt = 'Which session format works best for you?';
  await mod.selectOption('#f-kind', 'single');
  await mod.fill('#f-prompt', prompt);
  await mod.fill('#f-options', 'Panel\nWorkshop\nKeynote');
  await mod.click('#f-submit');
  const item = mod.locator('.mq', { hasText: prompt });
  await item.waitFor();
  await item.locator('.mq-state[data-state="draft"]').waitFor();
  assert.equal(await mod.locator('.mq').count(), 2);

  // Open it and put it on the screen.
  await item.locator('[data-action="open"]').click();
  await item.locator('.mq-state[data-state="open"]').waitFor();
  await item.locator('[data-action="present"]').click();
  await item.locator('.mq-flag-screen:not([hidden])').waitFor();

  const screen = await openPage(browser, PROJECTOR, `${server.url}/${session.code}/screen`);
  await waitLive(screen);
  await screen.locator('#q-prompt', { hasText: prompt }).waitFor();
  assert.equal(await screen.locator('#q-options .opt').count(), 3, 'the projector lists the three options');
  assert.equal((await screen.locator('#join-code').textContent()).replace(/\s/g, ''), session.code);

  // Three phones join and tap cards.
  const phones = [];
  for (let i = 0; i < 3; i++) {
    const phone = await openPage(browser, PHONE, `${server.url}/${session.code}`);
    await waitLive(phone);
    await phone.locator('.q .q-prompt', { hasText: prompt }).waitFor();
    phones.push(phone);
  }
  await eventually(async () => {
    assert.equal((await screen.locator('#people').textContent()).trim(), '3');
  });
  await eventually(async () => {
    assert.equal((await mod.locator('#people').textContent()).trim(), '3');
  });

  async function tap(phone, label) {
    const card = phone.locator('.q .card', { hasText: label });
    await card.tap();
    await phone.locator('.q .card.is-selected', { hasText: label }).waitFor();
    await phone.locator('.q .q-status', { hasText: 'Your vote is counted' }).waitFor();
    await phone.locator('.q .card.is-selected .card-tag', { hasText: 'counted' }).waitFor();
  }
  await tap(phones[0], 'Panel');
  await tap(phones[1], 'Panel');
  await tap(phones[2], 'Workshop');

  // The moderator sees live counts before anything is revealed.
  await eventually(async () => {
    assert.deepEqual(await resultRows(item), [['2', '67%'], ['1', '33%'], ['0', '0%']]);
    assert.equal((await item.locator('.mq-voters').textContent()).trim(), '3 voters');
  });

  // One phone changes its mind.
  await tap(phones[2], 'Keynote');
  assert.equal(await phones[2].locator('.q .card.is-selected').count(), 1);
  await eventually(async () => {
    assert.deepEqual(await resultRows(item), [['2', '67%'], ['0', '0%'], ['1', '33%']]);
  });

  // The projector shows no counts before the reveal.
  assert.equal(await screen.locator('#q-results').isHidden(), true, 'results hidden on the projector');
  assert.equal(await screen.locator('#q-voters').isHidden(), true, 'voter count hidden on the projector');
  assert.equal(await screen.locator('.res-count:visible').count(), 0);
  assert.equal(await phones[0].locator('.q-results').isHidden(), true, 'results hidden on the phone');

  // Reveal, and present again (no change expected: it is already on screen).
  await item.locator('[data-action="reveal"]').click();
  await item.locator('.mq-flag-results:not([hidden])').waitFor();
  await screen.locator('#q-results:not([hidden])').waitFor();
  await eventually(async () => {
    assert.deepEqual(await resultRows(screen.locator('#q-results')), [['2', '67%'], ['0', '0%'], ['1', '33%']]);
    assert.equal((await screen.locator('#q-voters').textContent()).trim(), '3 votes');
  });
  const labels = await screen.locator('#q-results .res-label').allTextContents();
  assert.deepEqual(labels, ['Panel', 'Workshop', 'Keynote']);

  // Phones see the results too, once revealed.
  await eventually(async () => {
    assert.deepEqual(await resultRows(phones[0].locator('.q-results')), [['2', '67%'], ['0', '0%'], ['1', '33%']]);
  }, 15000);

  // Close voting: phones say so, the projector too.
  await item.locator('[data-action="close"]').click();
  await phones[1].locator('.q .q-status', { hasText: 'Voting is closed' }).waitFor();
  await screen.locator('#q-state', { hasText: 'Voting closed' }).waitFor();
  assert.equal(await phones[1].locator('.q .card').first().isDisabled(), true);

  // Let the bar transitions settle before the pictures.
  await screen.waitForTimeout(1200);
  await screenshot(screen, 'projector-results');
  await screenshot(phones[0], 'phone-results');
  await screenshot(mod, 'moderator');

  for (const [label, page] of [['moderator', mod], ['projector', screen], ['phone 1', phones[0]], ['phone 2', phones[1]], ['phone 3', phones[2]]]) {
    assertNoProblems(page, label);
  }
  await Promise.all([mod, screen].concat(phones).map((p) => p.context().close()));
});

test('a phone keeps its vote across a reload, takes it back, sees the timer and the end', async () => {
  const session = await createSession('Reload check', [
    { kind: 'single', prompt: 'Pick one', options: ['Red', 'Blue', 'Green'] }
  ]);
  const mod = await openPage(browser, DESKTOP, moderatorUrl(session));
  await waitLive(mod);
  const item = mod.locator('.mq', { hasText: 'Pick one' });
  await item.locator('[data-action="open"]').click();
  await item.locator('.mq-state[data-state="open"]').waitFor();

  const phone = await openPage(browser, PHONE, `${server.url}/${session.code}`);
  await waitLive(phone);
  await phone.locator('.q .card', { hasText: 'Blue' }).tap();
  await phone.locator('.q .q-status', { hasText: 'Your vote is counted' }).waitFor();
  const token = await phone.evaluate((code) => localStorage.getItem('handsup:' + code + ':token'), session.code);
  assert.ok(token, 'participant token kept in localStorage');

  await phone.reload();
  await waitLive(phone);
  await phone.locator('.q .card.is-selected', { hasText: 'Blue' }).waitFor();
  assert.equal(await phone.evaluate((code) => localStorage.getItem('handsup:' + code + ':token'), session.code), token);
  await eventually(async () => {
    assert.equal((await item.locator('.mq-voters').textContent()).trim(), '1 voter');
  });

  // Tapping the chosen card again takes the vote back.
  await phone.locator('.q .card.is-selected', { hasText: 'Blue' }).tap();
  await eventually(async () => {
    assert.equal(await phone.locator('.q .card.is-selected').count(), 0);
    assert.equal((await item.locator('.mq-voters').textContent()).trim(), '0 voters');
  });

  // The moderator's reset clears a phone's selection.
  await phone.locator('.q .card', { hasText: 'Green' }).tap();
  await phone.locator('.q .q-status', { hasText: 'Your vote is counted' }).waitFor();
  mod.once('dialog', (d) => d.accept());
  await item.locator('[data-action="reset"]').click();
  await eventually(async () => {
    assert.equal(await phone.locator('.q .card.is-selected').count(), 0);
  });

  // Reopened with a timer: the phone counts down.
  await item.locator('[data-action="close"]').click();
  await phone.locator('.q .q-status', { hasText: 'Voting is closed' }).waitFor();
  await item.locator('.mq-duration').fill('90');
  await item.locator('[data-action="open"]').click();
  await phone.locator('.q .q-timer', { hasText: /closes in 1:(30|29|28)/ }).waitFor();
  await item.locator('.mq-timer', { hasText: /closes in 1:/ }).waitFor();

  // Deleting the session ends every view.
  const del = await api(server.url, 'DELETE', `/api/sessions/${session.code}`, undefined, session.moderator_token);
  assert.equal(del.status, 204);
  await phone.locator('#ended:not([hidden])', { hasText: 'This session has ended' }).waitFor();
  await mod.locator('#fatal:not([hidden])', { hasText: 'This session has ended' }).waitFor();

  // An unknown code says so.
  await phone.goto(`${server.url}/${session.code}`);
  await phone.locator('#ended:not([hidden])', { hasText: 'No session with code' }).waitFor();

  assertNoProblems(mod, 'moderator');
  assertNoProblems(phone, 'phone');
  await Promise.all([mod, phone].map((p) => p.context().close()));
});

test('a phone whose network blocks WebSockets votes over HTTP', async () => {
  const session = await createSession('No WebSocket here', [
    { kind: 'single', prompt: 'Does this work?', options: ['Yes', 'No'] }
  ]);
  const mod = await openPage(browser, DESKTOP, moderatorUrl(session));
  await waitLive(mod);
  const item = mod.locator('.mq', { hasText: 'Does this work?' });
  await item.locator('[data-action="open"]').click();
  await item.locator('.mq-state[data-state="open"]').waitFor();

  const context = await browser.newContext(PHONE);
  // Every socket this phone opens is refused at once.
  await context.routeWebSocket(/\/ws\//, (ws) => { ws.close({ code: 1006 }); });
  const phone = await context.newPage();
  phone.problems = [];
  phone.on('pageerror', (err) => phone.problems.push(err.message));
  await phone.goto(`${server.url}/${session.code}`);
  await phone.locator('#conn[data-state="polling"]').waitFor({ timeout: 20000 });
  await phone.locator('.q .card', { hasText: 'Yes' }).tap();
  await phone.locator('.q .q-status', { hasText: 'Your vote is counted' }).waitFor();
  await eventually(async () => {
    assert.deepEqual(await resultRows(item), [['1', '100%'], ['0', '0%']]);
  });

  // Results reach the polling phone once revealed.
  await item.locator('[data-action="reveal"]').click();
  await eventually(async () => {
    assert.deepEqual(await resultRows(phone.locator('.q-results')), [['1', '100%'], ['0', '0%']]);
  }, 15000);

  assert.deepEqual(phone.problems, []);
  assertNoProblems(mod, 'moderator');
  await Promise.all([mod.context().close(), context.close()]);
});

test('a vote sent into a dead link is sent again after reconnecting', async () => {
  const session = await createSession('Weak Wi-Fi', [
    { kind: 'single', prompt: 'Still there?', options: ['Yes', 'No'] }
  ]);
  const mod = await openPage(browser, DESKTOP, moderatorUrl(session));
  await waitLive(mod);
  const item = mod.locator('.mq', { hasText: 'Still there?' });
  await item.locator('[data-action="open"]').click();
  await item.locator('.mq-state[data-state="open"]').waitFor();

  const context = await browser.newContext(PHONE);
  // The first socket silently swallows votes, as a link that died without closing would.
  let sockets = 0;
  await context.routeWebSocket(/\/ws\//, (ws) => {
    sockets += 1;
    const swallow = sockets === 1;
    const upstream = ws.connectToServer();
    ws.onMessage((m) => {
      if (swallow && typeof m === 'string' && m.indexOf('"vote"') !== -1) return;
      upstream.send(m);
    });
  });
  const phone = await context.newPage();
  phone.problems = [];
  phone.on('pageerror', (err) => phone.problems.push(err.message));
  await phone.goto(`${server.url}/${session.code}`);
  await waitLive(phone);
  await phone.locator('.q .card', { hasText: 'Yes' }).tap();
  await phone.locator('.q .q-status', { hasText: 'Sending' }).waitFor();
  await phone.locator('.q .card.is-selected .card-tag', { hasText: 'sending' }).waitFor();
  // No answer: the page drops the link, reconnects and sends the vote again.
  await phone.locator('.q .q-status', { hasText: 'Your vote is counted' }).waitFor({ timeout: 25000 });
  assert.ok(sockets >= 2, 'a second socket was opened');
  await eventually(async () => {
    assert.deepEqual(await resultRows(item), [['1', '100%'], ['0', '0%']]);
  });
  assert.deepEqual(phone.problems, []);
  await Promise.all([mod.context().close(), context.close()]);
});

test('a wrong moderator token shows an invalid link page', async () => {
  const session = await createSession('Token check', []);
  const mod = await openPage(browser, DESKTOP, `${server.url}/${session.code}/moderate#token=not-the-token`);
  await mod.locator('#fatal:not([hidden])', { hasText: 'Invalid moderator link' }).waitFor();
  assert.equal(await mod.locator('#main').isHidden(), true);
  await mod.context().close();
});
