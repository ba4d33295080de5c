'use strict';
// Every question kind can be added from the console and answered from a phone.

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

test('multiple, scale, word cloud, open and ranking questions, answered on a phone', async () => {
  const created = await api(server.url, 'POST', '/api/sessions', { title: 'All kinds' });
  assert.equal(created.status, 201, created.text);
  const { code, moderator_token: token } = created.body;

  const mod = await openPage(browser, DESKTOP, `${server.url}/${code}/moderate#token=${encodeURIComponent(token)}`);
  await waitLive(mod);
  const screen = await openPage(browser, PROJECTOR, `${server.url}/${code}/screen`);
  await waitLive(screen);
  const phone = await openPage(browser, PHONE, `${server.url}/${code}`);
  await waitLive(phone);
  await phone.locator('#waiting:not([hidden])').waitFor();

  async function add(kind, prompt, fill) {
    await mod.selectOption('#f-kind', kind);
    await mod.fill('#f-prompt', prompt);
    if (fill) await fill();
    await mod.click('#f-submit');
    const item = mod.locator('.mq', { hasText: prompt });
    await item.waitFor();
    return item;
  }
  async function openAndPresent(item, prompt) {
    await item.locator('[data-action="open"]').click();
    await item.locator('.mq-state[data-state="open"]').waitFor();
    await item.locator('[data-action="present"]').click();
    await phone.locator('.q .q-prompt', { hasText: prompt }).waitFor();
    await screen.locator('#q-prompt', { hasText: prompt }).waitFor();
  }
  async function counted() {
    await phone.locator('.q .q-status', { hasText: /is counted/ }).waitFor();
  }

  // Multiple choice, at most two.
  const multiple = await add('multiple', 'Which topics?', async () => {
    await mod.fill('#f-options', 'Privacy\nLicences\nFunding\nTooling');
    await mod.fill('#f-max-choices', '2');
  });
  await openAndPresent(multiple, 'Which topics?');
  await phone.locator('.q .card', { hasText: 'Privacy' }).tap();
  await phone.locator('.q .card', { hasText: 'Funding' }).tap();
  await phone.locator('.q .card', { hasText: 'Tooling' }).tap();          // a third is refused
  assert.equal(await phone.locator('.q .card.is-selected').count(), 2);
  await phone.locator('.q .q-hint', { hasText: 'at most 2' }).waitFor();
  await phone.locator('.q .submit').tap();
  await counted();
  await eventually(async () => {
    const counts = await multiple.locator('.res-count').allTextContents();
    assert.deepEqual(counts, ['1', '0', '1', '0']);
  });

  // Scale 1..5 with labels.
  const scale = await add('scale', 'How useful so far?', async () => {
    await mod.fill('#f-min', '1');
    await mod.fill('#f-max', '5');
    await mod.fill('#f-min-label', 'Not at all');
    await mod.fill('#f-max-label', 'Very');
  });
  await openAndPresent(scale, 'How useful so far?');
  await phone.locator('.q .card[data-choice="4"]').tap();
  await counted();
  await eventually(async () => {
    assert.deepEqual(await scale.locator('.hist-count').allTextContents(), ['0', '0', '0', '1', '0']);
  });
  await scale.locator('[data-action="reveal"]').click();
  await screen.locator('#q-results:not([hidden]) .hist-mean-text', { hasText: 'average 4' }).waitFor();
  await screen.waitForTimeout(1200); // let the bars finish growing
  await screenshot(screen, 'projector-scale');

  // Word cloud.
  const cloud = await add('wordcloud', 'One word for today?', async () => {
    await mod.fill('#f-max-words', '2');
  });
  await openAndPresent(cloud, 'One word for today?');
  assert.equal(await phone.locator('.q .words-form input').count(), 2);
  await phone.locator('.q .words-form input').nth(0).fill('Openness');
  await phone.locator('.q .words-form input').nth(1).fill('trust');
  await phone.locator('.q .submit').tap();
  await phone.locator('.q .q-status', { hasText: 'Your answer is counted' }).waitFor();
  await cloud.locator('[data-action="reveal"]').click();
  await eventually(async () => {
    const words = (await screen.locator('#q-results .cloud-word').allTextContents()).map((w) => w.toLowerCase()).sort();
    assert.deepEqual(words, ['openness', 'trust']);
  });

  // Open answer.
  const open = await add('open', 'What should we discuss next?');
  await openAndPresent(open, 'What should we discuss next?');
  await phone.locator('.q textarea').fill('How to fund <small> data teams');
  await phone.locator('.q .submit').tap();
  await phone.locator('.q .q-status', { hasText: 'Your answer is counted' }).waitFor();
  await open.locator('[data-action="reveal"]').click();
  await screen.locator('#q-results .wall-card', { hasText: 'How to fund <small> data teams' }).waitFor();

  // Ranking: tap in order; the last one ranks itself.
  const ranking = await add('ranking', 'Rank the priorities', async () => {
    await mod.fill('#f-options', 'Speed\nCost\nPrivacy');
  });
  await openAndPresent(ranking, 'Rank the priorities');
  await phone.locator('.q .card', { hasText: 'Privacy' }).tap();
  await phone.locator('.q .card', { hasText: 'Speed' }).tap();
  await phone.locator('.q .card', { hasText: 'Cost' }).locator('.card-rank', { hasText: '3' }).waitFor();
  await phone.locator('.q .submit').tap();
  await counted();
  await ranking.locator('[data-action="reveal"]').click();
  await eventually(async () => {
    // Borda: Privacy 2, Speed 1, Cost 0, shown best first.
    assert.deepEqual(await screen.locator('#q-results .res-label').allTextContents(), ['Privacy', 'Speed', 'Cost']);
  });
  await screenshot(phone, 'phone-ranking');

  // A quiz question: the correct answer shows once closed and revealed.
  const quiz = await add('single', 'Quiz: 2 + 2?', async () => {
    await mod.fill('#f-options', '3\n4\n5');
    await mod.locator('#f-correct input[value="1"]').check();
  });
  await openAndPresent(quiz, 'Quiz: 2 + 2?');
  await phone.locator('.q .card', { hasText: '4' }).tap();
  await counted();
  await quiz.locator('[data-action="close"]').click();
  await quiz.locator('[data-action="reveal"]').click();
  await phone.locator('.q .q-status', { hasText: 'You got it right' }).waitFor();
  await screen.locator('#q-results .res-row.is-correct', { hasText: '4' }).waitFor();

  // Editing a draft, moving and deleting questions.
  const draft = await add('single', 'Draft to edit', async () => {
    await mod.fill('#f-options', 'One\nTwo');
  });
  await draft.locator('[data-action="edit"]').click();
  await mod.fill('#f-prompt', 'Edited draft');
  await mod.click('#f-submit');
  const edited = mod.locator('.mq', { hasText: 'Edited draft' });
  await edited.waitFor();
  await edited.locator('[data-action="up"]').click();
  await eventually(async () => {
    const prompts = await mod.locator('.mq .mq-prompt').allTextContents();
    assert.equal(prompts[prompts.length - 2], 'Edited draft');
  });
  mod.once('dialog', (d) => d.accept());
  await edited.locator('[data-action="delete"]').click();
  await edited.waitFor({ state: 'detached' });

  // Clicker keys: Left presents the previous question.
  await mod.locator('body').click({ position: { x: 5, y: 300 } });
  await mod.keyboard.press('ArrowLeft');
  await screen.locator('#q-prompt', { hasText: 'Rank the priorities' }).waitFor();

  for (const [label, page] of [['moderator', mod], ['projector', screen], ['phone', phone]]) {
    assertNoProblems(page, label);
  }
  await Promise.all([mod, screen, phone].map((p) => p.context().close()));
});
