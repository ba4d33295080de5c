// The scale check of an event: ROOMS rooms of PHONES phones each, every
// phone voting at the same moment, and the organiser's overview (one socket,
// /ws/events/{id}) showing every room's count. Run against a server on this
// machine (loopback only), with its per-address limits lifted, e.g.
//
//   handsup serve --in-memory --addr 127.0.0.1:8090 --ip-max-sockets 20000 \
//     --ip-connections-per-sec 100000 --ip-connections-burst 100000 \
//     --ip-participants-per-sec 100000 --ip-participants-burst 100000 \
//     --ip-sessions-per-min 10000 --ip-sessions-burst 1000
//   node --experimental-websocket benches/event-rooms.mjs --url http://127.0.0.1:8090
//
// Options: --rooms 20 --phones 220 --concurrency 200. Prints one JSON line:
// how long the phones took to connect, when the overview showed them all,
// the vote acks (median and slowest), and for the votes how long after the
// burst the overview showed each room's final count (slowest room, median).

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, "")] = process.argv[i + 1];
const URL_ = args.url || "http://127.0.0.1:8090";
if (!/^http:\/\/(127\.\d+\.\d+\.\d+|localhost)(:\d+)?$/.test(URL_)) throw new Error("loopback URLs only");
const ROOMS = Number(args.rooms || 20);
const PHONES = Number(args.phones || 220);
const CONCURRENCY = Number(args.concurrency || 200);
const WS = URL_.replace(/^http/, "ws");

const now = () => performance.now();
async function api(method, path, body, token) {
  const headers = { "content-type": "application/json" };
  if (token) headers.authorization = "Bearer " + token;
  const res = await fetch(URL_ + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}
const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};

const event = await api("POST", "/api/events", { title: `Scale check: ${ROOMS} rooms` });
const rooms = [];
for (let r = 0; r < ROOMS; r++) {
  const s = await api("POST", "/api/sessions", {
    title: `Room ${r + 1}`,
    questions: [{ kind: "single", prompt: "Which option?", options: ["A", "B", "C", "D"] }],
    event: { id: event.id, organiser_token: event.organiser_token },
  });
  const view = await api("GET", `/api/sessions/${s.code}`, undefined, event.organiser_token);
  const qid = view.questions[0].id;
  await api("POST", `/api/sessions/${s.code}/questions/${qid}/open`, {}, event.organiser_token);
  rooms.push({ code: s.code, qid });
}

// The overview: every frame kept with the time it arrived.
let latest = null;
const watchers = [];
const overview = new WebSocket(`${WS}/ws/events/${event.id}`);
overview.onopen = () => overview.send(JSON.stringify({ type: "hello", role: "organiser", token: event.organiser_token }));
overview.onmessage = (m) => {
  const v = JSON.parse(m.data);
  if (v.type !== "event") return;
  latest = { at: now(), rooms: new Map(v.event.sessions.map((s) => [s.code, s])) };
  for (const w of [...watchers]) w(latest);
};
function until(pred, timeoutMs) {
  return new Promise((resolve, reject) => {
    if (latest && pred(latest)) return resolve(latest);
    const t = setTimeout(() => reject(new Error("the overview never showed it")), timeoutMs);
    const w = (f) => {
      if (pred(f)) {
        clearTimeout(t);
        watchers.splice(watchers.indexOf(w), 1);
        resolve(f);
      }
    };
    watchers.push(w);
  });
}

// The phones, CONCURRENCY at a time.
const phones = [];
for (const room of rooms) for (let i = 0; i < PHONES; i++) phones.push({ room, choice: (i * 7) % 4 });
function connect(p) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${WS}/ws/${p.room.code}`);
    p.ws = ws;
    ws.onopen = () => ws.send(JSON.stringify({ type: "hello", role: "audience" }));
    ws.onerror = () => reject(new Error("a phone could not connect"));
    ws.onmessage = (m) => {
      const v = JSON.parse(m.data);
      if (v.type === "welcome") resolve();
      if (v.type === "ack" && v.ref === "v" && p.sent) p.acked = now() - p.sent;
      if (v.type === "error" && v.ref === "v") p.error = v.code;
    };
  });
}
const tConnect = now();
let next = 0;
await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
  while (next < phones.length) await connect(phones[next++]);
}));
const connectS = (now() - tConnect) / 1000;
const all = PHONES;
const seen = await until((f) => rooms.every((r) => f.rooms.get(r.code)?.audience === all), 30000);
const overviewConnectedMs = seen.at - tConnect - connectS * 1000;

// Every phone votes at once.
await new Promise((r) => setTimeout(r, 1000));
const burst = now();
for (const p of phones) {
  p.sent = now();
  p.ws.send(JSON.stringify({ type: "vote", question_id: p.room.qid, choice: p.choice, ref: "v" }));
}
const shown = new Map();
await until((f) => {
  for (const r of rooms) {
    if (!shown.has(r.code) && f.rooms.get(r.code)?.current?.voters === all) shown.set(r.code, f.at - burst);
  }
  return shown.size === rooms.length;
}, 60000);
const deadline = now() + 30000;
while (phones.some((p) => p.acked === undefined && !p.error) && now() < deadline) await new Promise((r) => setTimeout(r, 50));
const acks = phones.filter((p) => p.acked !== undefined).map((p) => p.acked);
const errors = phones.filter((p) => p.error).length;
const perRoom = [...shown.values()];
console.log(JSON.stringify({
  rooms: ROOMS,
  phones_per_room: PHONES,
  phones: phones.length,
  connect_s: +connectS.toFixed(2),
  overview_all_connected_after_last_welcome_ms: Math.round(overviewConnectedMs),
  votes_acked: acks.length,
  vote_errors: errors,
  ack_ms_p50: Math.round(quantile(acks, 0.5)),
  ack_ms_max: Math.round(Math.max(...acks)),
  overview_room_final_count_ms_p50: Math.round(quantile(perRoom, 0.5)),
  overview_room_final_count_ms_max: Math.round(Math.max(...perRoom)),
}));
await api("DELETE", `/api/events/${event.id}`, undefined, event.organiser_token);
overview.close();
for (const p of phones) p.ws.close();
process.exit(0);
