'use strict';
// The projector's word cloud: words sized by count, no overlaps, inside the stage, stable as votes come in.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const {
  PHONE, PROJECTOR,
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

// Every word on the projector: text, font size, box, and the stage box, once nothing moves any more.
async function cloudState(screen) {
  const read = () => screen.evaluate(() => {
    const stage = document.querySelector('#q-results').getBoundingClientRect();
    const words = Array.from(document.querySelectorAll('#q-results .cloud-word')).map((el) => {
      const r = el.getBoundingClientRect();
      const style = getComputedStyle(el);
      return {
        text: el.textContent,
        count: Number(el.dataset.count),
        font: parseFloat(style.fontSize),
        colour: style.color,
        opacity: parseFloat(style.opacity),
        l: r.left, t: r.top, r: r.right, b: r.bottom,
        cx: (r.left + r.right) / 2, cy: (r.top + r.bottom) / 2
      };
    });
    return { stage: { l: stage.left, t: stage.top, r: stage.right, b: stage.bottom }, words };
  });
  let last = await read();
  return eventually(async () => {
    await screen.waitForTimeout(250);
    const now = await read();
    const same = JSON.stringify(now) === JSON.stringify(last);
    last = now;
    assert.ok(same, 'the cloud is still moving');
    assert.ok(now.words.every((w) => w.opacity === 1), 'the words have faded in');
    return now;
  }, 10000, 0);
}

function intersects(a, b) {
  return a.l < b.r && b.l < a.r && a.t < b.b && b.t < a.b;
}

// WCAG contrast of two 'rgb(r, g, b)' colours.
function contrast(c1, c2) {
  const lum = (c) => {
    const [r, g, b] = c.match(/[\d.]+/g).slice(0, 3).map((v) => {
      const s = Number(v) / 255;
      return s <= 0.03928 ? s / 12.92 : Math.pow((s + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const [hi, lo] = [lum(c1), lum(c2)].sort((a, b) => b - a);
  return (hi + 0.05) / (lo + 0.05);
}

function checkCloud(state, expected, label, minFont = 24) {
  const texts = state.words.map((w) => w.text.toLowerCase()).sort();
  assert.deepEqual(texts, Object.keys(expected).sort(), `${label}: every word is on the projector`);
  for (const w of state.words) {
    assert.equal(w.count, expected[w.text.toLowerCase()], `${label}: count of ${w.text}`);
    assert.ok(w.l >= state.stage.l - 0.5 && w.r <= state.stage.r + 0.5 &&
      w.t >= state.stage.t - 0.5 && w.b <= state.stage.b + 0.5,
    `${label}: ${w.text} ${JSON.stringify(w)} lies inside the stage ${JSON.stringify(state.stage)}`);
  }
  for (let i = 0; i < state.words.length; i++) {
    for (let j = i + 1; j < state.words.length; j++) {
      const a = state.words[i];
      const b = state.words[j];
      assert.ok(!intersects(a, b), `${label}: ${a.text} and ${b.text} overlap`);
    }
  }
  const top = state.words.reduce((m, w) => (w.count > m.count ? w : m));
  for (const w of state.words) {
    assert.ok(top.font >= w.font, `${label}: ${top.text} (${top.count}) is at least as large as ${w.text}`);
    if (w.count < top.count) assert.ok(top.font > w.font, `${label}: ${top.text} is larger than ${w.text}`);
  }
  // Readable from the back row: large enough, and light enough on the dark stage.
  for (const w of state.words) {
    assert.ok(w.font >= minFont, `${label}: ${w.text} is ${w.font}px`);
    assert.ok(contrast(w.colour, 'rgb(14, 22, 38)') >= 4.5, `${label}: ${w.text} in ${w.colour} contrasts enough`);
  }
}

test('the projector lays a word cloud out without overlaps and keeps words in place as votes grow', async () => {
  const created = await api(server.url, 'POST', '/api/sessions', {
    title: 'Word cloud',
    questions: [{ kind: 'wordcloud', prompt: 'What makes capacity building last?', max_words: 3 }]
  });
  assert.equal(created.status, 201, created.text);
  const { code, moderator_token: token } = created.body;
  const session = await api(server.url, 'GET', `/api/sessions/${code}`, undefined, token);
  const qid = session.body.questions[0].id;
  for (const action of ['open', 'reveal']) {
    const res = await api(server.url, 'POST', `/api/sessions/${code}/questions/${qid}/${action}`, {}, token);
    assert.equal(res.status, 200, `${action}: ${res.text}`);
  }
  const shown = await api(server.url, 'POST', `/api/sessions/${code}/present`, { question_id: qid }, token);
  assert.equal(shown.status, 200, shown.text);

  const screen = await openPage(browser, PROJECTOR, `${server.url}/${code}/screen`);
  await waitLive(screen);
  await screen.locator('#q-prompt', { hasText: 'capacity building' }).waitFor();

  const phones = [];
  async function vote(words) {
    const phone = await openPage(browser, PHONE, `${server.url}/${code}`);
    phones.push(phone);
    await waitLive(phone);
    const inputs = phone.locator('.q .words-form input');
    for (let i = 0; i < words.length; i++) await inputs.nth(i).fill(words[i]);
    await phone.locator('.q .submit').tap();
    await phone.locator('.q .q-status', { hasText: 'Your answer is counted' }).waitFor();
  }
  async function answered(n) {
    await screen.locator('#q-voters', { hasText: `${n} people answered` }).waitFor();
  }

  // First round.
  const round1 = [
    ['Trust', 'Openness', 'Data'],
    ['trust', 'Community'],
    ['Trust', 'openness', 'Funding'],
    ['Sharing', 'data', 'Local ownership']
  ];
  for (const words of round1) await vote(words);
  await answered(4);
  const expected1 = {
    trust: 3, openness: 2, data: 2, community: 1, funding: 1, sharing: 1, 'local ownership': 1
  };
  const first = await cloudState(screen);
  checkCloud(first, expected1, 'first round');
  await screenshot(screen, 'projector-wordcloud-1');
  await screenshot(screen, 'projector-wordcloud');

  // Second round: more phones answer while the cloud is on screen.
  const round2 = [
    ['Trust', 'Collaboration', 'Patience'],
    ['trust', 'Open data', 'Mentoring'],
    ['Trust', 'data', 'Curiosity'],
    ['Peer learning', 'trust', 'Time'],
    ['Champions', 'Documentation', 'Trust']
  ];
  for (const words of round2) await vote(words);
  await answered(9);
  const expected2 = Object.assign({}, expected1, {
    trust: 8, data: 3, collaboration: 1, patience: 1, 'open data': 1, mentoring: 1, curiosity: 1,
    'peer learning': 1, time: 1, champions: 1, documentation: 1
  });
  const second = await cloudState(screen);
  checkCloud(second, expected2, 'second round');
  await screenshot(screen, 'projector-wordcloud-2');
  await screenshot(screen, 'projector-wordcloud');

  // Words that did not grow stay where they were.
  let kept = 0;
  for (const before of first.words) {
    const after = second.words.find((w) => w.text.toLowerCase() === before.text.toLowerCase());
    if (after.font > before.font + 0.5) continue;
    kept += 1;
    assert.ok(Math.abs(after.cx - before.cx) <= 3 && Math.abs(after.cy - before.cy) <= 3,
      `${before.text} moved from (${before.cx}, ${before.cy}) to (${after.cx}, ${after.cy})`);
  }
  assert.equal(kept, first.words.length, 'no word of the first round grew');

  // The same elements were updated, not rebuilt: a marker set on one survives a further vote.
  await screen.evaluate(() => {
    const el = Array.from(document.querySelectorAll('#q-results .cloud-word')).find((w) => w.textContent.toLowerCase() === 'trust');
    el.dataset.marker = 'kept';
  });
  await vote(['trust', 'Listening']);
  await answered(10);
  await screen.locator('#q-results .cloud-word', { hasText: 'Listening' }).waitFor();
  assert.equal((await screen.locator('#q-results .cloud-word[data-marker="kept"]').textContent()).toLowerCase(), 'trust');
  const expected3 = Object.assign({}, expected2, { trust: 9, listening: 1 });
  checkCloud(await cloudState(screen), expected3, 'third round');

  // A smaller projector: the cloud is laid out again to fit.
  await screen.setViewportSize({ width: 1280, height: 720 });
  checkCloud(await cloudState(screen), expected3, '1280x720', 14);

  assertNoProblems(screen, 'projector');
  for (const phone of phones) assertNoProblems(phone, 'phone');
  await Promise.all([screen, ...phones].map((p) => p.context().close()));
});

test('a full cloud of a hundred words still fits the projector without overlaps', async () => {
  const created = await api(server.url, 'POST', '/api/sessions', {
    title: 'Big cloud',
    questions: [{ kind: 'wordcloud', prompt: 'Name a tool you use every day', max_words: 10 }]
  });
  assert.equal(created.status, 201, created.text);
  const { code, moderator_token: token } = created.body;
  const session = await api(server.url, 'GET', `/api/sessions/${code}`, undefined, token);
  const qid = session.body.questions[0].id;
  for (const action of ['open', 'reveal']) {
    const res = await api(server.url, 'POST', `/api/sessions/${code}/questions/${qid}/${action}`, {}, token);
    assert.equal(res.status, 200, `${action}: ${res.text}`);
  }
  await api(server.url, 'POST', `/api/sessions/${code}/present`, { question_id: qid }, token);

  const screen = await openPage(browser, PROJECTOR, `${server.url}/${code}/screen`);
  await waitLive(screen);
  await screen.locator('#q-prompt', { hasText: 'Name a tool' }).waitFor();

  // Twelve participants over HTTP, ten words each: a hundred distinct words, some long, one clear winner.
  const vocabulary = [];
  for (let i = 0; i < 99; i++) vocabulary.push((i % 9 === 0 ? 'interoperability' : 'tool') + '-' + i);
  const expected = {};
  for (let p = 0; p < 12; p++) {
    const joined = await api(server.url, 'POST', `/api/sessions/${code}/participants`, {});
    assert.equal(joined.status, 201, joined.text);
    const words = ['spreadsheet'];
    while (words.length < 10) words.push(vocabulary[(p * 9 + words.length - 1) % vocabulary.length]);
    const res = await api(server.url, 'PUT', `/api/sessions/${code}/questions/${qid}/ballot`,
      { choice: words }, joined.body.participant_token);
    assert.ok(res.status === 200 || res.status === 201 || res.status === 204, res.text);
    for (const w of words) expected[w] = (expected[w] || 0) + 1;
  }
  await screen.locator('#q-voters', { hasText: '12 people answered' }).waitFor();
  const state = await cloudState(screen);
  assert.equal(state.words.length, Object.keys(expected).length);
  const stage = state.stage;
  for (const w of state.words) {
    assert.equal(w.count, expected[w.text], w.text);
    assert.ok(w.l >= stage.l - 0.5 && w.r <= stage.r + 0.5 && w.t >= stage.t - 0.5 && w.b <= stage.b + 0.5,
      `${w.text} lies inside the stage`);
  }
  for (let i = 0; i < state.words.length; i++) {
    for (let j = i + 1; j < state.words.length; j++) {
      assert.ok(!intersects(state.words[i], state.words[j]), `${state.words[i].text} and ${state.words[j].text} overlap`);
    }
  }
  const top = state.words.find((w) => w.text === 'spreadsheet');
  assert.ok(state.words.every((w) => w === top || w.font < top.font), 'the most counted word is the largest');
  await screenshot(screen, 'projector-wordcloud-full');

  // With reduced motion the words neither glide nor fade.
  await screen.emulateMedia({ reducedMotion: 'reduce' });
  const motion = await screen.locator('#q-results .cloud-word').first().evaluate((el) => {
    const style = getComputedStyle(el);
    return [style.transitionDuration, style.animationName];
  });
  assert.deepEqual(motion, ['0s', 'none']);
  assertNoProblems(screen, 'projector');
  await screen.context().close();
});
