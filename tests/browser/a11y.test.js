'use strict';
// Accessibility audit with axe-core in Chromium: no serious or critical WCAG 2.1 A/AA violation on any view.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const {
  PHONE, PROJECTOR, DESKTOP,
  startServer, launchBrowser, api, eventually, waitLive
} = require('./lib');

const AXE = require.resolve('axe-core/axe.min.js');
const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

let server;
let browser;
let session;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  const created = await api(server.url, 'POST', '/api/sessions', {
    title: 'Accessible room',
    questions: [
      { kind: 'single', prompt: 'Which format works best for you?', options: ['Panel', 'Workshop', 'Keynote', 'Lightning talks'] },
      { kind: 'scale', prompt: 'How clear was the keynote?', min: 1, max: 5, min_label: 'Not at all', max_label: 'Very' }
    ]
  });
  assert.equal(created.status, 201, created.text);
  session = created.body;
  const view = await api(server.url, 'GET', `/api/sessions/${session.code}`, undefined, session.moderator_token);
  session.qid = view.body.questions[0].id;
  const act = (path, body) => api(server.url, 'POST', `/api/sessions/${session.code}${path}`, body || {}, session.moderator_token);
  assert.equal((await act(`/questions/${session.qid}/open`)).status, 200);
  assert.equal((await act('/present', { question_id: session.qid })).status, 200);
});

after(async () => {
  if (browser) await browser.close();
  if (server) await server.stop();
});

// The audit runs in its own context: the pages' CSP would refuse the injected script.
async function open(options, url) {
  const context = await browser.newContext(Object.assign({ bypassCSP: true }, options));
  const page = await context.newPage();
  await page.goto(url);
  return page;
}

async function audit(page, label) {
  await page.addScriptTag({ path: AXE });
  const result = await page.evaluate((tags) => window.axe.run(document, { runOnly: { type: 'tag', values: tags } }), TAGS);
  const summary = (v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.length}×: ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')})`;
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  const minor = result.violations.filter((v) => !(v.impact === 'serious' || v.impact === 'critical'));
  for (const v of minor) console.log(`# ${label}: ${summary(v)}`);
  if (!minor.length) console.log(`# ${label}: no remaining minor findings`);
  assert.deepEqual(bad.map(summary), [], `${label}: serious or critical accessibility violations`);
}

test('phone with an open question, after voting', async () => {
  const page = await open(PHONE, `${server.url}/${session.code}`);
  await waitLive(page);
  await page.click('.card[data-choice="0"]');
  await page.locator('.q-status[data-tone="ok"]').waitFor();
  // Touch targets on the phone: every button and field at least 44 px high and wide.
  const small = await page.evaluate(() => Array.prototype.slice.call(document.querySelectorAll('button, select, input, textarea, a.btn'))
    .filter((n) => n.offsetParent !== null)
    .map((n) => { const r = n.getBoundingClientRect(); return { what: n.id || n.className || n.tagName, w: r.width, h: r.height }; })
    .filter((r) => r.w < 44 || r.h < 44));
  assert.deepEqual(small, [], 'touch targets under 44 px');
  // The countdown and the "vote counted" line are announced.
  assert.equal(await page.getAttribute('.q-status', 'aria-live'), 'polite');
  await audit(page, 'phone');
  await page.context().close();
});

test('projector with revealed results', async () => {
  const act = (path) => api(server.url, 'POST', `/api/sessions/${session.code}${path}`, {}, session.moderator_token);
  assert.equal((await act(`/questions/${session.qid}/reveal`)).status, 200);
  const page = await open(PROJECTOR, `${server.url}/${session.code}/screen`);
  await waitLive(page);
  await page.locator('#q-results:not([hidden]) .res-row').first().waitFor();
  await audit(page, 'projector');
  await page.context().close();
});

test('moderator console', async () => {
  const page = await open(DESKTOP, `${server.url}/${session.code}/moderate#token=${encodeURIComponent(session.moderator_token)}`);
  await waitLive(page);
  await page.locator('.mq').first().waitFor();
  await audit(page, 'moderator');
  await page.context().close();
});

test('results by group on the projector, a phone (light and dark) and the console', async () => {
  const created = await api(server.url, 'POST', '/api/sessions', {
    title: 'Accessible forum',
    questions: [
      { kind: 'single', prompt: 'Which group are you?', segment: true, options: ['Governments', 'Civil society', 'Private sector'] },
      { kind: 'single', prompt: 'Should data be open by default?', options: ['Yes', 'No', 'Not sure'] }
    ]
  });
  assert.equal(created.status, 201, created.text);
  const s = created.body;
  const token = s.moderator_token;
  assert.equal((await api(server.url, 'PATCH', `/api/sessions/${s.code}`, { settings: { min_group: 2 } }, token)).status, 200);
  const [seg, q] = (await api(server.url, 'GET', `/api/sessions/${s.code}`, undefined, token)).body.questions.map((x) => x.id);
  const act = (path, body) => api(server.url, 'POST', `/api/sessions/${s.code}${path}`, body || {}, token);
  for (const id of [seg, q]) assert.equal((await act(`/questions/${id}/open`)).status, 200);
  // Two groups of two are shown; the private sector's, empty, is hidden.
  for (const [group, answer] of [[0, 0], [0, 1], [1, 0], [1, 2]]) {
    const p = await api(server.url, 'POST', `/api/sessions/${s.code}/participants`, {});
    for (const [id, choice] of [[seg, group], [q, answer]]) {
      const r = await api(server.url, 'PUT', `/api/sessions/${s.code}/questions/${id}/ballot`, { choice }, p.body.participant_token);
      assert.equal(r.status, 200, r.text);
    }
  }
  assert.equal((await act(`/questions/${q}/breakdown`, { by: seg })).status, 200);
  assert.equal((await act(`/questions/${q}/reveal`)).status, 200);
  assert.equal((await act('/present', { question_id: q })).status, 200);

  const screen = await open(PROJECTOR, `${server.url}/${s.code}/screen`);
  await waitLive(screen);
  await screen.locator('#q-breakdown:not([hidden]) .bd-group.is-suppressed').waitFor();
  await audit(screen, 'projector, by group');
  await screen.context().close();

  for (const scheme of ['light', 'dark']) {
    const phone = await open(Object.assign({ colorScheme: scheme }, PHONE), `${server.url}/${s.code}`);
    await waitLive(phone);
    await phone.locator('.q-breakdown:not([hidden]) .bd-group.is-suppressed').waitFor();
    await phone.locator('.q-breakdown').scrollIntoViewIfNeeded();
    await audit(phone, `phone, by group, ${scheme}`);
    await phone.context().close();
  }

  const mod = await open(DESKTOP, `${server.url}/${s.code}/moderate#token=${encodeURIComponent(token)}`);
  await waitLive(mod);
  await mod.locator('.mq-g-table tr.is-suppressed').first().waitFor();
  // The chooser has a name: its label.
  assert.equal(await mod.locator('.mq-breakdown-select').first().evaluate((n) => n.labels.length), 1);
  await audit(mod, 'moderator, by group');
  await mod.context().close();
});

test('landing page', async () => {
  const page = await open(DESKTOP, `${server.url}/`);
  await page.locator('#join-form').waitFor();
  await audit(page, 'landing');
  await page.context().close();
});

// The language picker's text against its own box, and each of its options against theirs.
// axe-core does not see this: the text of a closed <select> lives in an <option>, which has
// no box of its own, so the audit passed while the picker was white text on a white box.
// A background with transparency is laid over its ancestors' backgrounds (all plain colours).
async function pickerContrast(page) {
  return page.evaluate(() => {
    function rgba(value) {
      const m = /rgba?\(([^)]+)\)/.exec(value);
      if (!m) throw new Error('not a colour: ' + value);
      const p = m[1].split(/[\s,/]+/).filter(Boolean).map(Number);
      return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
    }
    function over(top, under) {
      const a = top.a + under.a * (1 - top.a);
      if (!a) return { r: 0, g: 0, b: 0, a: 0 };
      const mix = (k) => (top[k] * top.a + under[k] * under.a * (1 - top.a)) / a;
      return { r: mix('r'), g: mix('g'), b: mix('b'), a };
    }
    // The colour behind node's text: its background over those of its ancestors.
    function backdrop(node) {
      const layers = [];
      for (let n = node; n && n.nodeType === 1; n = n.parentElement) {
        const cs = getComputedStyle(n);
        const bg = rgba(cs.backgroundColor);
        if (bg.a > 0) layers.push(bg);
        if (bg.a >= 1) break;
        if (cs.backgroundImage !== 'none') throw new Error(`${n.tagName}.${n.className}: an image or gradient under the picker: cannot measure`);
      }
      let colour = { r: 255, g: 255, b: 255, a: 1 };   // the canvas
      for (let i = layers.length - 1; i >= 0; i--) colour = over(layers[i], colour);
      return colour;
    }
    function luminance(c) {
      const lin = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
      return 0.2126 * lin(c.r) + 0.7152 * lin(c.g) + 0.0722 * lin(c.b);
    }
    function ratio(fg, bg) {
      const text = over(fg, bg);
      const [hi, lo] = [luminance(text), luminance(bg)].sort((x, y) => y - x);
      return Math.round(((hi + 0.05) / (lo + 0.05)) * 100) / 100;
    }
    const select = document.querySelector('select#lang');
    const cs = getComputedStyle(select);
    const box = select.getBoundingClientRect();
    const bg = backdrop(select);
    const fill = cs.webkitTextFillColor && cs.webkitTextFillColor !== cs.color ? cs.webkitTextFillColor : cs.color;
    return {
      visible: !select.hidden && box.width > 0 && box.height > 0 && cs.visibility === 'visible',
      text: select.options[select.selectedIndex] ? select.options[select.selectedIndex].textContent : '',
      picker: ratio(rgba(fill), bg),
      // An option with no background of its own shows on the picker's.
      options: Array.prototype.map.call(select.options, (o) => {
        const ocs = getComputedStyle(o);
        const obg = rgba(ocs.backgroundColor);
        return [o.textContent, ratio(rgba(ocs.color), obg.a >= 1 ? obg : over(obg, bg))];
      })
    };
  });
}

test('the language picker is readable on every view, at desktop and phone widths, light and dark', async () => {
  const desktop = { viewport: { width: 1280, height: 800 } };
  const consoleUrl = `${server.url}/${session.code}/moderate#token=${encodeURIComponent(session.moderator_token)}`;
  const cases = [
    ['start page at 1280×800', desktop, `${server.url}/`],
    ['start page on a phone', PHONE, `${server.url}/`],
    ['console at 1280×800', desktop, consoleUrl],
    ['console on a phone', PHONE, consoleUrl],
    ['phone', PHONE, `${server.url}/${session.code}`],
    ['phone in dark mode', Object.assign({ colorScheme: 'dark' }, PHONE), `${server.url}/${session.code}`],
    ['start page in dark mode at 1280×800', Object.assign({ colorScheme: 'dark' }, desktop), `${server.url}/`],
    ['projector at 1280×800', desktop, `${server.url}/${session.code}/screen`]
  ];
  for (const [where, options, url] of cases) {
    const context = await browser.newContext(options);
    const page = await context.newPage();
    await page.goto(url);
    await page.locator('select#lang:not([hidden]) option').first().waitFor({ state: 'attached' });
    // The console on a phone folds its header, the picker with it, behind its menu.
    if (await page.locator('#menu-toggle').isVisible()) await page.click('#menu-toggle');
    const got = await pickerContrast(page);
    assert.ok(got.visible, `${where}: the picker is shown`);
    assert.equal(got.text, 'English', `${where}: the picker shows the language`);
    assert.ok(got.picker >= 4.5, `${where}: the picker's text contrast is ${got.picker}:1, under 4.5:1`);
    for (const [name, r] of got.options) {
      assert.ok(r >= 4.5, `${where}: option ${name} has a contrast of ${r}:1, under 4.5:1`);
    }
    await context.close();
  }
});

test('the public summary, on a laptop and on a phone, light and dark', async () => {
  const created = await api(server.url, 'POST', '/api/sessions', {
    title: 'Summary of an accessible room',
    settings: { public_summary: true, min_group: 1 },
    questions: [
      { kind: 'single', prompt: 'Which group are you?', segment: true, options: ['Government', 'Civil society'] },
      { kind: 'single', prompt: 'Support the text?', options: ['Yes', 'No'] },
      { kind: 'scale', prompt: 'How urgent?', min: 1, max: 5 }
    ]
  });
  assert.equal(created.status, 201, created.text);
  const s = created.body;
  const mod = (method, path, body) => api(server.url, method, `/api/sessions/${s.code}${path}`, body, s.moderator_token);
  const ids = (await mod('GET', '')).body.questions.map((q) => q.id);
  for (const id of ids) assert.equal((await mod('POST', `/questions/${id}/open`, {})).status, 200);
  for (const [group, yes, urgency] of [[0, 0, 4], [1, 1, 2], [1, 0, 5]]) {
    const p = await api(server.url, 'POST', `/api/sessions/${s.code}/participants`, {});
    for (const [i, choice] of [[0, group], [1, yes], [2, urgency]]) {
      const r = await api(server.url, 'PUT', `/api/sessions/${s.code}/questions/${ids[i]}/ballot`, { choice }, p.body.participant_token);
      assert.equal(r.status, 200, r.text);
    }
  }
  assert.equal((await mod('POST', `/questions/${ids[1]}/breakdown`, { by: ids[0] })).status, 200);
  for (const id of ids) {
    assert.equal((await mod('POST', `/questions/${id}/close`, {})).status, 200);
    assert.equal((await mod('POST', `/questions/${id}/reveal`, {})).status, 200);
  }
  for (const [options, label] of [[DESKTOP, 'summary'], [PHONE, 'summary on a phone']]) {
    for (const scheme of ['light', 'dark']) {
      const page = await open(Object.assign({ colorScheme: scheme }, options), `${server.url}/${s.code}/summary`);
      await page.locator('.sum-table').waitFor();
      await audit(page, `${label} (${scheme})`);
      await page.context().close();
    }
  }
});
