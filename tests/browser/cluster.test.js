'use strict';
// Cluster mode: two nodes share one Redis. A phone on node A votes, the projector on node B
// counts it. While Redis is away the phone keeps its vote queued (no error), and once Redis is
// back the vote goes through and node B's projector shows it.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const {
  PHONE, PROJECTOR,
  startServer, startRedis, launchBrowser, openPage, assertNoProblems, api, eventually, waitLive
} = require('./lib');

let redis;
let nodeA;
let nodeB;
let browser;

before(async () => {
  redis = await startRedis();
  nodeA = await startServer({ args: ['--redis', redis.url] });
  nodeB = await startServer({ args: ['--redis', redis.url] });
  browser = await launchBrowser();
});

after(async () => {
  if (browser) await browser.close();
  if (nodeA) await nodeA.stop();
  if (nodeB) await nodeB.stop();
  if (redis) await redis.destroy();
});

// [count text, percentage text] of every result row inside `root`.
async function resultRows(root) {
  return root.locator('.res-row').evaluateAll((rows) => rows.map((r) => [
    r.querySelector('.res-count').textContent.trim(),
    r.querySelector('.res-pct').textContent.trim()
  ]));
}

test('a vote made while Redis is down waits on the phone, then counts on the other node', async (t) => {
  // The session is made, opened, shown and revealed on node A.
  const created = await api(nodeA.url, 'POST', '/api/sessions', {
    title: 'Two nodes, one Redis',
    questions: [{ kind: 'single', prompt: 'Which venue next year?', options: ['Lisbon', 'Tallinn'] }]
  });
  assert.equal(created.status, 201, 'POST /api/sessions: ' + created.text);
  const { code, moderator_token: token } = created.body;
  const view = await api(nodeA.url, 'GET', `/api/sessions/${code}`, undefined, token);
  assert.equal(view.status, 200, view.text);
  const qid = view.body.questions[0].id;
  const act = (path, body) => api(nodeA.url, 'POST', `/api/sessions/${code}${path}`, body || {}, token);
  for (const [path, body] of [[`/questions/${qid}/open`], ['/present', { question_id: qid }], [`/questions/${qid}/reveal`]]) {
    const res = await act(path, body);
    assert.equal(res.status, 200, `POST ${path}: ${res.text}`);
  }

  // Node B sees the session made on node A.
  const onB = await api(nodeB.url, 'GET', `/api/sessions/${code}`);
  assert.equal(onB.status, 200, 'the session on node B: ' + onB.text);

  // The phone's socket traffic: vote messages sent, and the error codes that came back.
  const phone = await openPage(browser, PHONE);
  const wire = { votes: [], errors: [] };
  phone.on('websocket', (ws) => {
    ws.on('framesent', (f) => {
      try {
        const m = JSON.parse(f.payload);
        if (m.type === 'vote') wire.votes.push({ at: Date.now(), choice: m.choice });
      } catch (e) { /* not JSON */ }
    });
    ws.on('framereceived', (f) => {
      try {
        const m = JSON.parse(f.payload);
        if (m.type === 'error') wire.errors.push({ at: Date.now(), code: m.code || (m.error && m.error.code) });
      } catch (e) { /* not JSON */ }
    });
  });
  await phone.goto(`${nodeA.url}/${code}`);
  const screen = await openPage(browser, PROJECTOR, `${nodeB.url}/${code}/screen`);
  await waitLive(phone);
  await waitLive(screen);
  await phone.locator('.q .q-prompt', { hasText: 'Which venue next year?' }).waitFor();
  await screen.locator('#q-prompt', { hasText: 'Which venue next year?' }).waitFor();
  await screen.locator('#q-results:not([hidden])').waitFor();

  // The phone's vote status (tone and text read together) and its connection badge.
  const statusNow = () => phone.evaluate(() => {
    const el = document.querySelector('.q .q-status');
    const conn = document.querySelector('#conn');
    return { tone: el.dataset.tone, text: el.textContent.trim(), conn: conn && conn.dataset.state };
  });

  // Option 1, with Redis up: counted on the phone, and on node B's projector.
  await phone.locator('.q .card', { hasText: 'Lisbon' }).tap();
  await phone.locator('.q .q-status[data-tone="ok"]', { hasText: 'Your vote is counted' }).waitFor();
  await phone.locator('.q .card.is-selected .card-tag', { hasText: 'counted' }).waitFor();
  await eventually(async () => {
    assert.deepEqual(await resultRows(screen.locator('#q-results')), [['1', '100%'], ['0', '0%']]);
  }, 10000);

  // Redis goes away; the phone changes its vote to option 2.
  await redis.stop();
  const stoppedAt = Date.now();
  await phone.locator('.q .card', { hasText: 'Tallinn' }).tap();
  await phone.locator('.q .card.is-selected', { hasText: 'Tallinn' }).waitFor();

  // For at least 2 s, and until the phone has tried twice (the first try, then a retry
  // 1.5-2.5 s after the "unavailable" answer), the vote stays pending ("busy"): never an error,
  // never counted.
  const downVotes = () => wire.votes.filter((v) => v.at >= stoppedAt && v.choice === 1);
  const downErrors = () => wire.errors.filter((e) => e.at >= stoppedAt);
  const seen = [];
  while (Date.now() - stoppedAt < 2000 || (downErrors().length < 2 && Date.now() - stoppedAt < 8000)) {
    const s = await statusNow();
    seen.push(s);
    assert.equal(s.tone, 'busy', `while Redis is down the vote is pending, got ${JSON.stringify(s)}`);
    assert.doesNotMatch(s.text, /not counted/i, 'no "Not counted" error while Redis is down');
    assert.equal(await phone.locator('.q .card.is-selected', { hasText: 'Tallinn' }).count(), 1,
      'the new choice stays selected on the phone');
    await phone.waitForTimeout(100);
  }
  t.diagnostic(`statuses while Redis was down: ${JSON.stringify([...new Set(seen.map((s) => `${s.tone}: ${s.text} (socket ${s.conn})`))])}`);
  const rel = (list) => list.map((x) => `+${x.at - stoppedAt} ms${x.code ? ' ' + x.code : ''}`);
  t.diagnostic(`Redis down for ${Date.now() - stoppedAt} ms; vote sends: ${JSON.stringify(rel(downVotes()))}, errors back: ${JSON.stringify(rel(downErrors()))}`);
  assert.ok(seen.some((s) => /busy for a moment/.test(s.text)),
    'between tries the phone says the server is busy, not that its connection is lost');
  assert.ok(!seen.some((s) => /connection is back/.test(s.text)), 'no "offline" wording while the socket is open');
  assert.ok(downVotes().length >= 2, `the phone retried the vote while Redis was down (${downVotes().length} sends)`);
  assert.ok(downErrors().length >= 2 && downErrors().every((e) => e.code === 'unavailable'),
    `node A answered "unavailable" while Redis was down: ${JSON.stringify(downErrors())}`);
  // Node B still shows the last counted vote.
  assert.deepEqual(await resultRows(screen.locator('#q-results')), [['1', '100%'], ['0', '0%']]);

  // Redis comes back (same port, same append-only file): the queued vote goes through.
  await redis.start();
  const restartedAt = Date.now();
  const afterRestart = [];
  await eventually(async () => {
    const s = await statusNow();
    afterRestart.push(s);
    assert.doesNotMatch(s.text, /not counted/i, 'no "Not counted" error after Redis is back');
    assert.equal(s.tone, 'ok', `the vote is counted once Redis is back, got ${JSON.stringify(s)}`);
    assert.equal(s.text, 'Your vote is counted.');
  }, 15000, 100);
  t.diagnostic(`phone counted the vote ${Date.now() - restartedAt} ms after Redis came back`);
  t.diagnostic(`statuses after Redis came back: ${JSON.stringify([...new Set(afterRestart.map((s) => `${s.tone}: ${s.text} (socket ${s.conn})`))])}`);
  await phone.locator('.q .card.is-selected .card-tag', { hasText: 'counted' }).waitFor();
  assert.equal(await phone.locator('.q .card.is-selected').count(), 1);
  assert.equal((await phone.locator('.q .card.is-selected .card-label').textContent()).trim(), 'Tallinn');

  await eventually(async () => {
    assert.deepEqual(await resultRows(screen.locator('#q-results')), [['0', '0%'], ['1', '100%']]);
    assert.equal((await screen.locator('#q-voters').textContent()).trim(), '1 vote');
  }, 15000);
  t.diagnostic(`projector on node B showed the new vote ${Date.now() - restartedAt} ms after Redis came back`);
  assert.deepEqual(await screen.locator('#q-results .res-label').allTextContents(), ['Lisbon', 'Tallinn']);

  // Both nodes' results API agree: one voter, on option 2.
  for (const [name, node] of [['A', nodeA], ['B', nodeB]]) {
    await eventually(async () => {
      const res = await api(node.url, 'GET', `/api/sessions/${code}/results`, undefined, token);
      assert.equal(res.status, 200, `results on node ${name}: ${res.text}`);
      const { counts, voters } = res.body.questions[0].tally;
      assert.deepEqual({ counts, voters }, { counts: [0, 1], voters: 1 }, `results on node ${name}`);
    }, 5000);
  }

  assertNoProblems(phone, 'phone');
  assertNoProblems(screen, 'projector');
  await phone.context().close();
  await screen.context().close();
});
