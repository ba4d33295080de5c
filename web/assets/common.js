/* handsup: shared helpers for every page.
 * Plain ES2017, no modules: everything hangs off window.Handsup.
 * User text (titles, prompts, options, answers) is only ever set with
 * textContent / createElement, never parsed as HTML. */
(function () {
  'use strict';

  var H = {};

  /* ------------------------------------------------------------ DOM */

  H.$ = function (sel, root) { return (root || document).querySelector(sel); };
  H.$$ = function (sel, root) {
    return Array.prototype.slice.call((root || document).querySelectorAll(sel));
  };

  // H.el('button', {className: 'x', text: 'Hi', type: 'button', dataset: {a: 1}}, [children])
  H.el = function (tag, props, children) {
    var node = document.createElement(tag);
    if (props) {
      Object.keys(props).forEach(function (k) {
        var v = props[k];
        if (v === undefined || v === null || v === false) return;
        if (k === 'text') node.textContent = String(v);
        else if (k === 'className') node.className = v;
        else if (k === 'dataset') Object.keys(v).forEach(function (d) { node.dataset[d] = v[d]; });
        else if (k === 'hidden') node.hidden = !!v;
        else if (k === 'disabled') node.disabled = !!v;
        else if (k === 'checked') node.checked = !!v;
        else if (k === 'value') node.value = v;
        else node.setAttribute(k, v === true ? '' : String(v));
      });
    }
    if (children) {
      children.forEach(function (c) {
        if (c === null || c === undefined || c === false) return;
        node.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
      });
    }
    return node;
  };

  H.clear = function (node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  };

  H.setText = function (node, text) {
    text = text === undefined || text === null ? '' : String(text);
    if (node.textContent !== text) node.textContent = text;
  };

  H.on = function (node, ev, fn, opts) { node.addEventListener(ev, fn, opts || false); };

  // Removes from the page, and forgets, the list rows ({li}) whose id was not
  // seen in the render that just ran.
  H.dropUnseen = function (rows, seen) {
    Object.keys(rows).forEach(function (id) {
      if (seen[id]) return;
      if (rows[id].li.parentNode) rows[id].li.parentNode.removeChild(rows[id].li);
      delete rows[id];
    });
  };

  /* ------------------------------------------------------ storage */

  H.store = {
    get: function (key) {
      try { return window.localStorage.getItem(key); } catch (e) { return null; }
    },
    set: function (key, value) {
      try { window.localStorage.setItem(key, value); } catch (e) { /* private mode */ }
    },
    remove: function (key) {
      try { window.localStorage.removeItem(key); } catch (e) { /* ignore */ }
    },
    getJSON: function (key, fallback) {
      var raw = H.store.get(key);
      if (!raw) return fallback;
      try { return JSON.parse(raw); } catch (e) { return fallback; }
    },
    setJSON: function (key, value) { H.store.set(key, JSON.stringify(value)); }
  };

  // Sessions a chair chose to remember on this computer, so the start page can list them.
  // Each entry holds the session's moderator token: the console asks before keeping one
  // (a shared venue PC), and nothing else stores them.
  var SESSIONS_KEY = 'handsup:sessions';

  H.rememberedSessions = function () {
    var list = H.store.getJSON(SESSIONS_KEY, []);
    if (!Array.isArray(list)) return [];
    return list.filter(function (s) { return s && /^\d{6}$/.test(s.code || '') && s.token; });
  };

  H.isRemembered = function (code) {
    return H.rememberedSessions().some(function (s) { return s.code === code; });
  };

  H.rememberSession = function (entry) {
    if (!entry || !/^\d{6}$/.test(entry.code || '') || !entry.token) return;
    var list = H.rememberedSessions().filter(function (s) { return s.code !== entry.code; });
    list.unshift({
      code: entry.code,
      title: String(entry.title || '').slice(0, 200),
      token: entry.token,
      at: entry.at || Date.now()
    });
    H.store.setJSON(SESSIONS_KEY, list.slice(0, 30));
  };

  H.forgetSession = function (code) {
    var rest = H.rememberedSessions().filter(function (s) { return s.code !== code; });
    if (rest.length) H.store.setJSON(SESSIONS_KEY, rest);
    else H.store.remove(SESSIONS_KEY);
  };

  H.forgetAllSessions = function () { H.store.remove(SESSIONS_KEY); };

  // fn() when another tab of this browser remembers or forgets a session.
  H.onSessionsChange = function (fn) {
    H.on(window, 'storage', function (ev) {
      if (ev.key === null || ev.key === SESSIONS_KEY) fn();
    });
  };

  /* ------------------------------------------------------ session code */

  H.codeFromPath = function () {
    var m = /^\/(\d{6})(?:\/|$)/.exec(window.location.pathname);
    return m ? m[1] : null;
  };

  H.spacedCode = function (code) {
    code = String(code || '');
    return code.length === 6 ? code.slice(0, 3) + ' ' + code.slice(3) : code;
  };

  H.letter = function (i) {
    if (i < 26) return String.fromCharCode(65 + i);
    return String.fromCharCode(65 + Math.floor(i / 26) - 1) + String.fromCharCode(65 + (i % 26));
  };

  /* ------------------------------------------------------ colours */

  // The option colours, from palette.js (shared with the printable report).
  H.PALETTE = window.HANDSUP_PALETTE;

  var colourCtx = null;
  // Normalise any CSS colour to [r, g, b] (0..255), or null when it is not a colour.
  H.parseColour = function (value) {
    if (typeof value !== 'string' || !value || value.length > 64) return null;
    var m = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(value.trim());
    if (m) {
      var hex = m[1];
      if (hex.length === 3) hex = hex.replace(/(.)/g, '$1$1');
      return [parseInt(hex.slice(0, 2), 16), parseInt(hex.slice(2, 4), 16), parseInt(hex.slice(4, 6), 16)];
    }
    if (!/^[a-z]+$|^rgba?\([\d\s.,%]+\)$|^hsla?\([\d\s.,%deg]+\)$/i.test(value.trim())) return null;
    try {
      if (!colourCtx) colourCtx = document.createElement('canvas').getContext('2d');
      if (!colourCtx) return null;
      colourCtx.fillStyle = '#010203';
      colourCtx.fillStyle = value;
      var out = colourCtx.fillStyle;
      if (out === '#010203') return null;
      if (out.charAt(0) === '#') return H.parseColour(out);
      var nums = out.match(/[\d.]+/g);
      if (!nums || nums.length < 3) return null;
      return [Math.round(+nums[0]), Math.round(+nums[1]), Math.round(+nums[2])];
    } catch (e) {
      return null;
    }
  };

  function channel(c) {
    c = c / 255;
    return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
  }

  H.luminance = function (rgb) {
    return 0.2126 * channel(rgb[0]) + 0.7152 * channel(rgb[1]) + 0.0722 * channel(rgb[2]);
  };

  // Black or white, whichever contrasts more with the background.
  H.textColourFor = function (bg) {
    var rgb = Array.isArray(bg) ? bg : H.parseColour(bg);
    if (!rgb) return '#000';
    var l = H.luminance(rgb);
    var withWhite = 1.05 / (l + 0.05);
    var withBlack = (l + 0.05) / 0.05;
    return withBlack >= withWhite ? '#000' : '#fff';
  };

  // {bg, fg} for option i of question q.
  H.optionColour = function (q, i) {
    var custom = q && Array.isArray(q.colours) ? q.colours[i] : null;
    var rgb = custom ? H.parseColour(custom) : null;
    var bg = rgb ? 'rgb(' + rgb.join(',') + ')' : H.PALETTE[i % H.PALETTE.length];
    return { bg: bg, fg: H.textColourFor(rgb || bg) };
  };

  H.paint = function (node, colour) {
    node.style.backgroundColor = colour.bg;
    node.style.color = colour.fg;
  };

  /* ------------------------------------------------------ languages */

  H.KIND_NAMES = {
    single: 'Single choice',
    multiple: 'Multiple choice',
    scale: 'Scale',
    wordcloud: 'Word cloud',
    open: 'Open answer',
    ranking: 'Ranking'
  };

  H.preferredLanguages = function () {
    var chosen = H.store.get('handsup:lang');
    var list = [];
    if (chosen) list.push(chosen);
    var nav = window.navigator.languages && window.navigator.languages.length
      ? window.navigator.languages : [window.navigator.language || ''];
    for (var i = 0; i < nav.length; i++) if (nav[i]) list.push(nav[i]);
    return list;
  };

  // The translation tag of q that best fits the wanted languages, or null for the original.
  H.pickLanguage = function (q, wanted) {
    var tr = q && q.translations;
    if (!tr || typeof tr !== 'object') return null;
    var tags = Object.keys(tr);
    if (!tags.length) return null;
    for (var i = 0; i < wanted.length; i++) {
      var w = String(wanted[i]).toLowerCase();
      if (w === 'original') return null;
      for (var j = 0; j < tags.length; j++) if (tags[j].toLowerCase() === w) return tags[j];
      var primary = w.split('-')[0];
      for (j = 0; j < tags.length; j++) {
        if (tags[j].toLowerCase().split('-')[0] === primary) return tags[j];
      }
    }
    return null;
  };

  // {prompt, options, lang} of q in the wanted languages (falls back to the original text).
  H.localize = function (q, wanted) {
    var out = { prompt: q.prompt || '', options: Array.isArray(q.options) ? q.options : [], lang: null };
    var tag = wanted ? H.pickLanguage(q, wanted) : null;
    if (!tag) return out;
    var t = q.translations[tag] || {};
    if (typeof t.prompt === 'string' && t.prompt) out.prompt = t.prompt;
    if (Array.isArray(t.options) && t.options.length === out.options.length) {
      out.options = out.options.map(function (o, i) {
        return typeof t.options[i] === 'string' && t.options[i] ? t.options[i] : o;
      });
    }
    out.lang = tag;
    return out;
  };

  H.languageName = function (tag) {
    try {
      if (window.Intl && Intl.DisplayNames) {
        var name = new Intl.DisplayNames([tag], { type: 'language' }).of(tag);
        if (name) return name;
      }
    } catch (e) { /* unknown tag */ }
    return tag;
  };

  /* ------------------------------------------------------ interface language */

  /* The interface text. A key is the English text itself, so English needs no
   * catalogue: a missing key (or a missing catalogue) shows the English. The
   * other languages are flat files in /assets/i18n/ (see its README); only the
   * chosen one is fetched. Placeholders look like {n}. */
  var I18N = {
    // The languages of the interface: add a code here once its file exists.
    LANGS: ['en', 'fr', 'es'],
    NAMES: { en: 'English', fr: 'Français', es: 'Español' },
    lang: 'en',
    dict: {},
    listeners: [],
    extra: [],
    pickers: []
  };
  H.i18n = I18N;

  H.t = function (key, params) {
    var s = Object.prototype.hasOwnProperty.call(I18N.dict, key) && typeof I18N.dict[key] === 'string' && I18N.dict[key]
      ? I18N.dict[key] : key;
    if (params) {
      s = s.replace(/\{(\w+)\}/g, function (m, name) {
        return Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : m;
      });
    }
    return s;
  };

  // The interface language in a list of wanted tags, or null.
  I18N.match = function (tag) {
    var primary = String(tag || '').toLowerCase().split('-')[0];
    return I18N.LANGS.indexOf(primary) !== -1 ? primary : null;
  };

  // The chosen language (handsup:lang), else the browser's first supported one, else English.
  I18N.pick = function () {
    var wanted = H.preferredLanguages();
    for (var i = 0; i < wanted.length; i++) {
      var m = I18N.match(wanted[i]);
      if (m) return m;
    }
    return 'en';
  };

  I18N.onChange = function (fn) { I18N.listeners.push(fn); };

  // Sets the static text of the page: [data-i18n] elements (their English text is the key)
  // and data-i18n-attr="placeholder aria-label title alt" for those attributes.
  I18N.apply = function (root) {
    H.$$('[data-i18n]', root).forEach(function (node) {
      if (node.i18nKey === undefined) node.i18nKey = node.textContent.replace(/\s+/g, ' ').trim();
      H.setText(node, H.t(node.i18nKey));
    });
    H.$$('[data-i18n-attr]', root).forEach(function (node) {
      if (!node.i18nAttrs) {
        node.i18nAttrs = {};
        node.getAttribute('data-i18n-attr').split(/\s+/).forEach(function (a) {
          if (a && node.hasAttribute(a)) node.i18nAttrs[a] = node.getAttribute(a);
        });
      }
      Object.keys(node.i18nAttrs).forEach(function (a) { node.setAttribute(a, H.t(node.i18nAttrs[a])); });
    });
  };

  var loadSeq = 0;
  // Switches the interface to lang (fetching its catalogue), then tells the views.
  I18N.use = function (lang) {
    lang = I18N.match(lang) || 'en';
    var seq = ++loadSeq;
    var got = lang === 'en' ? Promise.resolve({}) : fetch('/assets/i18n/' + lang + '.json', { credentials: 'same-origin' })
      .then(function (res) { return res.ok ? res.json() : {}; })
      .catch(function () { return {}; });
    return got.then(function (dict) {
      if (seq !== loadSeq) return;
      I18N.lang = lang;
      I18N.dict = dict && typeof dict === 'object' ? dict : {};
      document.documentElement.lang = lang;
      I18N.apply(document);
      I18N.pickers.forEach(fillPicker);
      I18N.listeners.forEach(function (fn) { try { fn(lang); } catch (e) { if (window.console) console.error(e); } });
    });
  };

  // Question languages that are not interface languages (from the questions' translations).
  I18N.setExtra = function (tags) {
    var extra = (tags || []).filter(function (t) { return I18N.LANGS.indexOf(String(t).toLowerCase()) === -1; }).sort();
    if (extra.join(',') === I18N.extra.join(',')) return;
    I18N.extra = extra;
    I18N.pickers.forEach(fillPicker);
  };

  function fillPicker(select) {
    var chosen = H.store.get('handsup:lang') || I18N.lang;
    H.clear(select);
    I18N.LANGS.concat(I18N.extra).forEach(function (tag) {
      select.appendChild(H.el('option', { value: tag, lang: tag, text: I18N.NAMES[tag] || H.languageName(tag) }));
    });
    select.value = chosen;
    if (select.value !== chosen) select.value = I18N.lang;
  }

  // A language picker in select (a <select> with a <label>); the choice is kept in handsup:lang.
  I18N.picker = function (select) {
    if (!select) return;
    I18N.pickers.push(select);
    fillPicker(select);
    select.hidden = false;
    H.on(select, 'change', function () {
      H.store.set('handsup:lang', select.value);
      I18N.use(I18N.pick());
    });
  };

  // Every page: start in the language of this device (English is there at once).
  I18N.start = function () {
    H.$$('select[data-i18n-picker]').forEach(I18N.picker);
    var lang = I18N.pick();
    if (lang === 'en') { document.documentElement.lang = 'en'; I18N.apply(document); return; }
    I18N.use(lang);
  };
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', I18N.start);
  else I18N.start();

  H.optionLabel = function (opt) {
    if (typeof opt === 'string') return opt;
    if (opt && typeof opt === 'object') return String(opt.label || opt.text || '');
    return '';
  };

  /* ------------------------------------------------------ clock */

  // Server time corrected for this device's clock skew.
  H.clock = {
    skew: 0,
    setServerTime: function (ms) {
      if (typeof ms === 'number' && isFinite(ms)) H.clock.skew = ms - Date.now();
    },
    now: function () { return Date.now() + H.clock.skew; }
  };

  H.formatRemaining = function (ms) {
    var s = Math.max(0, Math.ceil(ms / 1000));
    var m = Math.floor(s / 60);
    s = s % 60;
    return m + ':' + (s < 10 ? '0' : '') + s;
  };

  H.plural = function (n, one, many) { return n + ' ' + (n === 1 ? one : many); };

  H.pct = function (part, whole) {
    if (!whole) return 0;
    return Math.round((part / whole) * 100);
  };

  /* ------------------------------------------------------ HTTP */

  // Resolves {status, ok, body}; rejects only on network failure.
  H.api = function (method, path, body, token) {
    var headers = { 'Accept': 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (token) headers['Authorization'] = 'Bearer ' + token;
    return fetch(path, {
      method: method,
      headers: headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store'
    }).then(function (res) {
      var date = res.headers.get('Date');
      return res.text().then(function (text) {
        var parsed = null;
        if (text) { try { parsed = JSON.parse(text); } catch (e) { parsed = null; } }
        return { status: res.status, ok: res.ok, body: parsed, date: date };
      });
    });
  };

  // Loads the next page of a long Q&A board into `state` (`next`, `total`, `paging`, `items`,
  // `gone`), through `upsert`, then calls `render`. Items the live messages already brought
  // are newer than the page and are kept.
  H.loadQaPage = function (state, code, token, upsert, render) {
    if (state.paging) return;
    state.paging = true;
    render();
    var path = '/api/sessions/' + encodeURIComponent(code) + '/qa?offset=' + state.next + '&limit=100';
    function failed() { H.toast(H.t('Could not load more questions.'), 'error'); }
    H.api('GET', path, undefined, token || undefined).then(function (res) {
      state.paging = false;
      var body = res.body || {};
      if (!res.ok || !Array.isArray(body.items)) {
        failed();
      } else {
        body.items.forEach(function (item) {
          if (item && item.id && !state.items[item.id] && !state.gone[item.id]) upsert(item);
        });
        state.next += body.items.length;
        if (typeof body.total === 'number') state.total = body.total;
        if (!body.items.length) state.next = state.total;
      }
      render();
    }, function () {
      state.paging = false;
      failed();
      render();
    });
  };

  H.apiError = function (res) {
    var err = res && res.body && res.body.error;
    return {
      code: (err && err.code) || (res ? 'http_' + res.status : 'network'),
      message: (err && err.message) || (res ? 'HTTP ' + res.status : 'Network error')
    };
  };

  /* ------------------------------------------------------ WebSocket client */

  /* new H.Socket({code, role, token: fn|string, onMessage(msg), onState(state, info)})
   * state: 'connecting' | 'open' (welcomed) | 'waiting' (between attempts) | 'fatal' | 'ended'
   * Reconnects with exponential backoff and full jitter. */
  function Socket(opts) {
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
    this.waiting = {};           // ref -> callback(err, msg)
    this.retryTimer = null;
    this.openTimer = null;
    this.stopped = false;
    this.nextDelay = 0;
    this.retryAt = 0;
    // The page's socket, for add-on views: window.handsupSend(msg, cb) -> ref or null.
    var self = this;
    H.socket = this;
    window.handsupSend = function (msg, cb) { return self.send(msg, cb); };
  }

  Socket.prototype.url = function () {
    var proto = window.location.protocol === 'https:' ? 'wss' : 'ws';
    return proto + '://' + window.location.host + '/ws/' + this.code;
  };

  Socket.prototype.setState = function (state, info) {
    this.state = state;
    this.onState(state, info || {});
  };

  // The page's scripts (deferred) have all run once DOMContentLoaded fires. Until then a
  // message could reach the page before an add-on view (the Q&A) listens for it: a welcome
  // handled before qa-audience.js ran left the phone without its Questions tab for good.
  var scriptsRun = document.readyState === 'complete';
  var whenScriptsRun = [];
  function scriptsHaveRun() {
    if (scriptsRun) return;
    scriptsRun = true;
    var fns = whenScriptsRun;
    whenScriptsRun = [];
    fns.forEach(function (fn) { fn(); });
  }
  if (!scriptsRun) {
    document.addEventListener('DOMContentLoaded', scriptsHaveRun);
    window.addEventListener('load', scriptsHaveRun);
  }

  // Connects once every script of the page has run, so every listener sees the welcome.
  Socket.prototype.start = function () {
    var self = this;
    this.stopped = false;
    if (!scriptsRun) {
      if (!this.startQueued) {
        this.startQueued = true;
        whenScriptsRun.push(function () { self.startQueued = false; if (!self.stopped) self.start(); });
      }
      return;
    }
    if (this.state === 'idle' || this.state === 'waiting') this.connect();
  };

  Socket.prototype.stop = function () {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.openTimer);
    if (this.ws) { try { this.ws.close(1000); } catch (e) { /* ignore */ } }
  };

  Socket.prototype.isOpen = function () { return this.state === 'open'; };

  Socket.prototype.connect = function () {
    var self = this;
    clearTimeout(this.retryTimer);
    if (this.stopped || this.state === 'fatal' || this.state === 'ended') return;
    if (this.ws && (this.state === 'connecting' || this.state === 'open')) return;
    this.setState('connecting', { attempt: this.failures + 1 });
    var ws;
    try {
      ws = new WebSocket(this.url());
    } catch (e) {
      this.ws = null;
      this.failed(null);
      return;
    }
    this.ws = ws;
    var welcomed = false;
    this.openTimer = setTimeout(function () {
      if (!welcomed && self.ws === ws) { try { ws.close(); } catch (e) { /* ignore */ } self.detach(ws, null); }
    }, this.openTimeoutMs);

    ws.onopen = function () {
      if (self.ws !== ws) return;
      var hello = { type: 'hello', role: self.role };
      var token = typeof self.tokenSource === 'function' ? self.tokenSource() : self.tokenSource;
      if (token) hello.token = token;
      ws.send(JSON.stringify(hello));
    };

    ws.onmessage = function (ev) {
      if (self.ws !== ws) return;
      var msg;
      try { msg = JSON.parse(ev.data); } catch (e) { return; }
      if (!msg || typeof msg !== 'object') return;
      if (msg.type === 'welcome') {
        welcomed = true;
        clearTimeout(self.openTimer);
        self.failures = 0;
        if (typeof msg.server_time === 'number') H.clock.setServerTime(msg.server_time);
        self.setState('open');
      }
      if (msg.type === 'ended') {
        self.setState('ended');
      }
      if ((msg.type === 'ack' || msg.type === 'error') && msg.ref && self.waiting[msg.ref]) {
        var cb = self.waiting[msg.ref].cb;
        delete self.waiting[msg.ref];
        self.armAckTimer();
        try {
          cb(msg.type === 'error' ? { code: msg.code, message: msg.message } : null, msg);
        } catch (e) { if (window.console) console.error(e); }
      }
      if (msg.type === 'error' && msg.code === 'unauthorized' && !welcomed) {
        self.setState('fatal', { reason: 'unauthorized' });
      }
      self.onMessage(msg);
      // Lets add-on views (the Q&A) follow the same stream.
      try {
        document.dispatchEvent(new CustomEvent('handsup:message', { detail: msg }));
      } catch (e) { if (window.console) console.error(e); }
    };

    ws.onclose = function (ev) {
      self.detach(ws, ev);
    };
    ws.onerror = function () { /* a close event follows */ };
  };

  Socket.prototype.detach = function (ws, ev) {
    if (this.ws !== ws) return;
    this.ws = null;
    clearTimeout(this.openTimer);
    ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
    clearTimeout(this.ackTimer);
    this.ackTimer = null;
    var waiting = this.waiting;
    this.waiting = {};
    Object.keys(waiting).forEach(function (ref) {
      try { waiting[ref].cb({ code: 'disconnected', message: 'Connection lost' }, null); } catch (e) { /* ignore */ }
    });
    var code = ev ? ev.code : null;
    this.lastCloseCode = code;
    if (this.state === 'ended') return;
    if (code === 4401 || this.state === 'fatal') {
      this.setState('fatal', { reason: 'unauthorized', code: code });
      return;
    }
    if (this.stopped) { this.state = 'idle'; return; }
    this.failed(code);
  };

  Socket.prototype.failed = function (code) {
    var self = this;
    this.failures += 1;
    var ceiling = Math.min(this.maxDelay, this.baseDelay * Math.pow(2, this.failures - 1));
    var delay = Math.round(ceiling / 2 + Math.random() * ceiling / 2);
    if (code === 1013 || code === 1008) delay = Math.max(delay, 1500 + Math.random() * 1500);
    this.nextDelay = delay;
    this.retryAt = Date.now() + delay;
    this.setState('waiting', { failures: this.failures, delay: delay, code: code });
    this.retryTimer = setTimeout(function () { self.connect(); }, delay);
  };

  // Try again now (network back, tab visible again).
  Socket.prototype.kick = function () {
    if (this.state === 'waiting') this.connect();
  };

  Socket.prototype.nextRef = function () {
    this.refCounter += 1;
    return 'r' + this.refCounter.toString(36) + '-' + Math.random().toString(36).slice(2, 6);
  };

  // Sends msg (with a fresh ref). cb(err, reply) is called on ack / error / disconnect.
  // Returns the ref, or null when the socket is not open (cb is then not called).
  Socket.prototype.send = function (msg, cb) {
    if (this.state !== 'open' || !this.ws) return null;
    var ref = this.nextRef();
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
  };

  // Watches the oldest unanswered message; a silent server means a dead link.
  Socket.prototype.armAckTimer = function () {
    var self = this;
    clearTimeout(this.ackTimer);
    this.ackTimer = null;
    var oldest = null;
    Object.keys(this.waiting).forEach(function (ref) {
      var at = self.waiting[ref].at;
      if (oldest === null || at < oldest) oldest = at;
    });
    if (oldest === null) return;
    var ws = this.ws;
    this.ackTimer = setTimeout(function () {
      if (self.ws !== ws || !ws) return;
      try { ws.close(); } catch (e) { /* ignore */ }
      self.detach(ws, null);
    }, Math.max(0, oldest + this.ackTimeoutMs - Date.now()));
  };

  H.Socket = Socket;

  // Reconnect promptly when the network or the tab comes back.
  H.watchNetwork = function (sock) {
    H.on(window, 'online', function () { sock.kick(); });
    H.on(document, 'visibilitychange', function () {
      if (document.visibilityState === 'visible') sock.kick();
    });
  };

  /* ------------------------------------------------------ connection badge */

  H.connectionBadge = function (node, state, extra) {
    var label = {
      open: 'Live',
      connecting: 'Connecting…',
      waiting: 'Reconnecting…',
      polling: 'Live (slow network mode)',
      offline: 'Offline',
      fatal: 'Disconnected',
      ended: 'Ended'
    }[state] || state;
    label = H.t(label);
    node.dataset.state = state;
    H.setText(node, extra || label);
    node.setAttribute('title', extra || label);
  };

  /* ------------------------------------------------------ toasts */

  H.toast = function (message, kind) {
    var box = H.$('#toasts');
    if (!box) {
      box = H.el('div', { id: 'toasts', className: 'toasts', role: 'status', 'aria-live': 'assertive' });
      document.body.appendChild(box);
    }
    var t = H.el('div', { className: 'toast toast-' + (kind || 'info') }, [
      H.el('span', { className: 'toast-text', text: message }),
      H.el('button', { type: 'button', className: 'toast-close', 'aria-label': H.t('Dismiss'), text: '×' })
    ]);
    function dismiss() { if (t.parentNode) t.parentNode.removeChild(t); }
    H.on(t.lastChild, 'click', dismiss);
    box.appendChild(t);
    setTimeout(dismiss, kind === 'error' ? 9000 : 4000);
    return t;
  };

  /* ------------------------------------------------------ tallies */

  // Keeps the freshest tally per question; a new connection restarts seq numbering.
  function TallyStore() { this.tallies = {}; }
  TallyStore.prototype.reset = function (initial) {
    this.tallies = {};
    var self = this;
    if (initial && typeof initial === 'object') {
      Object.keys(initial).forEach(function (qid) {
        var t = initial[qid];
        if (t && typeof t === 'object') { self.tallies[qid] = t; }
      });
    }
  };
  // Returns true when applied.
  TallyStore.prototype.apply = function (msg) {
    var qid = msg.question_id;
    if (!qid) return false;
    var prev = this.tallies[qid];
    if (prev && typeof prev.seq === 'number' && typeof msg.seq === 'number' && msg.seq <= prev.seq) return false;
    this.tallies[qid] = msg;
    return true;
  };
  TallyStore.prototype.get = function (qid) { return this.tallies[qid] || null; };
  TallyStore.prototype.remove = function (qid) { delete this.tallies[qid]; };
  H.TallyStore = TallyStore;

  /* ------------------------------------------------------ results rendering */

  /* new H.Results(container, {layout: 'spiral'|'flow'}) ; .update(question, localized, tally, opts)
   * opts: {showCorrect: bool, compact: bool}
   * Rows are kept between updates so CSS width transitions animate. */
  function Results(container, options) {
    this.root = container;
    this.key = null;
    this.rows = [];
    this.extra = null;
    this.cloud = null;
    // layout: 'spiral' lays word clouds out as a real cloud (the projector); else a wrapped line of words.
    this.layout = options && options.layout === 'spiral' ? 'spiral' : 'flow';
  }

  function numberOr(n, d) { return typeof n === 'number' && isFinite(n) ? n : d; }

  Results.prototype.reset = function () {
    if (this.cloud) this.cloud.destroy();
    this.cloud = null;
    H.clear(this.root);
    this.rows = [];
    this.key = null;
    this.extra = null;
  };

  Results.prototype.update = function (q, loc, tally, opts) {
    opts = opts || {};
    var kind = q.kind;
    var options = loc ? loc.options : (q.options || []);
    var key = kind + '|' + H.i18n.lang + '|' + q.id + '|' + JSON.stringify(options) + '|' + q.min + '|' + q.max + '|' + JSON.stringify(q.colours || null);
    if (key !== this.key) {
      this.reset();
      this.key = key;
      this.root.className = 'results results-' + kind;
    }
    var voters = tally ? numberOr(tally.voters, 0) : 0;
    if (kind === 'single' || kind === 'multiple') this.bars(q, options, tally, voters, opts);
    else if (kind === 'scale') this.histogram(q, tally, voters);
    else if (kind === 'ranking') this.ranking(q, options, tally, voters);
    else if (kind === 'wordcloud') this.words(tally);
    else if (kind === 'open') this.entries(tally);
  };

  Results.prototype.barRow = function (label, colour, letter) {
    var fill = H.el('span', { className: 'res-fill' });
    var count = H.el('b', { className: 'res-count' });
    var pct = H.el('span', { className: 'res-pct' });
    var mark = H.el('span', { className: 'res-correct', hidden: true, text: H.t('✓ correct') });
    var labelNode = H.el('span', { className: 'res-label' });
    var letterNode = letter ? H.el('span', { className: 'res-letter', text: letter }) : null;
    var row = H.el('div', { className: 'res-row' }, [
      letterNode,
      H.el('div', { className: 'res-body' }, [
        H.el('div', { className: 'res-head' }, [labelNode, mark]),
        H.el('span', { className: 'res-track' }, [fill])
      ]),
      H.el('span', { className: 'res-num' }, [count, pct])
    ]);
    if (colour) {
      fill.style.backgroundColor = colour.bg;
      if (letterNode) H.paint(letterNode, colour);
    }
    H.setText(labelNode, label);
    return { row: row, fill: fill, count: count, pct: pct, mark: mark, label: labelNode };
  };

  Results.prototype.bars = function (q, options, tally, voters, opts) {
    var self = this;
    var counts = tally && Array.isArray(tally.counts) ? tally.counts : [];
    var correct = opts.showCorrect && Array.isArray(q.correct) ? q.correct : [];
    if (!this.rows.length) {
      options.forEach(function (o, i) {
        var r = self.barRow(H.optionLabel(o), H.optionColour(q, i), H.letter(i));
        r.row.dataset.option = String(i);
        self.rows.push(r);
        self.root.appendChild(r.row);
      });
    }
    this.rows.forEach(function (r, i) {
      var c = numberOr(counts[i], 0);
      var p = H.pct(c, voters);
      r.fill.style.width = p + '%';
      H.setText(r.count, c);
      H.setText(r.pct, p + '%');
      var isCorrect = correct.indexOf(i) !== -1;
      r.mark.hidden = !isCorrect;
      r.row.classList.toggle('is-correct', isCorrect);
      r.row.classList.toggle('is-wrong', correct.length > 0 && !isCorrect);
    });
  };

  Results.prototype.histogram = function (q, tally, voters) {
    var self = this;
    var min = numberOr(q.min, 1);
    var max = numberOr(q.max, 5);
    if (max < min) max = min;
    var counts = tally && Array.isArray(tally.counts) ? tally.counts : [];
    if (!this.rows.length) {
      var cols = H.el('div', { className: 'hist-cols' });
      for (var v = min; v <= max; v++) {
        var fill = H.el('span', { className: 'hist-fill' });
        var count = H.el('span', { className: 'hist-count' });
        var col = H.el('div', { className: 'hist-col' }, [
          count,
          H.el('span', { className: 'hist-track' }, [fill]),
          H.el('span', { className: 'hist-value', text: String(v) })
        ]);
        fill.style.backgroundColor = H.PALETTE[4];
        self.rows.push({ fill: fill, count: count });
        cols.appendChild(col);
      }
      var marker = H.el('div', { className: 'hist-mean', hidden: true, 'aria-hidden': 'true' });
      var meanText = H.el('span', { className: 'hist-mean-text' });
      var labels = H.el('div', { className: 'hist-labels' }, [
        H.el('span', { className: 'hist-end', text: q.min_label || '' }),
        meanText,
        H.el('span', { className: 'hist-end', text: q.max_label || '' })
      ]);
      var wrap = H.el('div', { className: 'hist-wrap' }, [cols, marker]);
      this.root.appendChild(wrap);
      this.root.appendChild(labels);
      this.extra = { marker: marker, meanText: meanText };
    }
    var top = 0;
    this.rows.forEach(function (r, i) { top = Math.max(top, numberOr(counts[i], 0)); });
    this.rows.forEach(function (r, i) {
      var c = numberOr(counts[i], 0);
      r.fill.style.height = (top ? Math.round((c / top) * 100) : 0) + '%';
      H.setText(r.count, c);
      r.count.setAttribute('title', H.pct(c, voters) + '%');
    });
    var mean = tally && typeof tally.mean === 'number' ? tally.mean : null;
    var marker = this.extra.marker;
    if (mean === null || !voters) {
      marker.hidden = true;
      H.setText(this.extra.meanText, '');
    } else {
      marker.hidden = false;
      var n = max - min + 1;
      marker.style.left = (((mean - min + 0.5) / n) * 100) + '%';
      H.setText(this.extra.meanText, H.t('average {n}', { n: Math.round(mean * 10) / 10 }));
    }
  };

  Results.prototype.ranking = function (q, options, tally, voters) {
    var self = this;
    var scores = tally && Array.isArray(tally.scores) ? tally.scores : [];
    if (!this.rows.length) {
      options.forEach(function (o, i) {
        var r = self.barRow(H.optionLabel(o), H.optionColour(q, i), H.letter(i));
        r.index = i;
        self.rows.push(r);
      });
    }
    var maxScore = voters * Math.max(1, options.length - 1);
    var order = this.rows.slice().sort(function (a, b) {
      return numberOr(scores[b.index], 0) - numberOr(scores[a.index], 0) || a.index - b.index;
    });
    order.forEach(function (r, pos) {
      var s = numberOr(scores[r.index], 0);
      r.fill.style.width = (maxScore ? Math.round((s / maxScore) * 100) : 0) + '%';
      H.setText(r.count, (pos + 1) + '.');
      H.setText(r.pct, H.t(s === 1 ? '{n} point' : '{n} points', { n: s }));
      if (self.root.children[pos] !== r.row) self.root.insertBefore(r.row, self.root.children[pos] || null);
    });
  };

  function hashText(s) {
    var h = 0;
    for (var i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) | 0;
    return h;
  }

  Results.prototype.words = function (tally) {
    var words = tally && Array.isArray(tally.words) ? tally.words.slice(0, 100) : [];
    if (this.layout === 'spiral') {
      if (!this.cloud) this.cloud = new Cloud(this.root);
      this.cloud.render(words);
      return;
    }
    H.clear(this.root);
    if (!words.length) return;
    var top = 1;
    words.forEach(function (w) { top = Math.max(top, numberOr(w.count, 0)); });
    // Stable, shuffled-looking order so the biggest words are not all at the top.
    words = words.slice().sort(function (a, b) { return hashText(String(a.text)) - hashText(String(b.text)); });
    var cloud = H.el('div', { className: 'cloud' });
    words.forEach(function (w) {
      var c = numberOr(w.count, 0);
      var size = 1 + 2.6 * Math.sqrt(c / top);
      var span = H.el('span', { className: 'cloud-word', title: String(c), text: String(w.text) });
      span.style.fontSize = size.toFixed(2) + 'em';
      span.className += ' cloud-c' + (Math.abs(hashText(String(w.text))) % 6);
      cloud.appendChild(span);
    });
    this.root.appendChild(cloud);
  };

  /* ------------------------------------------------------ spiral word cloud */

  /* The projector's word cloud: words sized by count (square root scale), the
   * most frequent in the middle, each placed on an Archimedean spiral clear of
   * the words already placed. A word keeps its place between tallies while it
   * still fits there; only new words and words that grew into a neighbour are
   * placed again. Elements are kept and updated in place, so CSS transitions
   * move and resize them without flicker. */

  // The form under which the server counts a word: trimmed, inner spaces collapsed, lower case, NFC.
  H.normaliseWord = function (s) {
    s = String(s === undefined || s === null ? '' : s).replace(/\s+/g, ' ').trim().toLowerCase();
    return typeof s.normalize === 'function' ? s.normalize('NFC') : s;
  };

  var CLOUD_LINE = 1.1;      // line-height of a word, as in the CSS
  var CLOUD_MARGIN = 2;      // px kept free along the edges of the field

  // Space kept around a word's box, as a share of its font size.
  function gapX(size) { return 0.22 * size + 2; }
  function gapY(size) { return 0.06 * size + 2; }

  function Cloud(root) {
    var self = this;
    this.root = root;
    this.field = H.el('div', { className: 'cloud-field' });
    this.probe = H.el('div', { className: 'cloud-probe', 'aria-hidden': 'true' });
    this.field.appendChild(this.probe);
    root.appendChild(this.field);
    this.nodes = {};       // key -> {el, text, colour}
    this.spots = {};       // key -> {x, y}: centre of the word, in px from the field's centre
    this.widths = {};      // 'text|size' -> {w, h} measured in the page's own font
    this.words = [];
    this.size = '';
    this.frame = null;
    if (typeof window.ResizeObserver === 'function') {
      this.observer = new window.ResizeObserver(function () {
        var size = self.field.clientWidth + 'x' + self.field.clientHeight;
        if (size === self.size || self.frame) return;
        self.frame = window.requestAnimationFrame(function () {
          self.frame = null;
          self.render(self.words);
        });
      });
      this.observer.observe(this.field);
    }
  }

  Cloud.prototype.destroy = function () {
    if (this.observer) this.observer.disconnect();
    if (this.frame) window.cancelAnimationFrame(this.frame);
    this.observer = null;
    this.frame = null;
  };

  // Box sizes of the words at the given font sizes, measured in one layout pass.
  Cloud.prototype.measure = function (items, sizes) {
    var self = this;
    var wanted = [];
    if (Object.keys(this.widths).length > 4000) this.widths = {};
    items.forEach(function (it, i) {
      var id = it.text + '|' + sizes[i];
      if (!self.widths[id] && wanted.indexOf(id) === -1) wanted.push(id);
    });
    if (wanted.length) {
      H.clear(this.probe);
      var spans = wanted.map(function (id) {
        var cut = id.lastIndexOf('|');
        var span = H.el('span', { text: id.slice(0, cut) });
        span.style.fontSize = id.slice(cut + 1) + 'px';
        self.probe.appendChild(span);
        return span;
      });
      spans.forEach(function (span, i) {
        var r = span.getBoundingClientRect();
        self.widths[wanted[i]] = { w: r.width, h: r.height };
      });
      H.clear(this.probe);
    }
    return items.map(function (it, i) { return self.widths[it.text + '|' + sizes[i]]; });
  };

  function overlaps(a, b) {
    return a.l < b.r && b.l < a.r && a.t < b.b && b.t < a.b;
  }

  // Index of a box in placed that a overlaps, or -1.
  function collide(a, placed, hint) {
    if (hint >= 0 && hint < placed.length && overlaps(a, placed[hint])) return hint;
    for (var i = 0; i < placed.length; i++) if (overlaps(a, placed[i])) return i;
    return -1;
  }

  // One layout attempt at fixed font sizes. Returns null when a word finds no room
  // (unless dropping is allowed, then the words that do not fit are left out).
  function placeWords(items, sizes, boxes, W, Hh, spots, step, allowDrop) {
    var placed = [];           // collision boxes, gaps included
    var out = [];
    var fresh = [];
    function box(cx, cy, i) {
      var w = boxes[i].w;
      var h = boxes[i].h;
      var gx = gapX(sizes[i]) / 2;
      var gy = gapY(sizes[i]) / 2;
      return {
        l: cx - w / 2 - gx, r: cx + w / 2 + gx, t: cy - h / 2 - gy, b: cy + h / 2 + gy,
        inside: cx - w / 2 >= CLOUD_MARGIN && cx + w / 2 <= W - CLOUD_MARGIN &&
          cy - h / 2 >= CLOUD_MARGIN && cy + h / 2 <= Hh - CLOUD_MARGIN
      };
    }
    // Words already on screen stay where they are when they still fit there.
    items.forEach(function (it, i) {
      var spot = spots[it.key];
      if (spot) {
        var b = box(W / 2 + spot.x, Hh / 2 + spot.y, i);
        if (b.inside && collide(b, placed, -1) === -1) {
          placed.push(b);
          out[i] = { x: spot.x, y: spot.y };
          return;
        }
      }
      fresh.push(i);
    });
    // The others walk out from the middle on a spiral flattened to the field's shape.
    var spacing = step * 1.6;
    var a = spacing / (2 * Math.PI);
    var ey = Hh / W;
    var maxR = Math.sqrt(2) * W / 2 + spacing;
    for (var n = 0; n < fresh.length; n++) {
      var i = fresh[n];
      var turn = (Math.abs(hashText(items[i].key)) % 628) / 100;
      var t = 0;
      var hint = -1;
      var found = null;
      for (;;) {
        var r = a * t;
        if (r > maxR) break;
        var x = W / 2 + r * Math.cos(t + turn);
        var y = Hh / 2 + r * ey * Math.sin(t + turn);
        var b = box(x, y, i);
        if (b.inside) {
          hint = collide(b, placed, hint);
          if (hint === -1) { found = b; break; }
        }
        t += step / Math.max(r, step);
      }
      if (!found) {
        if (!allowDrop) return null;
        continue;
      }
      placed.push(found);
      out[i] = { x: x - W / 2, y: y - Hh / 2 };
    }
    return out;
  }

  Cloud.prototype.render = function (words) {
    var self = this;
    this.words = words;
    var W = this.field.clientWidth;
    var Hh = this.field.clientHeight;
    this.size = W + 'x' + Hh;
    // Not laid out while hidden: the resize observer calls again once there is room.
    if (W < 60 || Hh < 40) return;

    // One item per normalised word; the server already merges them, this only guards.
    var byKey = {};
    var items = [];
    words.forEach(function (w) {
      var text = String(w && w.text !== undefined ? w.text : '').replace(/\s+/g, ' ').trim();
      var key = H.normaliseWord(text);
      if (!key) return;
      var count = Math.max(0, numberOr(w.count, 0));
      if (byKey[key]) { byKey[key].count += count; return; }
      byKey[key] = { key: key, text: text, count: count };
      items.push(byKey[key]);
    });
    items.sort(function (a, b) { return b.count - a.count || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0); });

    var layout = items.length ? this.layout(items, W, Hh) : { spots: [], sizes: [] };

    // Update in place: no element is rebuilt, so moves and size changes animate.
    var keep = {};
    items.forEach(function (it, i) {
      var spot = layout.spots[i];
      if (!spot) return;
      keep[it.key] = true;
      self.spots[it.key] = spot;
      var node = self.nodes[it.key];
      if (!node) {
        node = { el: H.el('span', { className: 'cloud-word cloud-c' + (Math.abs(hashText(it.key)) % 6) }) };
        self.nodes[it.key] = node;
        self.field.appendChild(node.el);
      }
      H.setText(node.el, it.text);
      node.el.setAttribute('title', String(it.count));
      node.el.dataset.count = String(it.count);
      node.el.style.fontSize = layout.sizes[i] + 'px';
      node.el.style.transform = 'translate(' + (W / 2 + spot.x).toFixed(1) + 'px,' +
        (Hh / 2 + spot.y).toFixed(1) + 'px) translate(-50%,-50%)';
    });
    Object.keys(this.nodes).forEach(function (key) {
      if (keep[key]) return;
      var el = self.nodes[key].el;
      if (el.parentNode) el.parentNode.removeChild(el);
      delete self.nodes[key];
      delete self.spots[key];
    });
    this.field.classList.toggle('is-empty', !items.length);
  };

  // Font sizes and centres for items (sorted by count, most first) in a W x Hh field.
  Cloud.prototype.layout = function (items, W, Hh) {
    var maxF = Math.min(Hh * 0.2, W * 0.1);
    var minF = Math.max(12, Math.min(maxF * 0.3, Hh * 0.045));
    var top = items[0].count || 1;
    var ref = this.measure(items, items.map(function () { return 100; }));
    var base = [];
    var area = 0;
    items.forEach(function (it, i) {
      var s = minF + (maxF - minF) * Math.sqrt(Math.max(0, it.count) / top);
      // A long word is made smaller until it fits across the field.
      s = Math.min(s, 100 * (W - 2 * CLOUD_MARGIN - 4) / Math.max(1, ref[i].w));
      s = Math.min(s, 100 * (Hh - 2 * CLOUD_MARGIN - 4) / Math.max(1, ref[i].h));
      // Never larger than a word counted more often.
      if (i > 0) s = Math.min(s, base[i - 1]);
      base.push(s);
      area += (ref[i].w * s / 100 + gapX(s)) * (ref[i].h * s / 100 + gapY(s));
    });
    // Start from sizes that can fill about half the field, then shrink until all fit.
    var k = Math.min(1, Math.sqrt((0.62 * W * Hh) / Math.max(1, area)));
    var attempts = 14;
    for (var n = 0; n < attempts; n++) {
      var sizes = base.map(function (s) { return Math.max(6, Math.floor(s * k * 2) / 2); });
      var boxes = this.measure(items, sizes);
      var step = Math.max(3, Math.min(10, sizes[sizes.length - 1] * 0.3));
      var spots = placeWords(items, sizes, boxes, W, Hh, this.spots, step, n === attempts - 1);
      if (spots) return { spots: spots, sizes: sizes };
      k *= 0.88;
    }
    return { spots: [], sizes: [] };
  };

  Results.prototype.entries = function (tally) {
    var entries = tally && Array.isArray(tally.entries) ? tally.entries : [];
    H.clear(this.root);
    var wall = H.el('div', { className: 'wall' });
    entries.forEach(function (e) {
      wall.appendChild(H.el('div', { className: 'wall-card' }, [
        H.el('p', { text: String(e.text || '') })
      ]));
    });
    this.root.appendChild(wall);
  };

  H.Results = Results;

  /* ------------------------------------------------------ questions */

  // Keeps an ordered list of questions with an id index.
  function QuestionList() { this.list = []; }
  QuestionList.prototype.reset = function (arr) {
    this.list = Array.isArray(arr) ? arr.filter(function (q) { return q && q.id; }) : [];
  };
  QuestionList.prototype.get = function (id) {
    for (var i = 0; i < this.list.length; i++) if (this.list[i].id === id) return this.list[i];
    return null;
  };
  QuestionList.prototype.indexOf = function (id) {
    for (var i = 0; i < this.list.length; i++) if (this.list[i].id === id) return i;
    return -1;
  };
  QuestionList.prototype.upsert = function (q) {
    if (!q || !q.id) return;
    var i = this.indexOf(q.id);
    if (i === -1) this.list.push(q);
    else this.list[i] = q;
  };
  QuestionList.prototype.remove = function (id) {
    var i = this.indexOf(id);
    if (i !== -1) this.list.splice(i, 1);
  };
  QuestionList.prototype.move = function (id, index) {
    var i = this.indexOf(id);
    if (i === -1) return;
    var q = this.list.splice(i, 1)[0];
    index = Math.max(0, Math.min(this.list.length, index));
    this.list.splice(index, 0, q);
  };
  QuestionList.prototype.reorder = function (ids) {
    if (!Array.isArray(ids)) return;
    var self = this;
    var byId = {};
    this.list.forEach(function (q) { byId[q.id] = q; });
    var out = [];
    ids.forEach(function (id) { if (byId[id]) { out.push(byId[id]); delete byId[id]; } });
    self.list.forEach(function (q) { if (byId[q.id]) out.push(q); });
    this.list = out;
  };
  H.QuestionList = QuestionList;

  // The messages the console and the projector take the same way, into a state with
  // `questions` (QuestionList), `tallies` (TallyStore), `current`, `qa` and `audience`.
  // Returns true if the state changed, false if the message changed nothing, and null
  // if it is not one of them (the view handles it).
  H.applyStaffMessage = function (state, msg) {
    switch (msg.type) {
      case 'question_removed':
        state.questions.remove(msg.question_id);
        state.tallies.remove(msg.question_id);
        return true;
      case 'order':
        state.questions.reorder(msg.question_ids);
        return true;
      case 'present':
        state.current = msg.question_id || null;
        state.qa = !!msg.qa;
        return true;
      case 'tally':
        return !!state.tallies.apply(msg);
      case 'presence':
        if (typeof msg.audience === 'number') state.audience = msg.audience;
        return true;
      default:
        return null;
    }
  };

  // A fingerprint of what a question says (not its state), to know when to rebuild its view.
  H.definitionKey = function (q) {
    return JSON.stringify([q.kind, q.prompt, q.options, q.colours, q.max_choices, q.min, q.max,
      q.min_label, q.max_label, q.max_words, q.translations]);
  };

  H.stateText = function (q) {
    if (q.state === 'open') return H.t('Voting open');
    if (q.state === 'closed') return H.t('Voting closed');
    return H.t('Draft');
  };

  // A ticker shared by countdowns: calls every registered fn about 4 times a second.
  var tickers = [];
  var tickTimer = null;
  H.onTick = function (fn) {
    tickers.push(fn);
    if (!tickTimer) {
      tickTimer = setInterval(function () {
        tickers.forEach(function (f) { try { f(); } catch (e) { if (window.console) console.error(e); } });
      }, 250);
    }
  };

  window.Handsup = H;
})();
