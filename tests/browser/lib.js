'use strict';
// Helpers for the browser tests: start the real server binary, drive Debian's Chromium.

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
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
// `options.args` adds command-line arguments; with `--redis URL` among them (cluster mode) the
// node keeps no journal of its own, and with `--data-dir DIR` it keeps its journal there: in
// both, `--in-memory` is left out.
function startServer(options = {}) {
  if (!fs.existsSync(BIN)) {
    throw new Error(`server binary not found at ${BIN}: build it (cargo build) or set HANDSUP_BIN`);
  }
  const extra = options.args || [];
  const cluster = extra.some((a) => a === '--redis' || a.startsWith('--redis='));
  const journal = extra.some((a) => a === '--data-dir' || a.startsWith('--data-dir='));
  const args = ['serve', '--addr', '127.0.0.1:0'].concat(cluster || journal ? [] : ['--in-memory'], extra);
  const child = spawn(BIN, args, {
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

const REDIS_SERVER = process.env.REDIS_SERVER || 'redis-server';

// A free loopback port: listen on port 0, read the port, close.
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// Resolves once something accepts TCP connections on 127.0.0.1:port, or rejects after `timeout`.
async function waitForPort(port, timeout, isDead) {
  const end = Date.now() + timeout;
  for (;;) {
    const ok = await new Promise((resolve) => {
      const sock = net.connect({ host: '127.0.0.1', port });
      sock.once('connect', () => { sock.destroy(); resolve(true); });
      sock.once('error', () => { sock.destroy(); resolve(false); });
    });
    if (ok) return;
    const dead = isDead && isDead();
    if (dead) throw new Error(dead);
    if (Date.now() > end) throw new Error(`nothing accepted connections on 127.0.0.1:${port} within ${timeout} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// Starts a throwaway redis-server (REDIS_SERVER, default `redis-server` on the PATH) on a free
// loopback port, with its append-only file fsynced on every write in a fresh temporary directory.
// Returns {url, port, dir, logs(), stop(), start()}: stop() sends SIGTERM and waits for the exit,
// start() starts it again on the same port and directory (so the data comes back).
async function startRedis() {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'handsup-redis-'));
  const args = [
    '--port', String(port), '--bind', '127.0.0.1', '--save', '',
    '--appendonly', 'yes', '--appendfsync', 'always', '--dir', dir
  ];
  let child = null;
  let output = '';

  async function start() {
    if (child && child.exitCode === null && child.signalCode === null) return;
    const proc = spawn(REDIS_SERVER, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    let failure = null;
    proc.once('error', (err) => {
      failure = err.code === 'ENOENT'
        ? `redis-server not found (${REDIS_SERVER}): run scripts/deps (apt-get install redis-server), or set REDIS_SERVER`
        : `cannot start ${REDIS_SERVER}: ${err.message}`;
    });
    proc.once('exit', (code, signal) => {
      if (!failure) failure = `redis-server exited early (${code === null ? signal : code}); output:\n${output}`;
    });
    const from = output.length;
    proc.stdout.on('data', (chunk) => { output += chunk.toString(); });
    proc.stderr.on('data', (chunk) => { output += chunk.toString(); });
    try {
      // This process's "ready" line, so that another listener on the port cannot pass for it.
      const end = Date.now() + 10000;
      while (!/Ready to accept connections/.test(output.slice(from))) {
        if (failure) throw new Error(failure);
        if (Date.now() > end) throw new Error(`redis-server was not ready within 10 s; output:\n${output}`);
        await new Promise((r) => setTimeout(r, 25));
      }
      await waitForPort(port, 10000, () => failure);
    } catch (err) {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      throw err;
    }
  }

  function stop() {
    const proc = child;
    return new Promise((done) => {
      if (!proc || proc.exitCode !== null || proc.signalCode !== null) return done();
      proc.once('exit', () => done());
      proc.kill('SIGTERM');
      setTimeout(() => { if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL'); }, 5000).unref();
    });
  }

  try {
    await start();
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    logs: () => output,
    start,
    stop,
    // Stops it and removes its directory: for `after`.
    destroy: async () => {
      await stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  };
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
  startServer, startRedis, launchBrowser, openPage, assertNoProblems, api, eventually, screenshot, waitLive
};
