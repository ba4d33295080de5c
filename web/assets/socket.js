// The page's WebSocket to the server: hello and welcome, refs and acks,
// reconnection with backoff, and a dead link noticed when acks stop coming.
// A page makes one Socket; the other scripts of the page (the Q&A, the
// remote) follow its messages with onSocketMessage() and send on it with
// sendOnSocket().

import { on } from './dom.js';
import { clock } from './time.js';

// The page's socket, and the scripts that follow its messages.
let pageSocket = null;
const followers = [];

// fn(msg) for every message the page's socket receives, after the page itself.
export function onSocketMessage(fn) { followers.push(fn); }

// Sends msg on the page's socket: see Socket.send.
export function sendOnSocket(msg, cb) { return pageSocket ? pageSocket.send(msg, cb) : null; }

// The token the page's socket says hello with, if any.
export function socketToken() {
  const source = pageSocket && pageSocket.tokenSource;
  return typeof source === 'function' ? source() : source;
}

// Every script of the page has run once DOMContentLoaded fires. Until then a
// message could reach the page before a script that follows it (the Q&A) listens:
// a welcome handled before qa-audience.js ran left the phone without its
// Questions tab for good.
let scriptsRun = document.readyState === 'complete';
let whenScriptsRun = [];
function scriptsHaveRun() {
  if (scriptsRun) return;
  scriptsRun = true;
  const fns = whenScriptsRun;
  whenScriptsRun = [];
  fns.forEach(function (fn) { fn(); });
}
if (!scriptsRun) {
  document.addEventListener('DOMContentLoaded', scriptsHaveRun);
  window.addEventListener('load', scriptsHaveRun);
}

/* new Socket({code, role, token: fn|string, onMessage(msg), onState(state, info)})
 * state: 'connecting' | 'open' (welcomed) | 'waiting' (between attempts) | 'fatal' | 'ended'
 * Reconnects with exponential backoff and full jitter. */
export class Socket {
  constructor(opts) {
    this.code = opts.code;
    this.role = opts.role;
    this.tokenSource = opts.token;
    this.onMessage = opts.onMessage || function () {};
    this.onState = opts.onState || function () {};
    this.openTimeoutMs = opts.openTimeoutMs || 5000;
    // No answer to a message within this time: the link is dead (weak Wi-Fi), start over.
    this.ackTimeoutMs = opts.ackTimeoutMs || 10000;
    this.ackTimer = null;
    this.baseDelay = opts.baseDelay || 500;
    this.maxDelay = opts.maxDelay || 30000;
    this.ws = null;
    this.state = 'idle';
    this.failures = 0;          // consecutive attempts that did not reach welcome
    this.lastCloseCode = null;
    this.refCounter = 0;
    this.waiting = {};          // ref -> {cb(err, msg), at}
    this.retryTimer = null;
    this.openTimer = null;
    this.stopped = false;
    this.startQueued = false;
    this.nextDelay = 0;
    this.retryAt = 0;
    pageSocket = this;
  }

  url() {
    const proto = window.location.protocol === 'https:' ? 'wss' : 'ws';
    return proto + '://' + window.location.host + '/ws/' + this.code;
  }

  setState(state, info) {
    this.state = state;
    this.onState(state, info || {});
  }

  // Connects once every script of the page has run, so every follower sees the welcome.
  start() {
    const self = this;
    this.stopped = false;
    if (!scriptsRun) {
      if (!this.startQueued) {
        this.startQueued = true;
        whenScriptsRun.push(function () { self.startQueued = false; if (!self.stopped) self.start(); });
      }
      return;
    }
    if (this.state === 'idle' || this.state === 'waiting') this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.openTimer);
    if (this.ws) { try { this.ws.close(1000); } catch (e) { /* ignore */ } }
  }

  isOpen() { return this.state === 'open'; }

  connect() {
    const self = this;
    clearTimeout(this.retryTimer);
    if (this.stopped || this.state === 'fatal' || this.state === 'ended') return;
    if (this.ws && (this.state === 'connecting' || this.state === 'open')) return;
    this.setState('connecting', { attempt: this.failures + 1 });
    let ws;
    try {
      ws = new WebSocket(this.url());
    } catch (e) {
      this.ws = null;
      this.failed(null);
      return;
    }
    this.ws = ws;
    let welcomed = false;
    this.openTimer = setTimeout(function () {
      if (!welcomed && self.ws === ws) { try { ws.close(); } catch (e) { /* ignore */ } self.detach(ws, null); }
    }, this.openTimeoutMs);

    ws.onopen = function () {
      if (self.ws !== ws) return;
      const hello = { type: 'hello', role: self.role };
      const token = typeof self.tokenSource === 'function' ? self.tokenSource() : self.tokenSource;
      if (token) hello.token = token;
      ws.send(JSON.stringify(hello));
    };

    ws.onmessage = function (ev) {
      if (self.ws !== ws) return;
      let msg;
      try { msg = JSON.parse(ev.data); } catch (e) { return; }
      if (!msg || typeof msg !== 'object') return;
      if (msg.type === 'welcome') {
        welcomed = true;
        clearTimeout(self.openTimer);
        self.failures = 0;
        if (typeof msg.server_time === 'number') clock.setServerTime(msg.server_time);
        self.setState('open');
      }
      if (msg.type === 'ended') {
        self.setState('ended');
      }
      if ((msg.type === 'ack' || msg.type === 'error') && msg.ref && self.waiting[msg.ref]) {
        const cb = self.waiting[msg.ref].cb;
        delete self.waiting[msg.ref];
        self.armAckTimer();
        try {
          cb(msg.type === 'error' ? { code: msg.code, message: msg.message } : null, msg);
        } catch (e) { console.error(e); }
      }
      if (msg.type === 'error' && (msg.code === 'unauthorized' || msg.code === 'forbidden') && !welcomed) {
        // forbidden: a token that is good, but whose role opens no socket (a results link).
        self.setState('fatal', { reason: msg.code });
      }
      self.onMessage(msg);
      if (self === pageSocket) {
        // A follower's mistake shows as the page's error, and the others still get the message.
        followers.forEach(function (fn) { try { fn(msg); } catch (e) { report(e); } });
      }
    };

    ws.onclose = function (ev) {
      self.detach(ws, ev);
    };
    ws.onerror = function () { /* a close event follows */ };
  }

  detach(ws, ev) {
    if (this.ws !== ws) return;
    this.ws = null;
    clearTimeout(this.openTimer);
    ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
    clearTimeout(this.ackTimer);
    this.ackTimer = null;
    const waiting = this.waiting;
    this.waiting = {};
    Object.keys(waiting).forEach(function (ref) {
      try { waiting[ref].cb({ code: 'disconnected', message: 'Connection lost' }, null); } catch (e) { /* ignore */ }
    });
    const code = ev ? ev.code : null;
    this.lastCloseCode = code;
    if (this.state === 'ended') return;
    if (this.state === 'fatal') return;
    if (code === 4401 || code === 4403) {
      this.setState('fatal', { reason: code === 4403 ? 'forbidden' : 'unauthorized', code: code });
      return;
    }
    if (this.stopped) { this.state = 'idle'; return; }
    this.failed(code);
  }

  failed(code) {
    const self = this;
    this.failures += 1;
    const ceiling = Math.min(this.maxDelay, this.baseDelay * Math.pow(2, this.failures - 1));
    let delay = Math.round(ceiling / 2 + Math.random() * ceiling / 2);
    if (code === 1013 || code === 1008) delay = Math.max(delay, 1500 + Math.random() * 1500);
    this.nextDelay = delay;
    this.retryAt = Date.now() + delay;
    this.setState('waiting', { failures: this.failures, delay: delay, code: code });
    this.retryTimer = setTimeout(function () { self.connect(); }, delay);
  }

  // Try again now (network back, tab visible again).
  kick() {
    if (this.state === 'waiting') this.connect();
  }

  nextRef() {
    this.refCounter += 1;
    return 'r' + this.refCounter.toString(36) + '-' + Math.random().toString(36).slice(2, 6);
  }

  // Sends msg (with a fresh ref). cb(err, reply) is called on ack / error / disconnect.
  // Returns the ref, or null when the socket is not open (cb is then not called).
  send(msg, cb) {
    if (this.state !== 'open' || !this.ws) return null;
    const ref = this.nextRef();
    msg.ref = ref;
    if (cb) this.waiting[ref] = { cb: cb, at: Date.now() };
    try {
      this.ws.send(JSON.stringify(msg));
    } catch (e) {
      delete this.waiting[ref];
      return null;
    }
    this.armAckTimer();
    return ref;
  }

  // Watches the oldest unanswered message; a silent server means a dead link.
  armAckTimer() {
    const self = this;
    clearTimeout(this.ackTimer);
    this.ackTimer = null;
    let oldest = null;
    Object.keys(this.waiting).forEach(function (ref) {
      const at = self.waiting[ref].at;
      if (oldest === null || at < oldest) oldest = at;
    });
    if (oldest === null) return;
    const ws = this.ws;
    this.ackTimer = setTimeout(function () {
      if (self.ws !== ws || !ws) return;
      try { ws.close(); } catch (e) { /* ignore */ }
      self.detach(ws, null);
    }, Math.max(0, oldest + this.ackTimeoutMs - Date.now()));
  }
}

function report(e) {
  if (typeof window.reportError === 'function') window.reportError(e);
  else setTimeout(function () { throw e; });
}

// Reconnect promptly when the network or the tab comes back.
export function watchNetwork(sock) {
  on(window, 'online', function () { sock.kick(); });
  on(document, 'visibilitychange', function () {
    if (document.visibilityState === 'visible') sock.kick();
  });
}
