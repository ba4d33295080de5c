/* handsup: the organiser's overview of an event (/events/{id}#token=...).
   Every room on one page over one socket: its title and code, the phones
   connected, the question on screen (else the one open) and its state, the
   Q&A waiting for moderation; from each room, its console and projector,
   and a link for its chair. The organiser token comes from location.hash
   and travels in the hello frame and the Authorization header only. */

import { $, clear, el, on, setText } from './dom.js';
import { spacedCode } from './format.js';
import { api, apiError } from './http.js';
import { i18n, startI18n, t } from './i18n.js';
import { connectionBadge, toast } from './ui.js';
import { fetchFile, fileButton, openReport, saveBlob } from './files.js';

function eventIdFromPath() {
  const m = /^\/events\/([0-9a-fA-F-]{36})\/?$/.exec(window.location.pathname);
  return m ? m[1] : null;
}

function tokenFromHash() {
  const parts = window.location.hash.replace(/^#/, '').split('&');
  for (let i = 0; i < parts.length; i++) {
    const kv = parts[i].split('=');
    if (kv[0] === 'token' && kv[1]) {
      try { return decodeURIComponent(kv.slice(1).join('=')); } catch (e) { return null; }
    }
  }
  return null;
}

const STATES = { open: 'Open', closed: 'Closed', draft: 'Draft' };

const id = eventIdFromPath();
if (!id) window.location.replace('/');
else start();

function start() {
  startI18n();
  const token = tokenFromHash();
  const rooms = new Map();
  let view = null;
  let socket = null;
  let retry = 1000;
  let over = false;

  function fatal(title, text) {
    over = true;
    const box = $('#fatal');
    box.hidden = false;
    if (title) setText($('#fatal-title'), title);
    if (text) setText($('#fatal-text'), text);
    $('#main').hidden = true;
    connectionBadge($('#conn'), 'fatal');
  }

  if (!token) {
    fatal();
    return;
  }

  // --- The files of the whole event ------------------------------------

  function button(node, run) {
    fileButton(node, run, function (err) { return err.message || t('Something went wrong.'); });
  }

  button($('#download-csv'), function () {
    return fetchFile('/api/events/' + id + '/export.csv', token).then(function (blob) {
      saveBlob(blob, 'handsup-event-results.csv');
    });
  });

  button($('#open-report'), function () {
    return openReport('/api/events/' + id + '/report.html', token, 'handsup-event-report.html');
  });

  // --- One card per room -------------------------------------------------

  function mint(room, select, out) {
    const role = select.value;
    return api('POST', '/api/sessions/' + room.code + '/links',
      { role: role, label: t(role === 'cohost' ? 'Co-host' : 'Chair') }, token).then(function (res) {
      if (!res.ok) {
        toast(apiError(res).message, 'error');
        return;
      }
      const input = el('input', { type: 'text', readonly: true, value: res.body.url, 'aria-label': t('Link for the chair') });
      const copy = el('button', { type: 'button', className: 'btn btn-secondary btn-small', text: t('Copy') });
      on(copy, 'click', function () {
        input.select();
        if (navigator.clipboard) navigator.clipboard.writeText(input.value).then(function () { toast(t('Copied.')); }, function () {});
      });
      clear(out).appendChild(el('div', { className: 'ev-minted' }, [input, copy]));
      out.hidden = false;
    }, function () {
      toast(t('Could not reach the server. Check the connection and try again.'), 'error');
    });
  }

  function card(code) {
    const title = el('h2');
    const codeNode = el('span', { className: 'ev-code' });
    const people = el('dd', { className: 'ev-people' });
    const pending = el('dd', { className: 'ev-qa-pending' });
    const voters = el('dd', { className: 'ev-voters' });
    const question = el('p', { className: 'ev-question' });
    const consoleLink = el('a', { className: 'btn btn-small ev-console', target: '_blank', rel: 'noopener' });
    const screenLink = el('a', { className: 'btn btn-secondary btn-small ev-projector', target: '_blank', rel: 'noopener' });
    const select = el('select', { className: 'ev-role', 'aria-label': t('Role of the link') });
    const mintButton = el('button', { type: 'button', className: 'btn btn-secondary btn-small ev-mint' });
    const minted = el('div', { className: 'ev-minted-box', hidden: true });
    const peopleLabel = el('dt');
    const votersLabel = el('dt');
    const pendingLabel = el('dt');
    const node = el('li', { className: 'ev-room', dataset: { code: code } }, [
      title,
      codeNode,
      el('dl', { className: 'ev-figures' }, [
        el('div', null, [peopleLabel, people]),
        el('div', null, [votersLabel, voters]),
        el('div', { className: 'ev-pending' }, [pendingLabel, pending])
      ]),
      question,
      el('div', { className: 'ev-actions' }, [consoleLink, screenLink, select, mintButton]),
      minted
    ]);
    const c = {
      node: node, title: title, code: codeNode, people: people, pending: pending, voters: voters,
      question: question, consoleLink: consoleLink, screenLink: screenLink, select: select,
      mintButton: mintButton, minted: minted, room: null,
      labels: function () {
        setText(peopleLabel, t('Phones'));
        setText(votersLabel, t('Voters'));
        setText(pendingLabel, t('Q&A to moderate'));
        setText(consoleLink, t('Open console'));
        setText(screenLink, t('Open projector'));
        setText(mintButton, t('Link for the chair'));
        const chosen = select.value || 'presenter';
        clear(select);
        select.appendChild(el('option', { value: 'presenter', text: t('Presenter') }));
        select.appendChild(el('option', { value: 'cohost', text: t('Co-host') }));
        select.value = chosen;
      }
    };
    on(mintButton, 'click', function () {
      if (mintButton.disabled || !c.room) return;
      mintButton.disabled = true;
      mint(c.room, select, minted).then(function () { mintButton.disabled = false; });
    });
    c.labels();
    return c;
  }

  function fill(c, room) {
    c.room = room;
    setText(c.title, room.title);
    setText(c.code, t('Code') + ' ' + spacedCode(room.code));
    setText(c.people, room.audience);
    setText(c.pending, room.qa_pending);
    c.pending.parentNode.classList.toggle('has-some', room.qa_pending > 0);
    const q = room.current;
    setText(c.voters, q ? q.voters : '–');
    clear(c.question);
    if (q) {
      c.question.appendChild(el('span', { className: 'ev-state', dataset: { state: q.state }, text: t(STATES[q.state] || q.state) }));
      c.question.appendChild(document.createTextNode(q.prompt));
      if (!q.on_screen) c.question.appendChild(el('span', { className: 'ev-none', text: ' · ' + t('not on screen') }));
    } else {
      c.question.appendChild(el('span', { className: 'ev-none', text: room.qa_on_screen ? t('Q&A on screen') : t('No question on screen') }));
    }
    c.consoleLink.href = room.urls.moderator;
    c.screenLink.href = room.urls.projector;
  }

  function render() {
    if (!view) return;
    document.title = view.title + ' · ' + t('Event overview');
    setText($('#title'), view.title);
    const list = $('#rooms');
    const seen = new Set();
    let people = 0;
    view.sessions.forEach(function (room) {
      seen.add(room.code);
      people += room.audience;
      let c = rooms.get(room.code);
      if (!c) {
        c = card(room.code);
        rooms.set(room.code, c);
      }
      fill(c, room);
      list.appendChild(c.node);
    });
    rooms.forEach(function (c, code) {
      if (!seen.has(code)) {
        if (c.node.parentNode) c.node.parentNode.removeChild(c.node);
        rooms.delete(code);
      }
    });
    setText($('#people'), people);
    const n = view.sessions.length;
    setText($('#rooms-count'), n === 1 ? t('1 room') : t('{n} rooms', { n: n }));
    $('#empty').hidden = n > 0;
  }

  i18n.onChange(function () {
    rooms.forEach(function (c) { c.labels(); });
    render();
  });

  // --- The socket ----------------------------------------------------------

  function connect() {
    if (over) return;
    connectionBadge($('#conn'), socket ? 'waiting' : 'connecting');
    const url = (window.location.protocol === 'https:' ? 'wss://' : 'ws://') + window.location.host + '/ws/events/' + id;
    const ws = new WebSocket(url);
    socket = ws;
    on(ws, 'open', function () {
      ws.send(JSON.stringify({ type: 'hello', role: 'organiser', token: token }));
    });
    on(ws, 'message', function (e) {
      let msg = null;
      try { msg = JSON.parse(e.data); } catch (err) { return; }
      if (msg.type === 'event') {
        retry = 1000;
        connectionBadge($('#conn'), 'open');
        view = msg.event;
        render();
      } else if (msg.type === 'ended') {
        over = true;
        connectionBadge($('#conn'), 'ended');
        fatal(t('This event has ended.'), t('Its sessions have ended too.'));
      } else if (msg.type === 'error' && msg.code === 'unauthorized') {
        fatal();
      } else if (msg.type === 'error' && msg.code === 'not_found') {
        fatal(t('No event here'), t('This event does not exist, or it has ended.'));
      }
    });
    on(ws, 'close', function (e) {
      if (over) return;
      if (e.code === 4401) { fatal(); return; }
      connectionBadge($('#conn'), 'waiting');
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 15000);
    });
  }

  // An unknown event answers the upgrade with 404, which a socket cannot
  // read: ask over HTTP first.
  api('GET', '/api/events/' + id, undefined, token).then(function (res) {
    if (res.status === 404) { fatal(t('No event here'), t('This event does not exist, or it has ended.')); return; }
    if (res.status === 401 || res.status === 403) { fatal(); return; }
    if (res.ok && res.body) { view = res.body; render(); }
    connect();
  }, function () { connect(); });
}
