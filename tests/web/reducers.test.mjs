// The reducers every page builds its state with (web/assets/reducers.js):
// each takes a state and a message and returns the next state, the same
// object when nothing changed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ballots, createStore, hasMorePages, initialBoard, initialView, phoneTab, presentation, qaBoard,
  questions, shownUpvotes, tallies, upvotesInFlight, view
} from '../../web/assets/reducers.js';

const draft = { id: 'q1', state: 'draft', prompt: 'One?' };
const open = { id: 'q2', state: 'open', prompt: 'Two?' };
const closed = { id: 'q3', state: 'closed', prompt: 'Three?' };

function welcome(session, extra) {
  return Object.assign({ type: 'welcome', session: session }, extra || {});
}

function reduce(reducer, state, msgs) {
  return msgs.reduce(function (s, m) { return reducer(s, m); }, state);
}

/* ------------------------------------------------------------ questions */

test('the console keeps drafts, the other views leave them out', () => {
  const msg = welcome({ questions: [draft, open, closed, null, { prompt: 'no id' }] });
  assert.deepEqual(questions([], msg, true).map((q) => q.id), ['q1', 'q2', 'q3']);
  assert.deepEqual(questions([], msg, false).map((q) => q.id), ['q2', 'q3']);
});

test('a question message adds a question at the end or replaces it in place', () => {
  const list = [open, closed];
  const added = questions(list, { type: 'question', question: { id: 'q4', state: 'open' } }, false);
  assert.deepEqual(added.map((q) => q.id), ['q2', 'q3', 'q4']);
  const changed = questions(list, { type: 'question', question: { id: 'q2', state: 'closed' } }, false);
  assert.deepEqual(changed.map((q) => [q.id, q.state]), [['q2', 'closed'], ['q3', 'closed']]);
  assert.deepEqual(list.map((q) => q.state), ['open', 'closed'], 'the old list is left as it was');
});

test('a question going back to draft leaves the public views, not the console', () => {
  const back = { type: 'question', question: { id: 'q2', state: 'draft' } };
  assert.deepEqual(questions([open, closed], back, false).map((q) => q.id), ['q3']);
  assert.deepEqual(questions([open, closed], back, true).map((q) => [q.id, q.state]), [['q2', 'draft'], ['q3', 'closed']]);
  // A draft the view never had changes nothing.
  const list = [closed];
  assert.equal(questions(list, { type: 'question', question: { id: 'q9', state: 'draft' } }, false), list);
});

test('removing, reordering and moving questions', () => {
  const list = [draft, open, closed];
  assert.deepEqual(questions(list, { type: 'question_removed', question_id: 'q2' }, true).map((q) => q.id), ['q1', 'q3']);
  assert.equal(questions(list, { type: 'question_removed', question_id: 'nope' }, true), list);
  // The public order leaves drafts out: the ones the message does not name keep their turn at the end.
  assert.deepEqual(questions(list, { type: 'order', question_ids: ['q3', 'q2'] }, true).map((q) => q.id), ['q3', 'q2', 'q1']);
  assert.deepEqual(questions(list, { type: 'order', question_ids: ['q3', 'zz', 'q1', 'q2'] }, true).map((q) => q.id), ['q3', 'q1', 'q2']);
  assert.equal(questions(list, { type: 'order' }, true), list);
  assert.deepEqual(questions(list, { type: 'move_question', question_id: 'q1', index: 2 }, true).map((q) => q.id), ['q2', 'q3', 'q1']);
  assert.deepEqual(questions(list, { type: 'move_question', question_id: 'q3', index: -4 }, true).map((q) => q.id), ['q3', 'q1', 'q2']);
  assert.equal(questions(list, { type: 'tally', question_id: 'q1' }, true), list);
});

test('a session fetched without questions keeps the ones held', () => {
  const list = [open];
  assert.equal(questions(list, { type: 'session_view', session: { title: 'x' } }, false), list);
});

/* ------------------------------------------------------------ presentation */

test('what is on screen follows the welcome and present messages', () => {
  const none = { current: null, qa: false };
  assert.deepEqual(presentation(none, welcome({ current: 'q2', qa_on_screen: false })), { current: 'q2', qa: false });
  assert.deepEqual(presentation(none, welcome({})), none);
  assert.deepEqual(presentation(none, { type: 'present', qa: true }), { current: null, qa: true });
  const shown = { current: 'q2', qa: false };
  assert.equal(presentation(shown, { type: 'present', question_id: 'q2', qa: false }), shown, 'nothing new');
  assert.deepEqual(presentation(shown, { type: 'present', question_id: null }), none);
  assert.equal(presentation(shown, { type: 'presence', audience: 3 }), shown);
});

/* ------------------------------------------------------------ tallies */

test('only a tally newer than the one held is taken', () => {
  const t5 = { type: 'tally', question_id: 'q2', seq: 5, voters: 2 };
  let state = tallies({}, t5);
  assert.equal(state.q2, t5);
  assert.equal(tallies(state, { type: 'tally', question_id: 'q2', seq: 5, voters: 9 }), state, 'same seq');
  assert.equal(tallies(state, { type: 'tally', question_id: 'q2', seq: 4, voters: 9 }), state, 'older');
  state = tallies(state, { type: 'tally', question_id: 'q2', seq: 6, voters: 3 });
  assert.equal(state.q2.voters, 3);
  assert.equal(tallies(state, { type: 'tally', seq: 9 }), state, 'no question id');
});

test('a welcome brings every tally afresh, whatever seq was held', () => {
  const held = { q2: { question_id: 'q2', seq: 50, voters: 9 } };
  const state = tallies(held, welcome({ tallies: { q2: { question_id: 'q2', seq: 3, voters: 1 }, q3: null } }));
  assert.deepEqual(Object.keys(state), ['q2']);
  assert.equal(state.q2.seq, 3);
  assert.equal(tallies(state, { type: 'tally', question_id: 'q2', seq: 4, voters: 2 }).q2.voters, 2);
  assert.deepEqual(tallies(state, { type: 'question_removed', question_id: 'q2' }), {});
});

/* ------------------------------------------------------------ the whole view */

test('a view starts afresh from a welcome and renders only on a change', () => {
  let state = initialView({ drafts: false });
  state = view(state, welcome({
    title: 'Town hall', join_url: 'https://vote.example/123456', questions: [draft, open],
    current: 'q2', qa_on_screen: false, tallies: { q2: { question_id: 'q2', seq: 1, voters: 4 } }
  }));
  assert.equal(state.loaded, true);
  assert.equal(state.title, 'Town hall');
  assert.equal(state.joinUrl, 'https://vote.example/123456');
  assert.deepEqual(state.questions.map((q) => q.id), ['q2']);
  assert.equal(state.presentation.current, 'q2');
  assert.equal(state.tallies.q2.voters, 4);

  assert.equal(view(state, { type: 'qa_item', item: { id: 'x' } }), state, 'not for this view');
  assert.equal(view(state, { type: 'tally', question_id: 'q2', seq: 1 }), state, 'stale tally');
  assert.notEqual(view(state, welcome({ questions: [] })), state, 'a welcome always renders');

  const counted = view(state, { type: 'presence', audience: 12 });
  assert.equal(counted.audience, 12);
  assert.equal(view(counted, { type: 'presence', audience: 12 }), counted);
  assert.equal(view(state, { type: 'ended' }).ended, true);
});

test('the digest is kept only while the setting shows it', () => {
  const d = 'ab'.repeat(32);
  let state = view(initialView(), welcome({ settings: { qa_moderation: false, show_digest: true }, digest: d }));
  assert.equal(state.showDigest, true);
  assert.equal(state.digest, d);
  const off = view(state, { type: 'session', title: 'T', settings: { qa_moderation: false, show_digest: false } });
  assert.equal(off.showDigest, false);
  assert.equal(off.digest, '', 'turned off, the digest goes');
  const on = view(off, { type: 'session', title: 'T', settings: { qa_moderation: false, show_digest: true } });
  assert.equal(on.showDigest, true);
  assert.equal(view(initialView(), welcome({ settings: { show_digest: true }, digest: '<b>' })).digest, '', 'not hex: not taken');
  assert.equal(view(initialView(), welcome({ digest: d })).digest, '', 'without the setting: not kept');
});

test('the anonymity floor of breakdowns follows the settings, 5 until one says otherwise', () => {
  assert.equal(initialView().minGroup, 5);
  const state = view(initialView(), welcome({ settings: { qa_moderation: false, show_digest: false, min_group: 3 } }));
  assert.equal(state.minGroup, 3);
  const two = view(state, { type: 'session', title: 'T', settings: { qa_moderation: false, show_digest: false, min_group: 2 } });
  assert.equal(two.minGroup, 2);
  assert.equal(view(two, { type: 'session', title: 'T', settings: { min_group: 2 } }), two, 'the same floor changes nothing');
  assert.equal(view(two, { type: 'session', title: 'T', settings: { min_group: 0 } }).minGroup, 2, 'not a floor: not taken');
  assert.equal(view(two, { type: 'session', title: 'T', settings: { min_group: '9' } }).minGroup, 2);
});

test('a join link that is not http(s) is not taken', () => {
  const state = view(initialView(), welcome({ join_url: 'javascript:alert(1)' }));
  assert.equal(state.joinUrl, '');
});

test('the console, the projector and a phone build the same question from the same messages', () => {
  const msgs = [
    welcome({ questions: [draft, open], current: null }),
    { type: 'question', question: { id: 'q1', state: 'open', prompt: 'One?' } },
    { type: 'order', question_ids: ['q1', 'q2'] },
    { type: 'present', question_id: 'q1' },
    { type: 'tally', question_id: 'q1', seq: 2, voters: 1 }
  ];
  const console_ = reduce(view, initialView({ drafts: true }), msgs);
  const projector = reduce(view, initialView({ drafts: false }), msgs);
  assert.deepEqual(console_.questions, projector.questions);
  assert.deepEqual(console_.presentation, projector.presentation);
  assert.deepEqual(console_.tallies, projector.tallies);
});

/* ------------------------------------------------------------ ballots */

test('a phone\'s ballots follow its welcome, a reset and a removed question', () => {
  let state = ballots({}, welcome({}, { ballots: { q2: 1, q3: null, q4: ['a'] } }));
  assert.deepEqual(state, { q2: 1, q4: ['a'] });
  state = ballots(state, { type: 'ballot', question_id: 'q2', choice: null });
  assert.deepEqual(state, { q4: ['a'] });
  assert.equal(ballots(state, { type: 'ballot', question_id: 'q2', choice: null }), state);
  assert.deepEqual(ballots(state, { type: 'question_removed', question_id: 'q4' }), {});
  assert.equal(ballots(state, { type: 'tally' }), state);
});

/* ------------------------------------------------------------ the Q&A board */

const item = (id, status, extra) => Object.assign({ id: id, status: status, text: id, upvotes: 0 }, extra || {});

test('the board starts from the welcome\'s top items and its total', () => {
  const board = qaBoard(initialBoard(), welcome({
    qa: [item('a', 'approved'), item('b', 'pending')], qa_total: 150,
    settings: { qa_moderation: true }, qa_on_screen: true
  }));
  assert.equal(board.loaded, true);
  assert.deepEqual(Object.keys(board.items), ['a', 'b']);
  assert.equal(board.next, 2);
  assert.equal(board.total, 150);
  assert.equal(board.moderation, true);
  assert.equal(board.onScreen, true);
  assert.equal(hasMorePages(board), true);
});

test('a new item counts in the total; a hidden one leaves and does not come back with a page', () => {
  let board = qaBoard(initialBoard(), welcome({ qa: [item('a', 'approved')], qa_total: 3 }));
  board = qaBoard(board, { type: 'qa_item', item: item('c', 'approved') });
  assert.equal(board.total, 4);
  board = qaBoard(board, { type: 'qa_item', item: item('c', 'approved', { upvotes: 2 }) });
  assert.equal(board.total, 4, 'a known item is not counted again');
  assert.equal(board.items.c.upvotes, 2);
  board = qaBoard(board, { type: 'qa_item', item: item('a', 'hidden') });
  assert.deepEqual(Object.keys(board.items), ['c']);
  assert.equal(board.gone.a, true);
  // A page fetched before the hide still lists it: it stays gone.
  board = qaBoard(board, { type: 'qa_page_start' });
  assert.equal(board.paging, true);
  board = qaBoard(board, { type: 'qa_page', items: [item('a', 'approved'), item('b', 'approved')], total: 4 });
  assert.equal(board.paging, false);
  assert.deepEqual(Object.keys(board.items).sort(), ['b', 'c']);
  assert.equal(board.next, 3);
  assert.equal(board.total, 4);
});

test('an item hidden before this view knew it counts only on the moderator\'s board', () => {
  const msg = { type: 'qa_item', item: item('z', 'hidden') };
  const audience = qaBoard(qaBoard(initialBoard(), welcome({ qa: [], qa_total: 0 })), msg);
  const moderator = qaBoard(qaBoard(initialBoard({ countsHidden: true }), welcome({ qa: [], qa_total: 0 })), msg);
  assert.equal(audience.total, 0);
  assert.equal(moderator.total, 1);
  assert.equal(moderator.countsHidden, true, 'a welcome keeps the role\'s rule');
});

test('a page keeps the newer items the live messages brought; an empty page ends the paging', () => {
  let board = qaBoard(initialBoard(), welcome({ qa: [item('a', 'approved', { upvotes: 5 })], qa_total: 7 }));
  board = qaBoard(board, { type: 'qa_page', items: [item('a', 'approved', { upvotes: 1 })], total: 7 });
  assert.equal(board.items.a.upvotes, 5);
  board = qaBoard(board, { type: 'qa_page', items: [] });
  assert.equal(board.next, 7);
  assert.equal(hasMorePages(board), false);
  const failed = qaBoard(qaBoard(board, { type: 'qa_page_start' }), { type: 'qa_page_failed' });
  assert.equal(failed.paging, false);
  assert.equal(failed.next, board.next);
});

test('the moderation setting, the board on screen and the end of the session', () => {
  const board = qaBoard(initialBoard(), welcome({ qa: [] }));
  assert.equal(qaBoard(board, { type: 'session', settings: { qa_moderation: true } }).moderation, true);
  assert.equal(qaBoard(board, { type: 'session', title: 'x' }), board);
  assert.equal(qaBoard(board, { type: 'present', qa: true }).onScreen, true);
  assert.equal(qaBoard(board, { type: 'present', question_id: 'q1' }), board);
  assert.equal(qaBoard(board, { type: 'ended' }).loaded, false);
});

/* ------------------------------------------------------------ the phone's tab and upvotes */

test('the board going up on the screen brings the phone to the questions, and a question brings it back', () => {
  let tab = { tab: 'polls', onScreen: false };
  tab = phoneTab(tab, { type: 'present', qa: true });
  assert.deepEqual(tab, { tab: 'qa', onScreen: true });
  tab = phoneTab(tab, { type: 'show_tab', tab: 'polls' });
  assert.deepEqual(tab, { tab: 'polls', onScreen: true });
  assert.equal(phoneTab(tab, { type: 'present', qa: true }).tab, 'polls', 'already up: the choice stands');
  tab = phoneTab({ tab: 'qa', onScreen: true }, { type: 'present', question_id: 'q1', qa: false });
  assert.deepEqual(tab, { tab: 'polls', onScreen: false });
  // The board taken down with nothing in its place leaves the phone where it is.
  assert.equal(phoneTab({ tab: 'qa', onScreen: true }, { type: 'present', question_id: null }).tab, 'qa');
  assert.deepEqual(phoneTab({ tab: 'polls', onScreen: false }, welcome({ qa_on_screen: true })), { tab: 'qa', onScreen: true });
});

test('an upvote shows at once, and stops counting once the server\'s count has it', () => {
  const it = item('a', 'approved', { upvotes: 3 });
  let flying = upvotesInFlight({}, { type: 'upvote_sent', item_id: 'a', up: true, n: 1 });
  assert.equal(shownUpvotes(it, flying), 4);
  // A count that came before the ack does not include it yet.
  assert.equal(upvotesInFlight(flying, { type: 'qa_item', item: it }), flying);
  flying = upvotesInFlight(flying, { type: 'upvote_acked', item_id: 'a', n: 1 });
  flying = upvotesInFlight(flying, { type: 'qa_item', item: item('a', 'approved', { upvotes: 4 }) });
  assert.deepEqual(flying, {});
});

test('an older upvote\'s answer does not touch the newer one', () => {
  let flying = upvotesInFlight({}, { type: 'upvote_sent', item_id: 'a', up: true, n: 1 });
  flying = upvotesInFlight(flying, { type: 'upvote_sent', item_id: 'a', up: false, n: 2 });
  assert.equal(upvotesInFlight(flying, { type: 'upvote_dropped', item_id: 'a', n: 1 }), flying);
  assert.equal(upvotesInFlight(flying, { type: 'upvote_acked', item_id: 'a', n: 1 }), flying);
  assert.equal(shownUpvotes(item('a', 'approved', { upvotes: 0 }), flying), 0, 'never below zero');
  assert.deepEqual(upvotesInFlight(flying, { type: 'upvote_dropped', item_id: 'a', n: 2 }), {});
  assert.deepEqual(upvotesInFlight(flying, { type: 'qa_item', item: item('a', 'hidden') }), {});
  assert.deepEqual(upvotesInFlight(flying, welcome({})), {});
});

/* ------------------------------------------------------------ the store */

test('a store tells its subscribers only about changes', () => {
  const store = createStore(tallies, {});
  const seen = [];
  store.subscribe((state, msg) => seen.push(msg.seq));
  assert.equal(store.dispatch({ type: 'tally', question_id: 'q', seq: 1 }), true);
  assert.equal(store.dispatch({ type: 'tally', question_id: 'q', seq: 1 }), false);
  assert.equal(store.dispatch({ type: 'tally', question_id: 'q', seq: 2 }), true);
  assert.deepEqual(seen, [1, 2]);
  assert.equal(store.state.q.seq, 2);
});
