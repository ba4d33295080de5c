'use strict';
// Results by group: the moderator picks a breakdown in the console, the projector shows it once
// revealed (groups under the anonymity floor named, with no number), a phone shows it too, and
// the console shows every breakdown of every question at any time.

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

const SEGMENT = 'Which stakeholder group are you?';
const GROUPS = ['Governments', 'Civil society', 'Private sector'];

async function createSession(title, questions, settings) {
  const res = await api(server.url, 'POST', '/api/sessions', { title, questions });
  assert.equal(res.status, 201, 'POST /api/sessions: ' + res.text);
  const s = res.body;
  if (settings) {
    const patched = await api(server.url, 'PATCH', `/api/sessions/${s.code}`, { settings }, s.moderator_token);
    assert.equal(patched.status, 200, 'PATCH settings: ' + patched.text);
  }
  const view = await api(server.url, 'GET', `/api/sessions/${s.code}`, undefined, s.moderator_token);
  s.ids = view.body.questions.map((q) => q.id);
  s.act = async (path, body) => {
    const r = await api(server.url, 'POST', `/api/sessions/${s.code}${path}`, body || {}, s.moderator_token);
    assert.equal(r.status, 200, `POST ${path}: ${r.text}`);
    return r.body;
  };
  return s;
}

// A participant answering over HTTP, as a phone without a socket does.
async function participant(s) {
  const p = await api(server.url, 'POST', `/api/sessions/${s.code}/participants`, {});
  assert.equal(p.status, 201, p.text);
  const token = p.body.participant_token;
  return {
    vote: async (qid, choice) => {
      const r = await api(server.url, 'PUT', `/api/sessions/${s.code}/questions/${qid}/ballot`, { choice }, token);
      assert.equal(r.status, 200, `ballot: ${r.text}`);
    }
  };
}

// Each panel of a breakdown: its name, size, whether hidden, its rows' counts and shares, its text.
async function panels(root) {
  return root.locator('.bd-group').evaluateAll((nodes) => nodes.map((n) => ({
    name: n.querySelector('.bd-name').textContent,
    size: n.querySelector('.bd-size').textContent,
    suppressed: n.classList.contains('is-suppressed'),
    rows: Array.prototype.filter.call(n.querySelectorAll('.bd-row'), (r) => r.offsetParent !== null)
      .map((r) => [r.querySelector('.bd-key').textContent, r.querySelector('.bd-count').textContent, r.querySelector('.bd-pct').textContent]),
    text: n.textContent
  })));
}

// The console's table of one breakdown: [group, cells...] per row.
async function consoleTable(item) {
  return item.locator('.mq-g-table tbody tr').evaluateAll((rows) => rows.map((r) =>
    Array.prototype.map.call(r.children, (c) => c.textContent.trim())));
}

test('a question shown by group: chosen in the console, on the projector and a phone after the reveal, under the floor without numbers', async () => {
  const s = await createSession('Open data forum', [
    { kind: 'single', prompt: SEGMENT, segment: true, options: GROUPS },
    { kind: 'single', prompt: 'Should public data be open by default?', options: ['Yes', 'No', 'Not sure'] }
  ], { min_group: 2 });
  const [seg, q] = s.ids;
  await s.act(`/questions/${seg}/open`);
  await s.act(`/questions/${q}/open`);
  await s.act('/present', { question_id: seg });

  // One phone in the room, in the largest group.
  const phone = await openPage(browser, PHONE, `${server.url}/${s.code}`);
  await waitLive(phone);
  await phone.locator('.q .card', { hasText: 'Governments' }).tap();
  await phone.locator('.q .q-status', { hasText: 'Your vote is counted' }).waitFor();

  // Five more over HTTP. Governments: 3 (the phone, Yes, No), civil society: 2, private sector: 1.
  // With min_group 2 the private sector (1) is under the floor, and alone it could be found by
  // subtracting the groups shown from the total: so the smallest group shown, civil society (2),
  // is hidden too. Only the governments' group is shown.
  const others = [];
  for (const [group, answer] of [[0, 0], [0, 1], [1, 0], [1, 2], [2, 1]]) {
    const p = await participant(s);
    await p.vote(seg, group);
    await p.vote(q, answer);
    others.push(p);
  }
  await s.act('/present', { question_id: q });
  await phone.locator('.q .q-prompt', { hasText: 'Should public data' }).waitFor();
  await phone.locator('.q .card', { hasText: 'Yes' }).tap();
  await phone.locator('.q .card.is-selected', { hasText: 'Yes' }).waitFor();
  await phone.locator('.q .q-status', { hasText: 'Your vote is counted' }).waitFor();

  const screen = await openPage(browser, PROJECTOR, `${server.url}/${s.code}/screen`);
  await waitLive(screen);
  await screen.locator('#q-prompt', { hasText: 'Should public data' }).waitFor();

  // The console: the chooser lists the segment question, and sends the choice.
  const mod = await openPage(browser, DESKTOP, `${server.url}/${s.code}/moderate#token=${encodeURIComponent(s.moderator_token)}`);
  await waitLive(mod);
  const item = mod.locator(`.mq[data-qid="${q}"]`);
  const segItem = mod.locator(`.mq[data-qid="${seg}"]`);
  const chooser = item.locator('.mq-breakdown-select');
  await chooser.waitFor();
  assert.deepEqual(await chooser.locator('option').allTextContents(), ['none', `1. ${SEGMENT}`]);
  assert.equal(await segItem.locator('.mq-breakdown').isVisible(), false, 'a segment is not broken down by itself');
  await chooser.selectOption({ label: `1. ${SEGMENT}` });
  await eventually(async () => {
    const v = await api(server.url, 'GET', `/api/sessions/${s.code}`, undefined, s.moderator_token);
    assert.equal(v.body.questions[1].by, seg);
  });

  // The console sees the breakdown before anything is revealed: sizes and counts of the groups
  // shown, the others marked hidden; and which breakdown is on the projector.
  await eventually(async () => {
    assert.deepEqual(await consoleTable(item), [
      ['Governments', '3', '2 (67%)', '1 (33%)', '0 (0%)'],
      ['Civil society', 'hidden'],
      ['Private sector', 'hidden']
    ]);
  });
  await item.locator('.mq-g.is-shown .mq-g-shown', { hasText: 'on the projector' }).waitFor();
  assert.match(await item.locator('.mq-g-note').textContent(), /fewer than 2 people/);
  assert.equal(await chooser.inputValue(), seg);

  // Nothing of the results on the projector or the phone before the reveal.
  assert.equal(await screen.locator('#q-breakdown').isHidden(), true);
  assert.equal(await screen.locator('#q-results').isHidden(), true);
  assert.equal(await screen.locator('.bd-count').count(), 0);
  assert.equal(await phone.locator('.q-breakdown').isHidden(), true);

  await item.locator('[data-action="reveal"]').click();
  await screen.locator('#q-breakdown:not([hidden])').waitFor();
  assert.equal(await screen.locator('#q-results').isHidden(), true, 'the groups take the results\' place');
  await eventually(async () => {
    const got = await panels(screen.locator('#q-breakdown'));
    assert.deepEqual(got.map((p) => [p.name, p.size, p.suppressed, p.rows]), [
      ['Governments', ' · 3 people', false, [['A', '2', '67%'], ['B', '1', '33%'], ['C', '0', '0%']]],
      ['Civil society', '', true, []],
      ['Private sector', '', true, []]
    ]);
  });
  const shown = await panels(screen.locator('#q-breakdown'));
  for (const p of shown.filter((x) => x.suppressed)) {
    assert.equal(p.text, p.name + 'hidden', `${p.name}: its name and "hidden", nothing else`);
    assert.doesNotMatch(p.text, /\d/, `${p.name}: no number at all`);
  }
  const groupsText = await screen.locator('#q-breakdown .bd-groups').innerText();
  assert.doesNotMatch(groupsText, /Civil society\s*·|Private sector\s*·|\b1 person\b|\b2 people\b/, 'no size of a hidden group');
  const stageText = await screen.locator('#stage').innerText();
  assert.match(stageText, /By group: Which stakeholder group are you\?/);
  assert.match(stageText, /groups of fewer than 2 people/);
  assert.deepEqual(await screen.locator('.bd-legend li').allTextContents(), ['AYes', 'BNo', 'CNot sure']);

  // A vote changes: the bars move in place.
  const firstCount = await screen.locator('.bd-group[data-option="0"] .bd-count').first().elementHandle();
  await others[1].vote(q, 0);
  await eventually(async () => {
    const got = await panels(screen.locator('#q-breakdown'));
    assert.deepEqual(got[0].rows, [['A', '3', '100%'], ['B', '0', '0%'], ['C', '0', '0%']]);
  });
  assert.equal(await firstCount.evaluate((n) => n.isConnected), true, 'the same element, updated');

  // The phone shows the breakdown below the results.
  await phone.locator('.q-breakdown:not([hidden])').waitFor();
  await eventually(async () => {
    const got = await panels(phone.locator('.q-breakdown'));
    assert.deepEqual(got.map((p) => [p.name, p.size, p.suppressed, p.rows]), [
      ['Governments', ' · 3 people', false, [['A', '3', '100%'], ['B', '0', '0%'], ['C', '0', '0%']]],
      ['Civil society', '', true, []],
      ['Private sector', '', true, []]
    ]);
  });
  assert.deepEqual(await phone.locator('.q-breakdown .bd-group[data-option="0"] .bd-label').allTextContents(), ['Yes', 'No', 'Not sure']);
  await eventually(async () => {
    assert.deepEqual((await consoleTable(item))[0], ['Governments', '3', '3 (100%)', '0 (0%)', '0 (0%)']);
  });

  await phone.locator('.q-breakdown').scrollIntoViewIfNeeded();
  await phone.waitForTimeout(700);
  await screenshot(phone, 'phone-breakdown');
  await screenshot(mod, 'moderator-breakdown');

  // Back to none: the projector shows the results as a whole again.
  await chooser.selectOption({ label: 'none' });
  await screen.locator('#q-results:not([hidden]) .res-row').first().waitFor();
  assert.equal(await screen.locator('#q-breakdown').isHidden(), true);
  await phone.locator('.q-breakdown').waitFor({ state: 'hidden' });
  // The console still sees every breakdown.
  assert.equal((await consoleTable(item)).length, 3);

  for (const [page, label] of [[screen, 'projector'], [phone, 'phone'], [mod, 'console']]) assertNoProblems(page, label);
  for (const page of [screen, phone, mod]) await page.context().close();
});

test('a presenter may choose the breakdown; a Q&A moderator sees no chooser', async () => {
  const s = await createSession('Chaired forum', [
    { kind: 'single', prompt: SEGMENT, segment: true, options: GROUPS },
    { kind: 'scale', prompt: 'How useful was the morning?', min: 1, max: 5 }
  ]);
  const seg = s.ids[0];
  const mint = async (role) => {
    const r = await api(server.url, 'POST', `/api/sessions/${s.code}/links`, { role }, s.moderator_token);
    assert.equal(r.status, 201, r.text);
    return r.body;
  };
  const presenter = await openPage(browser, DESKTOP, (await mint('presenter')).url);
  await waitLive(presenter);
  const chooser = presenter.locator('.mq', { hasText: 'How useful' }).locator('.mq-breakdown-select');
  await chooser.selectOption({ label: `1. ${SEGMENT}` });
  await eventually(async () => {
    const v = await api(server.url, 'GET', `/api/sessions/${s.code}`, undefined, s.moderator_token);
    assert.equal(v.body.questions[1].by, seg);
  });
  const qa = await openPage(browser, DESKTOP, (await mint('qa_moderator')).url);
  await waitLive(qa);
  assert.equal(await qa.locator('.mq-breakdown:visible').count(), 0);
  assertNoProblems(presenter, 'presenter console');
  assertNoProblems(qa, 'Q&A moderator console');
  await presenter.context().close();
  await qa.context().close();
});

const TWELVE = ['Open by default', 'Privacy', 'Skills', 'Funding', 'Standards', 'Interoperability',
  'Licensing', 'Quality', 'Metadata', 'APIs', 'Archiving', 'Feedback'];

// A forum's room: four groups of 14, 9, 3 and 2 people at the default floor of 5. The two small
// ones hold 5 together, so nothing more is hidden. Used for the README's screenshot.
async function forum() {
  const s = await createSession('Open data forum', [
    { kind: 'single', prompt: SEGMENT, segment: true, options: ['Governments', 'Civil society', 'Academia', 'Private sector'] },
    { kind: 'single', prompt: 'Which should come first in the national data strategy?', options: ['Open by default', 'Privacy safeguards', 'Skills and training', 'Funding'] },
    { kind: 'scale', prompt: 'How ready is your organisation to publish its data?', min: 1, max: 5, min_label: 'Not at all', max_label: 'Fully' },
    { kind: 'single', prompt: 'Which one of these twelve should the strategy fund first?', options: TWELVE }
  ]);
  const [seg, choice, scale, twelve] = s.ids;
  for (const id of s.ids) await s.act(`/questions/${id}/open`);
  const plan = [
    [0, [6, 3, 2, 3], [1, 2, 5, 4, 2]],
    [1, [2, 5, 1, 1], [2, 3, 2, 1, 1]],
    [2, [1, 1, 1, 0], [0, 1, 1, 1, 0]],
    [3, [1, 0, 0, 1], [0, 0, 1, 1, 0]]
  ];
  for (const [group, choices, steps] of plan) {
    const answers = [];
    choices.forEach((n, i) => { for (let k = 0; k < n; k++) answers.push(i); });
    const marks = [];
    steps.forEach((n, i) => { for (let k = 0; k < n; k++) marks.push(i + 1); });
    for (let k = 0; k < answers.length; k++) {
      const p = await participant(s);
      await p.vote(seg, group);
      await p.vote(choice, answers[k]);
      await p.vote(scale, marks[k]);
      await p.vote(twelve, (group * 5 + k) % TWELVE.length);
    }
  }
  return { s, seg, choice, scale, twelve };
}

// The breakdown fits the stage, and its numbers are large enough for the back of the room.
async function legible(screen, where, least = 0.0145) {
  const got = await screen.evaluate(() => {
    const box = document.querySelector('#q-breakdown').getBoundingClientRect();
    const counts = Array.prototype.map.call(document.querySelectorAll('#q-breakdown .bd-count, #q-breakdown .bd-name'),
      (n) => parseFloat(getComputedStyle(n).fontSize));
    const panels = Array.prototype.map.call(document.querySelectorAll('#q-breakdown .bd-group'), (n) => n.getBoundingClientRect().bottom);
    return { bottom: Math.max.apply(null, panels), right: box.right, width: innerWidth, height: innerHeight, smallest: Math.min.apply(null, counts) };
  });
  assert.ok(got.bottom <= got.height, `${where}: the panels end at ${got.bottom}px, past the screen's ${got.height}px`);
  assert.ok(got.right <= got.width, `${where}: the breakdown is cut on the right`);
  // 1.5% of the width: 28.8px at 1920, 19.2px at 1280 (a projector's 1280 is as large on the wall).
  assert.ok(got.smallest >= got.width * least, `${where}: the numbers are ${got.smallest}px high`);
  return got;
}

test('the projector puts the groups side by side, legible at 1920×1080 and 1280×720, a scale in the ramp', async () => {
  const { s, seg, choice, scale, twelve } = await forum();
  await s.act(`/questions/${choice}/breakdown`, { by: seg });
  await s.act(`/questions/${scale}/breakdown`, { by: seg });
  await s.act(`/questions/${choice}/reveal`);
  await s.act('/present', { question_id: choice });

  const screen = await openPage(browser, PROJECTOR, `${server.url}/${s.code}/screen`);
  await waitLive(screen);
  await screen.locator('#q-breakdown:not([hidden])').waitFor();
  await eventually(async () => {
    const got = await panels(screen.locator('#q-breakdown'));
    assert.deepEqual(got.map((p) => [p.name, p.size, p.suppressed]), [
      ['Governments', ' · 14 people', false],
      ['Civil society', ' · 9 people', false],
      ['Academia', '', true],
      ['Private sector', '', true]
    ]);
    assert.deepEqual(got[0].rows.map((r) => r[1]), ['6', '3', '2', '3']);
    assert.deepEqual(got[1].rows.map((r) => r[2]), ['22%', '56%', '11%', '11%']);
  });
  await screen.waitForTimeout(1200);
  await legible(screen, '1920×1080');
  await screenshot(screen, 'projector-breakdown');
  await screen.setViewportSize({ width: 1280, height: 720 });
  await screen.waitForTimeout(300);
  await legible(screen, '1280×720');

  // A scale by group: its steps in the ramp, low to high, and each group's average.
  await s.act(`/questions/${scale}/reveal`);
  await s.act('/present', { question_id: scale });
  await screen.locator('#q-breakdown.bd-scale').waitFor();
  await eventually(async () => {
    const got = await panels(screen.locator('#q-breakdown'));
    assert.deepEqual(got[0].rows.map((r) => r[1]), ['1', '2', '5', '4', '2']);
  });
  const fills = await screen.locator('.bd-group[data-option="0"] .bd-fill').evaluateAll((n) => n.map((x) => getComputedStyle(x).backgroundColor));
  const ramp = await screen.evaluate(async () => {
    const m = await import('/assets/ramp.js');
    return [0, 1, 2, 3, 4].map((k) => m.rampColour(k, 5));
  });
  const rgb = (hex) => `rgb(${parseInt(hex.slice(1, 3), 16)}, ${parseInt(hex.slice(3, 5), 16)}, ${parseInt(hex.slice(5, 7), 16)})`;
  assert.deepEqual(fills, ramp.map(rgb));
  assert.equal((await screen.locator('.bd-group[data-option="0"] .bd-mean').textContent()).trim(), 'average 3.3');
  await legible(screen, 'a scale at 1280×720');
  await screen.waitForTimeout(1200);
  await screenshot(screen, 'projector-breakdown-scale');

  // Twelve answers in four groups: the text shrinks until the slide fits, at both sizes.
  await s.act(`/questions/${twelve}/breakdown`, { by: seg });
  await s.act(`/questions/${twelve}/reveal`);
  await s.act('/present', { question_id: twelve });
  await screen.locator('#q-prompt', { hasText: 'twelve' }).waitFor();
  await eventually(async () => assert.equal((await panels(screen.locator('#q-breakdown')))[0].rows.length, 12));
  const small = await legible(screen, 'twelve answers at 1280×720', 0.008);
  await screen.setViewportSize({ width: 1920, height: 1080 });
  await eventually(async () => legible(screen, 'twelve answers at 1920×1080', 0.008));
  assert.ok(small.smallest < 1280 * 0.0145, 'the text did shrink to fit');
  assertNoProblems(screen, 'projector');
  await screen.context().close();
});
