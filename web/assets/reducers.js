// The state the pages build from the server's messages, one pure function
// per piece: reducer(state, message) -> state. A reducer returns the state it
// was given when the message changes nothing, so `next !== state` tells a
// page to render again. The console, the projector, the phone, the remote and
// the Q&A views all use these; none keeps its own copy of the rules.
//
// Besides the server's messages (docs/api.md), two kinds of local message go
// through the same reducers: `session_view` (a session fetched with
// GET /api/sessions/{code}, on a phone without a socket) and the `qa_page_*`
// and `upvote_*` messages of the Q&A views.
//
// Nothing here touches the page: tests/web/ runs these under node --test.

function own(obj, key) { return Object.prototype.hasOwnProperty.call(obj, key); }

function without(map, key) {
  if (!own(map, key)) return map;
  const out = Object.assign({}, map);
  delete out[key];
  return out;
}

function withEntry(map, key, value) {
  if (map[key] === value && own(map, key)) return map;
  const out = Object.assign({}, map);
  out[key] = value;
  return out;
}

// The session view a message carries: the welcome's, or a fetched one.
function sessionOf(msg) {
  if (msg.type === 'welcome' || msg.type === 'session_view') return msg.session || {};
  return null;
}

/* ------------------------------------------------------------ questions */

function indexOf(list, id) {
  for (let i = 0; i < list.length; i++) if (list[i].id === id) return i;
  return -1;
}

// The question with this id in a question list, or null.
export function findQuestion(list, id) {
  const i = indexOf(list, id);
  return i === -1 ? null : list[i];
}

// The ordered question list. `drafts`: whether this view shows drafts (only the
// console does; a question that goes back to draft leaves the others).
export function questions(list, msg, drafts) {
  const session = sessionOf(msg);
  if (session) {
    if (!Array.isArray(session.questions)) return list;
    return session.questions.filter(function (q) { return q && q.id && (drafts || q.state !== 'draft'); });
  }
  switch (msg.type) {
    case 'question': {
      const q = msg.question;
      if (!q || !q.id) return list;
      const i = indexOf(list, q.id);
      if (!drafts && q.state === 'draft') return i === -1 ? list : list.filter(function (x) { return x.id !== q.id; });
      const out = list.slice();
      if (i === -1) out.push(q);
      else out[i] = q;
      return out;
    }
    case 'question_removed': {
      if (indexOf(list, msg.question_id) === -1) return list;
      return list.filter(function (q) { return q.id !== msg.question_id; });
    }
    case 'order': {
      if (!Array.isArray(msg.question_ids)) return list;
      // The listed ones in that order, then any the message did not name, as they were.
      const byId = {};
      list.forEach(function (q) { byId[q.id] = q; });
      const out = [];
      msg.question_ids.forEach(function (id) { if (own(byId, id)) { out.push(byId[id]); delete byId[id]; } });
      list.forEach(function (q) { if (own(byId, q.id)) out.push(q); });
      return out;
    }
    case 'move_question': {
      // The console's own move, applied once the server acknowledged it.
      const i = indexOf(list, msg.question_id);
      if (i === -1) return list;
      const out = list.slice();
      const q = out.splice(i, 1)[0];
      const index = Math.max(0, Math.min(out.length, msg.index));
      out.splice(index, 0, q);
      return out;
    }
    default:
      return list;
  }
}

/* ------------------------------------------------------------ presentation */

// What the screen shows: {current: question id or null, qa: the Q&A board}.
export function presentation(state, msg) {
  let next;
  const session = sessionOf(msg);
  if (session) next = { current: session.current || null, qa: !!session.qa_on_screen };
  else if (msg.type === 'present') next = { current: msg.question_id || null, qa: !!msg.qa };
  else return state;
  return next.current === state.current && next.qa === state.qa ? state : next;
}

/* ------------------------------------------------------------ tallies */

function tallyMap(initial) {
  const out = {};
  if (initial && typeof initial === 'object') {
    Object.keys(initial).forEach(function (qid) {
      const tally = initial[qid];
      if (tally && typeof tally === 'object') out[qid] = tally;
    });
  }
  return out;
}

// The freshest tally per question id. A tally whose seq is not newer than the
// one held is stale (seq restarts only with a new connection, whose welcome
// brings every tally afresh).
export function tallies(state, msg) {
  const session = sessionOf(msg);
  if (session) return tallyMap(session.tallies);
  switch (msg.type) {
    case 'tally': {
      const qid = msg.question_id;
      if (!qid) return state;
      const prev = state[qid];
      if (prev && typeof prev.seq === 'number' && typeof msg.seq === 'number' && msg.seq <= prev.seq) return state;
      return withEntry(state, qid, msg);
    }
    case 'question_removed':
      return without(state, msg.question_id);
    default:
      return state;
  }
}

/* ------------------------------------------------------------ the session as a view sees it */

// The state of a console, projector or phone: the session's title, questions,
// what is on screen, tallies, how many phones are connected.
export function initialView(opts) {
  return {
    // Whether this view shows drafts (the console).
    drafts: !!(opts && opts.drafts),
    // A welcome (or a fetched session) has arrived.
    loaded: false,
    // The session was deleted.
    ended: false,
    title: '',
    // The session's join link as the server gives it, or '' until then.
    joinUrl: '',
    questions: [],
    presentation: { current: null, qa: false },
    tallies: {},
    // Connected phones, from `presence`.
    audience: 0,
    // The setting `show_digest`: the projector shows the session's digest under revealed results.
    showDigest: false,
    // The session's digest as the last session view carried it ('' when not shown).
    digest: '',
    // The setting `min_group`: groups of a breakdown with fewer voters are not shown.
    minGroup: 5,
    // The setting `public_summary`: anyone with the code may read the session's summary.
    publicSummary: false
  };
}

function showDigest(state, msg) {
  const session = sessionOf(msg);
  const settings = session ? session.settings : msg.type === 'session' ? msg.settings : null;
  return settings && typeof settings.show_digest === 'boolean' ? settings.show_digest : state;
}

function publicSummary(state, msg) {
  const session = sessionOf(msg);
  const settings = session ? session.settings : msg.type === 'session' ? msg.settings : null;
  return settings && typeof settings.public_summary === 'boolean' ? settings.public_summary : state;
}

function minGroup(state, msg) {
  const session = sessionOf(msg);
  const settings = session ? session.settings : msg.type === 'session' ? msg.settings : null;
  const n = settings ? settings.min_group : undefined;
  return typeof n === 'number' && n >= 1 && Math.floor(n) === n ? n : state;
}

function digest(state, msg, shown) {
  if (!shown) return '';
  const session = sessionOf(msg);
  if (!session) return state;
  return typeof session.digest === 'string' && /^[0-9a-f]{64}$/.test(session.digest) ? session.digest : '';
}

function title(state, msg) {
  const session = sessionOf(msg);
  return session && typeof session.title === 'string' ? session.title : state;
}

function joinUrl(state, msg) {
  const session = sessionOf(msg);
  if (!session || typeof session.join_url !== 'string' || !/^https?:\/\//.test(session.join_url)) return state;
  return session.join_url;
}

function audience(state, msg) {
  return msg.type === 'presence' && typeof msg.audience === 'number' ? msg.audience : state;
}

export function view(state, msg) {
  const next = {
    drafts: state.drafts,
    loaded: state.loaded || sessionOf(msg) !== null,
    ended: state.ended || msg.type === 'ended',
    title: title(state.title, msg),
    joinUrl: joinUrl(state.joinUrl, msg),
    questions: questions(state.questions, msg, state.drafts),
    presentation: presentation(state.presentation, msg),
    tallies: tallies(state.tallies, msg),
    audience: audience(state.audience, msg),
    showDigest: showDigest(state.showDigest, msg),
    minGroup: minGroup(state.minGroup, msg),
    publicSummary: publicSummary(state.publicSummary, msg)
  };
  next.digest = digest(state.digest, msg, next.showDigest);
  // A welcome always counts as a change: the page starts afresh from it.
  if (sessionOf(msg)) return next;
  for (const key in next) if (next[key] !== state[key]) return next;
  return state;
}

/* ------------------------------------------------------------ a phone's ballots */

// What this phone's ballots are, as the server counted them: question id -> choice.
export function ballots(state, msg) {
  switch (msg.type) {
    case 'welcome': {
      const out = {};
      const got = msg.ballots;
      if (got && typeof got === 'object') {
        Object.keys(got).forEach(function (qid) {
          if (got[qid] !== null && got[qid] !== undefined) out[qid] = got[qid];
        });
      }
      return out;
    }
    case 'ballot':
      if (!msg.question_id) return state;
      if (msg.choice === null || msg.choice === undefined) return without(state, msg.question_id);
      return withEntry(state, msg.question_id, msg.choice);
    case 'question_removed':
      return without(state, msg.question_id);
    default:
      return state;
  }
}

/* ------------------------------------------------------------ the Q&A board */

// The audience Q&A as one role sees it. `countsHidden`: the moderator's board
// counts hidden items in its total (the server's `qa_total` does for it).
export function initialBoard(opts) {
  return {
    countsHidden: !!(opts && opts.countsHidden),
    // A welcome has arrived (and the session has not ended since).
    loaded: false,
    // id -> item, every status but hidden.
    items: {},
    // id -> true: items hidden since the welcome, so a page fetched meanwhile does not bring them back.
    gone: {},
    // The offset of the next page to fetch.
    next: 0,
    // How many items the role may see on the server's board.
    total: 0,
    // A page is being fetched.
    paging: false,
    // Questions wait for the moderator's approval.
    moderation: false,
    // The board is on the projector.
    onScreen: false
  };
}

function upsertItem(board, item) {
  if (!item || !item.id) return board;
  if (item.status === 'hidden') {
    return Object.assign({}, board, { items: without(board.items, item.id), gone: withEntry(board.gone, item.id, true) });
  }
  return Object.assign({}, board, { items: withEntry(board.items, item.id, item), gone: without(board.gone, item.id) });
}

function isNew(board, item) {
  return !!(item && item.id && !own(board.items, item.id) && !own(board.gone, item.id));
}

export function qaBoard(board, msg) {
  switch (msg.type) {
    case 'welcome': {
      const s = msg.session || {};
      const top = Array.isArray(s.qa) ? s.qa : [];
      let next = Object.assign(initialBoard({ countsHidden: board.countsHidden }), { loaded: true, paging: board.paging });
      top.forEach(function (item) { next = upsertItem(next, item); });
      next.next = top.length;
      next.total = typeof s.qa_total === 'number' ? s.qa_total : top.length;
      next.moderation = !!(s.settings && s.settings.qa_moderation);
      next.onScreen = !!s.qa_on_screen;
      return next;
    }
    case 'qa_item': {
      const item = msg.item;
      const counted = isNew(board, item) && (board.countsHidden || item.status !== 'hidden');
      const next = upsertItem(board, item);
      if (!counted) return next;
      return Object.assign({}, next, { total: next.total + 1 });
    }
    case 'session':
      if (!msg.settings || typeof msg.settings.qa_moderation !== 'boolean' || msg.settings.qa_moderation === board.moderation) return board;
      return Object.assign({}, board, { moderation: msg.settings.qa_moderation });
    case 'present':
      return !!msg.qa === board.onScreen ? board : Object.assign({}, board, { onScreen: !!msg.qa });
    case 'ended':
      return board.loaded ? Object.assign({}, board, { loaded: false }) : board;
    case 'qa_page_start':
      return board.paging ? board : Object.assign({}, board, { paging: true });
    case 'qa_page_failed':
      return Object.assign({}, board, { paging: false });
    case 'qa_page': {
      // A page of GET .../qa: the items the live messages already brought are newer, and kept.
      let next = Object.assign({}, board, { paging: false });
      const items = Array.isArray(msg.items) ? msg.items : [];
      items.forEach(function (item) { if (isNew(next, item)) next = upsertItem(next, item); });
      next.next += items.length;
      if (typeof msg.total === 'number') next.total = msg.total;
      if (!items.length) next.next = next.total;
      return next;
    }
    default:
      return board;
  }
}

// Whether the board holds more items than fetched so far.
export function hasMorePages(board) { return board.next < board.total; }

/* ------------------------------------------------------------ the phone's Q&A tab */

// Which tab a phone shows, 'polls' or 'qa': the board going up on the screen
// brings the phone to the questions, a question going up brings it back.
export function phoneTab(state, msg) {
  let onScreen;
  let tab = state.tab;
  if (msg.type === 'welcome') {
    onScreen = !!(msg.session && msg.session.qa_on_screen);
    if (onScreen && !state.onScreen) tab = 'qa';
  } else if (msg.type === 'present') {
    onScreen = !!msg.qa;
    if (msg.qa && !state.onScreen) tab = 'qa';
    else if (!msg.qa && state.onScreen && msg.question_id) tab = 'polls';
  } else if (msg.type === 'show_tab') {
    onScreen = state.onScreen;
    tab = msg.tab;
  } else {
    return state;
  }
  return tab === state.tab && onScreen === state.onScreen ? state : { tab: tab, onScreen: onScreen };
}

/* ------------------------------------------------------------ a phone's upvotes in flight */

// Upvotes this phone sent that the counts it has do not show yet:
// id -> {d: +1 or -1, acked, n}. `n` tells one sending from the next.
export function upvotesInFlight(state, msg) {
  switch (msg.type) {
    case 'welcome':
      return Object.keys(state).length ? {} : state;
    case 'qa_item': {
      // A count from the server includes every acknowledged upvote.
      const item = msg.item;
      if (!item || !item.id || !own(state, item.id)) return state;
      return item.status === 'hidden' || state[item.id].acked ? without(state, item.id) : state;
    }
    case 'upvote_sent':
      return withEntry(state, msg.item_id, { d: msg.up ? 1 : -1, acked: false, n: msg.n });
    case 'upvote_acked': {
      const entry = state[msg.item_id];
      if (!entry || entry.n !== msg.n) return state;
      return withEntry(state, msg.item_id, { d: entry.d, acked: true, n: entry.n });
    }
    case 'upvote_dropped': {
      // Refused, or acknowledged long enough ago that the count must have come.
      const entry = state[msg.item_id];
      return entry && entry.n === msg.n ? without(state, msg.item_id) : state;
    }
    default:
      return state;
  }
}

// The upvote count of an item as this phone shows it.
export function shownUpvotes(item, inFlight) {
  const d = inFlight[item.id];
  return Math.max(0, (item.upvotes || 0) + (d ? d.d : 0));
}

/* ------------------------------------------------------------ a holder for one page's state */

// state, dispatch(msg) -> whether it changed, subscribe(fn(state, msg)).
export function createStore(reducer, initial) {
  let state = initial;
  const subscribers = [];
  return {
    get state() { return state; },
    dispatch(msg) {
      const next = reducer(state, msg);
      if (next === state) return false;
      state = next;
      subscribers.forEach(function (fn) { fn(state, msg); });
      return true;
    },
    subscribe(fn) { subscribers.push(fn); }
  };
}
