// This browser's localStorage: the keys the pages keep, read and written so
// that a private window (where storage throws) still works, only forgetfully.
// Also the list of sessions a chair chose to remember on this computer.

export const store = {
  get(key) {
    try { return window.localStorage.getItem(key); } catch (e) { return null; }
  },
  set(key, value) {
    try { window.localStorage.setItem(key, value); } catch (e) { /* private mode */ }
  },
  remove(key) {
    try { window.localStorage.removeItem(key); } catch (e) { /* ignore */ }
  },
  getJSON(key, fallback) {
    const raw = store.get(key);
    if (!raw) return fallback;
    try { return JSON.parse(raw); } catch (e) { return fallback; }
  },
  setJSON(key, value) { store.set(key, JSON.stringify(value)); }
};

// Sessions a chair chose to remember on this computer, so the start page can list them.
// Each entry holds the session's moderator token: the console asks before keeping one
// (a shared venue PC), and nothing else stores them.
const SESSIONS_KEY = 'handsup:sessions';

export function rememberedSessions() {
  const list = store.getJSON(SESSIONS_KEY, []);
  if (!Array.isArray(list)) return [];
  return list.filter(function (s) { return s && /^\d{6}$/.test(s.code || '') && s.token; });
}

export function isRemembered(code) {
  return rememberedSessions().some(function (s) { return s.code === code; });
}

export function rememberSession(entry) {
  if (!entry || !/^\d{6}$/.test(entry.code || '') || !entry.token) return;
  const list = rememberedSessions().filter(function (s) { return s.code !== entry.code; });
  list.unshift({
    code: entry.code,
    title: String(entry.title || '').slice(0, 200),
    token: entry.token,
    at: entry.at || Date.now()
  });
  store.setJSON(SESSIONS_KEY, list.slice(0, 30));
}

export function forgetSession(code) {
  const rest = rememberedSessions().filter(function (s) { return s.code !== code; });
  if (rest.length) store.setJSON(SESSIONS_KEY, rest);
  else store.remove(SESSIONS_KEY);
}

export function forgetAllSessions() { store.remove(SESSIONS_KEY); }

// fn() when another tab of this browser remembers or forgets a session.
export function onSessionsChange(fn) {
  window.addEventListener('storage', function (ev) {
    if (ev.key === null || ev.key === SESSIONS_KEY) fn();
  });
}
