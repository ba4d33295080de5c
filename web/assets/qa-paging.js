// Paging through a long Q&A board: the welcome carries the top 100 items,
// GET /api/sessions/{code}/qa the rest, a page at a time. The page goes
// through the board's reducer as a `qa_page` message.

import { api } from './http.js';
import { t } from './i18n.js';
import { toast } from './ui.js';

// Fetches the next page of the board held in `board` (a store of qaBoard).
export function loadQaPage(board, code, token) {
  if (board.state.paging) return;
  board.dispatch({ type: 'qa_page_start' });
  const path = '/api/sessions/' + encodeURIComponent(code) + '/qa?offset=' + board.state.next + '&limit=100';
  function failed() {
    board.dispatch({ type: 'qa_page_failed' });
    toast(t('Could not load more questions.'), 'error');
  }
  api('GET', path, undefined, token || undefined).then(function (res) {
    const body = res.body || {};
    if (!res.ok || !Array.isArray(body.items)) failed();
    else board.dispatch({ type: 'qa_page', items: body.items, total: body.total });
  }, failed);
}
