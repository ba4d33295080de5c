'use strict';
// Audience Q&A: phones ask and upvote, the moderator moderates and presents, the projector shows the board.

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

async function createSession(title, settings) {
  const res = await api(server.url, 'POST', '/api/sessions', { title, settings });
  assert.equal(res.status, 201, 'POST /api/sessions: ' + res.text);
  return res.body;
}

function moderatorUrl(session) {
  return `${server.url}/${session.code}/moderate#token=${encodeURIComponent(session.moderator_token)}`;
}

async function openPhone(session) {
  const phone = await openPage(browser, PHONE, `${server.url}/${session.code}`);
  await waitLive(phone);
  await phone.click('#tab-qa');
  await phone.locator('#qa:not([hidden])').waitFor();
  return phone;
}

async function ask(phone, text, name) {
  await phone.fill('#qa-text', text);
  if (name) await phone.fill('#qa-name', name);
  await phone.click('#qa-send');
  await phone.locator('#qa-form-status[data-tone="ok"]').waitFor();
  assert.equal(await phone.inputValue('#qa-text'), '', 'the form is cleared once the question is received');
}

function phoneItem(phone, text) {
  return phone.locator('.qa-item', { has: phone.locator('.qa-item-text', { hasText: text }) });
}

async function upvote(phone, text) {
  const item = phoneItem(phone, text);
  await item.locator('.qa-vote').click();
  await item.locator('.qa-vote[aria-pressed="true"]').waitFor();
}

async function boardTexts(screen) {
  return screen.locator('#qa-board .qa-card').evaluateAll((cards) => cards.map((c) => [
    c.querySelector('.qa-card-text').textContent,
    c.querySelector('.qa-card-count').textContent
  ]));
}

test('phones ask and upvote; the projector shows the most upvoted first, the pinned one on top', async () => {
  const session = await createSession('All-hands: questions for the board');
  const mod = await openPage(browser, DESKTOP, moderatorUrl(session));
  await waitLive(mod);

  const a = await openPhone(session);
  const b = await openPhone(session);

  // The counter follows the text.
  await a.fill('#qa-text', 'Hello');
  assert.equal((await a.locator('#qa-counter').textContent()).trim(), '5 / 500');

  const first = 'When will the new office open?';
  const second = 'Will the survey results be published in full?';
  await ask(a, first);
  await ask(b, second, 'Priya');
  for (const p of [a, b]) {
    await phoneItem(p, first).waitFor();
    await phoneItem(p, second).waitFor();
  }
  assert.equal((await phoneItem(a, second).locator('.qa-item-name').textContent()).trim(), 'Priya');
  assert.equal((await phoneItem(a, first).locator('.qa-item-name').textContent()).trim(), 'Anonymous (you)');

  // Second question: two upvotes; first question: one.
  await upvote(a, second);
  await upvote(b, second);
  await upvote(b, first);

  // Upvote and take it back on the phone: the toggle is remembered and undone.
  await phoneItem(a, first).locator('.qa-vote').click();
  await phoneItem(a, first).locator('.qa-vote[aria-pressed="true"]').waitFor();
  await phoneItem(a, first).locator('.qa-vote').click();
  await phoneItem(a, first).locator('.qa-vote[aria-pressed="false"]').waitFor();

  // The phone's list is sorted by upvotes, once the counts arrive.
  await eventually(async () => {
    const texts = await a.locator('#qa-list .qa-item-text').allTextContents();
    assert.deepEqual(texts, [second, first]);
    const counts = await a.locator('#qa-list .qa-vote-count').allTextContents();
    assert.deepEqual(counts, ['2', '1']);
  });
  // "Newest" puts the latest question first.
  await a.click('#qa-sort-new');
  assert.deepEqual(await a.locator('#qa-list .qa-item-text').allTextContents(), [second, first]);
  await a.click('#qa-sort-top');

  // The moderator sees both, with their counts, and puts the board on the screen.
  await mod.locator('#qa-mod-list .mqa', { hasText: first }).waitFor();
  await eventually(async () => {
    assert.equal((await mod.locator('#qa-mod-list .mqa', { hasText: second }).locator('.mqa-votes').textContent()).trim(), '▲ 2');
  });
  const screen = await openPage(browser, PROJECTOR, `${server.url}/${session.code}/screen`);
  await waitLive(screen);
  assert.ok(await screen.locator('#qa').isHidden(), 'no board before it is presented');
  await mod.click('#qa-present');
  await mod.locator('#qa-present', { hasText: 'Take Q&A off screen' }).waitFor();
  await screen.locator('#qa:not([hidden]) #qa-board .qa-card').first().waitFor();
  await eventually(async () => {
    assert.deepEqual(await boardTexts(screen), [[second, '2'], [first, '1']]);
  });
  // The join code and QR code stay on screen next to the board.
  assert.ok(await screen.locator('#qr').isVisible());
  assert.equal((await screen.locator('#join-code').textContent()).replace(/\s/g, ''), session.code);

  // Phone A upvotes the first again: 2 each, the older question first; then pinning moves it on top.
  await upvote(a, first);
  await mod.locator('#qa-mod-list .mqa', { hasText: first }).locator('button[data-status="pinned"]').click();
  await eventually(async () => {
    assert.deepEqual(await boardTexts(screen), [[first, '2'], [second, '2']]);
    assert.equal(await screen.locator('#qa-board .qa-card').first().getAttribute('data-status'), 'pinned');
  });
  await phoneItem(a, first).locator('.qa-badge', { hasText: 'Being answered now' }).waitFor();
  await screen.waitForTimeout(800); // let the cards settle

  await screenshot(a, 'qa-phone');
  await screenshot(screen, 'qa-projector');
  await screenshot(mod, 'qa-moderator');

  // Answered questions leave the board.
  await mod.locator('#qa-mod-list .mqa', { hasText: first }).locator('button[data-status="answered"]').click();
  await eventually(async () => {
    assert.deepEqual(await boardTexts(screen), [[second, '2']]);
  });

  for (const [page, label] of [[a, 'phone A'], [b, 'phone B'], [mod, 'moderator'], [screen, 'projector']]) {
    assertNoProblems(page, label);
  }
  for (const p of [a, b, mod, screen]) await p.context().close();
});

test('with moderation on, a question reaches the screen only once approved', async () => {
  const session = await createSession('Town hall');
  const mod = await openPage(browser, DESKTOP, moderatorUrl(session));
  await waitLive(mod);
  assert.equal(await mod.isChecked('#qa-moderation'), false);
  await mod.check('#qa-moderation');
  await eventually(async () => {
    const res = await api(server.url, 'GET', `/api/sessions/${session.code}`);
    assert.equal(res.body.settings.qa_moderation, true);
  });
  await mod.click('#qa-present');

  const screen = await openPage(browser, PROJECTOR, `${server.url}/${session.code}/screen`);
  await waitLive(screen);
  await screen.locator('#qa:not([hidden])').waitFor();

  const author = await openPhone(session);
  const other = await openPhone(session);
  const text = 'Can we get the slides afterwards?';
  await author.fill('#qa-text', text);
  await author.click('#qa-send');
  await author.locator('#qa-form-status', { hasText: 'once the moderator approves it' }).waitFor();

  // The author sees it awaiting moderation; the moderator sees it first; nobody else sees it.
  const own = phoneItem(author, text);
  await own.locator('.qa-badge', { hasText: 'Awaiting moderation' }).waitFor();
  assert.ok(await own.locator('.qa-vote').isHidden(), 'a pending question cannot be upvoted');
  const row = mod.locator('#qa-mod-list .mqa', { hasText: text });
  await row.waitFor();
  assert.equal(await row.getAttribute('data-status'), 'pending');
  await screen.waitForTimeout(500);
  assert.equal(await screen.locator('#qa-board .qa-card').count(), 0, 'pending questions stay off the screen');
  assert.equal(await other.locator('#qa-list .qa-item').count(), 0, 'pending questions stay off other phones');

  await row.locator('button[data-status="approved"]').click();
  await eventually(async () => {
    assert.deepEqual(await boardTexts(screen), [[text, '0']]);
  });
  await phoneItem(other, text).waitFor();
  assert.ok(await own.locator('.qa-badge').isHidden(), 'approved: no longer marked');

  // Hidden: gone from every view.
  await row.locator('button[data-status="hidden"]').click();
  await eventually(async () => {
    assert.equal(await screen.locator('#qa-board .qa-card').count(), 0);
    assert.equal(await other.locator('#qa-list .qa-item').count(), 0);
    assert.equal(await mod.locator('#qa-mod-list .mqa').count(), 0);
  });

  for (const [page, label] of [[author, 'author'], [other, 'other phone'], [mod, 'moderator'], [screen, 'projector']]) {
    assertNoProblems(page, label);
  }
  for (const p of [author, other, mod, screen]) await p.context().close();
});

test('question text with markup is shown as text everywhere and never runs', async () => {
  const session = await createSession('Security review');
  const present = await api(server.url, 'POST', `/api/sessions/${session.code}/present`, { qa: true }, session.moderator_token);
  assert.equal(present.status, 200, present.text);

  const mod = await openPage(browser, DESKTOP, moderatorUrl(session));
  await waitLive(mod);
  const screen = await openPage(browser, PROJECTOR, `${server.url}/${session.code}/screen`);
  await waitLive(screen);
  const phone = await openPhone(session);

  const hostile = ['<script>window.__pwned=1</script>', '<img src=x onerror="window.__pwned=1">'];
  await ask(phone, hostile[0], '<b>Mallory</b>');
  await ask(phone, hostile[1]);

  await eventually(async () => {
    assert.deepEqual((await phone.locator('#qa-list .qa-item-text').allTextContents()).sort(), hostile.slice().sort());
    assert.deepEqual((await screen.locator('#qa-board .qa-card-text').allTextContents()).sort(), hostile.slice().sort());
    assert.deepEqual((await mod.locator('#qa-mod-list .mqa-text').allTextContents()).sort(), hostile.slice().sort());
  });
  assert.equal((await phoneItem(phone, hostile[0]).locator('.qa-item-name').textContent()).trim(), '<b>Mallory</b> (you)');

  for (const [page, root] of [[phone, '#qa-list'], [screen, '#qa-board'], [mod, '#qa-mod-list']]) {
    assert.equal(await page.evaluate(() => window.__pwned), undefined);
    assert.equal(await page.locator(`${root} img, ${root} script, ${root} b`).count(), 0, 'no element made from user text');
  }
  for (const [page, label] of [[phone, 'phone'], [mod, 'moderator'], [screen, 'projector']]) {
    assertNoProblems(page, label);
  }
  for (const p of [phone, mod, screen]) await p.context().close();
});

// Fills the board with `phones` × `each` questions over real sockets, from a page on the server's origin.
async function fillBoard(session, phones, each) {
  const page = await openPage(browser, DESKTOP, `${server.url}/`);
  const acked = await page.evaluate(({ code, phones, each }) => {
    const one = (k) => new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://${location.host}/ws/${code}`);
      let acks = 0;
      ws.onopen = () => ws.send(JSON.stringify({ type: 'hello', role: 'audience' }));
      ws.onmessage = (ev) => {
        const msg = JSON.parse(ev.data);
        if (msg.type === 'welcome') {
          for (let i = 0; i < each; i++) {
            ws.send(JSON.stringify({ type: 'ask', text: `Question ${k * each + i}`, name: `Phone ${k}`, ref: `a${i}` }));
          }
        } else if (msg.type === 'ack' && /^a\d+$/.test(msg.ref || '')) {
          if (++acks === each) { ws.close(); resolve(acks); }
        } else if (msg.type === 'error') {
          reject(new Error(msg.code + ': ' + msg.message));
        }
      };
    });
    return (async () => {
      let n = 0;
      for (let k = 0; k < phones; k++) n += await one(k);
      return n;
    })();
  }, { code: session.code, phones, each });
  await page.context().close();
  return acked;
}

test('a long board pages: the console and the phone show the top 100, then "Show more"; the console hides all by one author', async () => {
  const session = await createSession('Plenary');
  assert.equal(await fillBoard(session, 6, 20), 120);

  const mod = await openPage(browser, DESKTOP, moderatorUrl(session));
  await waitLive(mod);
  const rows = mod.locator('#qa-mod-list .mqa');
  await eventually(async () => assert.equal(await rows.count(), 100));
  // The oldest question is past the first 100 (newest first when no one upvoted).
  assert.equal(await mod.locator('#qa-mod-list .mqa', { hasText: 'Question 0' }).count(), 0);
  const more = mod.locator('#qa-mod-more');
  await more.waitFor();
  await more.click();
  await eventually(async () => assert.equal(await rows.count(), 120));
  await mod.locator('#qa-mod-list .mqa-text', { hasText: /^Question 0$/ }).waitFor();
  assert.ok(await more.isHidden(), 'nothing more to show');

  const phone = await openPhone(session);
  const items = phone.locator('#qa-list .qa-item');
  await eventually(async () => assert.equal(await items.count(), 100));
  await phone.click('#qa-more');
  await eventually(async () => assert.equal(await items.count(), 120));
  assert.ok(await phone.locator('#qa-more').isHidden());

  // One click hides the 20 questions of "Phone 0", everywhere.
  await mod.locator('#qa-mod-list .mqa', { has: mod.locator('.mqa-text', { hasText: /^Question 0$/ }) })
    .locator('.mqa-hide-author').click();
  await eventually(async () => {
    assert.equal(await rows.count(), 100);
    assert.equal(await items.count(), 100);
  });
  assert.equal(await mod.locator('#qa-mod-list .mqa-name', { hasText: 'Phone 0' }).count(), 0);
  const res = await api(server.url, 'GET', `/api/sessions/${session.code}/qa?limit=1`);
  assert.equal(res.body.total, 100);

  for (const [page, label] of [[mod, 'moderator'], [phone, 'phone']]) assertNoProblems(page, label);
  for (const p of [mod, phone]) await p.context().close();
});
