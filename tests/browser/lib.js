'use strict';
// Helpers for the browser tests: start the real server binary, drive Debian's Chromium.

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const assert = require('node:assert/strict');
const { chromium } = require('playwright-core');

const BIN = process.env.HANDSUP_BIN
  ? path.resolve(process.env.HANDSUP_BIN)
  : path.resolve(__dirname, '../../target/debug/handsup');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const SCREENSHOTS = path.join(__dirname, 'screenshots');

const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };
const PROJECTOR = { viewport: { width: 1920, height: 1080 } };
const DESKTOP = { viewport: { width: 1440, height: 1000 } };

// Starts `handsup serve --addr 127.0.0.1:0 --in-memory` and waits for its "listening on" line.
function startServer() {
  if (!fs.existsSync(BIN)) {
    throw new Error(`server binary not found at ${BIN}: build it (cargo build) or set HANDSUP_BIN`);
  }
  const child = spawn(BIN, ['serve', '--addr', '127.0.0.1:0', '--in-memory'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: Object.assign({}, process.env, { RUST_LOG: process.env.RUST_LOG || 'warn' })
  });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('server did not print "listening on" within 20 s; output:\n' + output));
    }, 20000);
    function onData(chunk) {
      output += chunk.toString();
      const m = /listening on (https?:\/\/[^\s]+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        child.stdout.off('data', onData);
        // Keep draining the pipes so the server never blocks on a full pipe.
        child.stdout.on('data', () => {});
        resolve({
          url: m[1].replace(/\/$/, ''),
          process: child,
          logs: () => output,
          stop: () => new Promise((done) => {
            if (child.exitCode !== null || child.signalCode !== null) return done();
            child.once('exit', () => done());
            child.kill('SIGTERM');
            setTimeout(() => { if (child.exitCode === null) child.kill('SIGKILL'); }, 3000).unref();
          })
        });
      }
    }
    child.stdout.on('data', onData);
    child.stderr.on('data', (chunk) => { output += chunk.toString(); });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`server exited early (${code === null ? signal : code}); output:\n${output}`));
    });
  });
}

async function launchBrowser() {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install -y chromium, or set CHROMIUM_PATH`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'
    ]
  });
}

// Opens a page in a fresh context and records script errors and CSP violations.
async function openPage(browser, options, url) {
  const context = await browser.newContext(options);
  const page = await context.newPage();
  page.problems = [];
  page.on('pageerror', (err) => page.problems.push('page error: ' + err.message));
  page.on('console', (msg) => {
    const text = msg.text();
    if (msg.type() === 'error' && /Content Security Policy|Refused to/i.test(text)) {
      page.problems.push('CSP: ' + text);
    }
  });
  if (url) await page.goto(url);
  return page;
}

function assertNoProblems(page, label) {
  assert.deepEqual(page.problems, [], `${label || 'page'} had script errors or CSP violations`);
}

async function api(base, method, path, body, token) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = 'Bearer ' + token;
  const res = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch (e) { json = null; }
  return { status: res.status, body: json, text };
}

// Retries fn until it stops throwing (an assertion that becomes true), or rethrows after timeout.
async function eventually(fn, timeout = 10000, interval = 100) {
  const end = Date.now() + timeout;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > end) throw err;
      await new Promise((r) => setTimeout(r, interval));
    }
  }
}

async function screenshot(page, name) {
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, name + '.png') });
}

// Waits until the page's connection badge says the socket is live.
async function waitLive(page) {
  await page.locator('#conn[data-state="open"]').waitFor({ state: 'attached', timeout: 15000 });
}

module.exports = {
  BIN, PHONE, PROJECTOR, DESKTOP,
  startServer, launchBrowser, openPage, assertNoProblems, api, eventually, screenshot, waitLive
};
