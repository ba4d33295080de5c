// Phones against docker/cluster.compose.yaml, run by tests/docker/run.sh
// (node --experimental-websocket on Node 20).
//
//   node phones.mjs --lb URL --nodes URL,URL,URL --node-containers ID,ID,ID
//                   --redis-container ID [--phones N]
//
// Every phone goes through the load balancer (--lb); the node URLs are read
// directly only to see where the phones landed (/metrics) and what each node
// reports. Three rounds:
//   1. spread: the phones connect and vote; each node holds some of them, and
//      every phone, the projector and every node show the same exact counts;
//   2. a node killed (docker kill) while the phones vote: its phones reconnect
//      through the load balancer with their token and finish their vote there;
//      the counts are exactly the last acknowledged ballot of every phone;
//   3. Redis killed (SIGKILL) while the phones vote, and started again: votes
//      get `unavailable` meanwhile and are retried; nothing acknowledged is
//      lost (the compose file's AOF survives a crash of the Redis process).
// Prints one JSON line of figures at the end; exits non-zero on any failure.

import { execFileSync } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";

const args = {};
for (let i = 2; i < process.argv.length; i += 2) {
  args[process.argv[i].replace(/^--/, "")] = process.argv[i + 1];
}
const LB = args.lb;
const NODES = args.nodes.split(",");
const NODE_CONTAINERS = args["node-containers"].split(",");
const REDIS_CONTAINER = args["redis-container"];
const N = Number(args.phones || 60);
const OPTIONS = ["Mentoring", "Funding", "Training"];

const t0 = Date.now();
const log = (...a) => console.log(`[phones ${((Date.now() - t0) / 1000).toFixed(1)}s]`, ...a);
function fail(msg) {
  console.error(`FAIL: ${msg}`);
  process.exit(1);
}
function check(cond, msg) {
  if (!cond) fail(msg);
}
function docker(...a) {
  return execFileSync("docker", a, { encoding: "utf8" }).trim();
}

async function http(base, method, path, token, body) {
  const headers = { "content-type": "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  const r = await fetch(base + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10000),
  });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}

async function until(what, seconds, f) {
  const deadline = Date.now() + seconds * 1000;
  let last;
  for (;;) {
    try {
      last = await f();
      if (last && last.ok) return last;
    } catch (e) {
      last = { error: String(e) };
    }
    if (Date.now() > deadline) fail(`${what}: not within ${seconds} s (last: ${JSON.stringify(last)})`);
    await sleep(100);
  }
}

const wsUrl = (code) => LB.replace(/^http/, "ws") + `/ws/${code}`;

/// One websocket client: hello, then acks matched to their refs.
class Client {
  constructor(code, role, token) {
    this.code = code;
    this.role = role;
    this.token = token;
    this.pending = new Map();
    this.tallies = new Map();
    this.reconnects = 0;
    this.connected = false;
    this.ws = null;
    this.refs = 0;
  }

  /// Opens the socket and waits for the welcome, retrying until `seconds` pass.
  async connect(seconds = 30) {
    const deadline = Date.now() + seconds * 1000;
    for (;;) {
      try {
        return await this.#open();
      } catch (e) {
        if (Date.now() > deadline) fail(`${this.role} could not connect: ${e}`);
        await sleep(200);
      }
    }
  }

  #open() {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(wsUrl(this.code));
      this.ws = ws;
      let welcomed = false;
      const timer = setTimeout(() => {
        reject(new Error("no welcome in 5 s"));
        ws.close();
      }, 5000);
      ws.onopen = () => {
        const hello = { type: "hello", role: this.role };
        if (this.token) hello.token = this.token;
        ws.send(JSON.stringify(hello));
      };
      ws.onmessage = (ev) => {
        const m = JSON.parse(ev.data);
        if (m.type === "welcome") {
          welcomed = true;
          clearTimeout(timer);
          this.connected = true;
          if (m.participant_token) this.token = m.participant_token;
          this.welcome = m;
          resolve(m);
        } else if ((m.type === "ack" || m.type === "error") && m.ref && this.pending.has(m.ref)) {
          const p = this.pending.get(m.ref);
          this.pending.delete(m.ref);
          p.resolve(m);
        } else if (m.type === "tally") {
          this.tallies.set(m.question_id, m);
        } else if (m.type === "error" && !welcomed) {
          clearTimeout(timer);
          reject(new Error(`error before the welcome: ${ev.data}`));
        }
      };
      const gone = () => {
        clearTimeout(timer);
        if (this.ws === ws) this.connected = false;
        for (const p of this.pending.values()) p.resolve({ type: "closed" });
        this.pending.clear();
        if (!welcomed) reject(new Error("closed before the welcome"));
      };
      ws.onclose = gone;
      ws.onerror = () => {};
    });
  }

  /// Sends a message and waits for its ack or error (or the socket's end).
  call(msg, seconds = 5) {
    const ref = `r${++this.refs}`;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(ref);
        resolve({ type: "timeout" });
      }, seconds * 1000);
      this.pending.set(ref, {
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      });
      try {
        this.ws.send(JSON.stringify({ ...msg, ref }));
      } catch {
        this.pending.delete(ref);
        clearTimeout(timer);
        resolve({ type: "closed" });
      }
    });
  }

  close() {
    try {
      this.ws.close();
    } catch {}
  }
}

class Phone extends Client {
  constructor(code, i) {
    super(code, "audience", null);
    this.i = i;
    this.acked = null; // the choice of the last acknowledged vote
    this.unavailable = 0;
    this.timeouts = 0;
  }

  /// Votes until the vote is acknowledged: through a reconnect (with the same
  /// token) when the socket goes, again after `unavailable`.
  async vote(qid, choice, seconds = 60) {
    const deadline = Date.now() + seconds * 1000;
    for (;;) {
      check(Date.now() < deadline, `phone ${this.i}: vote ${choice} not acknowledged within ${seconds} s`);
      if (!this.connected) {
        this.reconnects++;
        await this.connect(seconds);
      }
      const r = await this.call({ type: "vote", question_id: qid, choice });
      if (r.type === "ack") {
        this.acked = choice;
        return;
      }
      if (r.type === "error") {
        check(r.code === "unavailable", `phone ${this.i}: vote refused: ${JSON.stringify(r)}`);
        this.unavailable++;
        await sleep(250);
      } else if (r.type === "timeout") {
        this.timeouts++;
        this.close();
        this.connected = false;
      }
      // closed: reconnect on the next turn
    }
  }
}

async function metricsOf(node) {
  const r = await fetch(`${node}/metrics`, { signal: AbortSignal.timeout(5000) });
  const text = await r.text();
  const get = (re) => Number((text.match(re) || [])[1] || 0);
  return {
    audience: get(/^handsup_connections\{role="audience"\} (\d+)/m),
    accepted: get(/^handsup_votes_accepted_total (\d+)/m),
  };
}

function countsOf(phones) {
  const c = OPTIONS.map(() => 0);
  for (const p of phones) c[p.acked]++;
  return c;
}

async function resultsThrough(base, s, qid) {
  const r = await http(base, "GET", `/api/sessions/${s.code}/results`, s.moderator_token);
  if (r.status !== 200) return { ok: false, status: r.status };
  const q = r.body.questions.find((q) => q.id === qid);
  return { ok: true, counts: q.tally.counts, voters: q.tally.voters };
}

/// Every node in `bases` answers the exact counts (within `seconds`).
async function nodesAgree(what, bases, s, qid, want, seconds = 10) {
  for (const base of bases) {
    await until(`${what}: results through ${base} = ${want}`, seconds, async () => {
      const r = await resultsThrough(base, s, qid);
      return { ...r, ok: r.ok && JSON.stringify(r.counts) === JSON.stringify(want) && r.voters === N };
    });
  }
}

/// Every phone, and the projector, hold a tally with the exact counts.
async function viewsAgree(what, phones, screen, qid, want, seconds = 10) {
  const same = (c) => {
    const t = c.tallies.get(qid);
    return t && JSON.stringify(t.counts) === JSON.stringify(want) && t.voters === N;
  };
  await until(`${what}: the projector shows ${want}`, seconds, async () => ({ ok: same(screen) }));
  await until(`${what}: every phone shows ${want}`, seconds, async () => {
    const behind = phones.filter((p) => !same(p)).map((p) => p.i);
    return { ok: behind.length === 0, behind };
  });
}

/// The phones vote again and again (each vote waits for its ack) until `stop`
/// is set; then each finishes the vote it is on and stops.
async function voteUntilStopped(phones, qid, flag) {
  let votes = 0;
  await Promise.all(
    phones.map(async (p, k) => {
      let n = 1;
      while (!flag.stop) {
        await p.vote(qid, (p.i + n++) % OPTIONS.length);
        votes++;
        await sleep(100 + ((k * 37) % 200));
      }
    }),
  );
  return votes;
}

const figures = { phones: N };

// ---- a session through the load balancer ---------------------------------
const created = await http(LB, "POST", "/api/sessions", null, {
  title: "Containers check",
  questions: [{ kind: "single", prompt: "Which approach worked best?", options: OPTIONS }],
});
check(created.status === 201, `create: ${JSON.stringify(created)}`);
const s = created.body;
const view = await http(LB, "GET", `/api/sessions/${s.code}`, s.moderator_token);
const qid = view.body.questions[0].id;
for (const act of ["open", "reveal"]) {
  const r = await http(LB, "POST", `/api/sessions/${s.code}/questions/${qid}/${act}`, s.moderator_token, {});
  check(r.status === 200, `${act}: ${JSON.stringify(r)}`);
}
await http(LB, "POST", `/api/sessions/${s.code}/present`, s.moderator_token, { question_id: qid });
log(`session ${s.code}, question open and revealed`);

// ---- 1. spread, and the same counts everywhere ---------------------------
const before = await Promise.all(NODES.map(metricsOf));
const screen = new Client(s.code, "projector", null);
await screen.connect();
const phones = [];
for (let i = 0; i < N; i++) {
  const p = new Phone(s.code, i);
  await p.connect();
  phones.push(p);
}
const spread = (await Promise.all(NODES.map(metricsOf))).map((m, k) => m.audience - before[k].audience);
figures.phones_per_node = spread;
log(`phones per node: ${spread.join(" / ")}`);
check(spread.reduce((a, b) => a + b, 0) === N, `the nodes hold ${spread} phones, not ${N}`);
check(spread.every((n) => n > 0), `every node should hold some of the phones: ${spread}`);

await Promise.all(phones.map((p) => p.vote(qid, p.i % OPTIONS.length)));
let want = countsOf(phones);
check(JSON.stringify(want) === JSON.stringify([N / 3, N / 3, N / 3].map(Math.floor)), `acked ${want}`);
await viewsAgree("round 1", phones, screen, qid, want);
await nodesAgree("round 1", NODES, s, qid, want);
const accepted = (await Promise.all(NODES.map(metricsOf))).map((m, k) => m.accepted - before[k].accepted);
figures.round1_votes_per_node = accepted;
check(accepted.every((n) => n > 0), `every node should have counted votes: ${accepted}`);
log(`round 1: ${N} votes, counted per node ${accepted.join(" / ")}; ${want} on every phone, the projector and every node`);

// ---- 2. a node killed while the phones vote ------------------------------
const held = (await Promise.all(NODES.map(metricsOf))).map((m) => m.audience);
const victim = held.indexOf(Math.max(...held));
const flag = { stop: false };
const voting = voteUntilStopped(phones, qid, flag);
await sleep(2000);
const killedAt = Date.now();
docker("kill", NODE_CONTAINERS[victim]);
log(`killed node ${victim + 1} (it held ${held[victim]} phones) while the phones vote`);
await sleep(3000);
flag.stop = true;
figures.round2_votes = await voting;
figures.round2_phones_on_killed_node = held[victim];
figures.round2_reconnects = phones.reduce((a, p) => a + p.reconnects, 0);
figures.round2_finished_s = Number(((Date.now() - killedAt) / 1000).toFixed(1));
check(
  figures.round2_reconnects >= held[victim],
  `the ${held[victim]} phones of the killed node should have reconnected (reconnects: ${figures.round2_reconnects})`,
);
want = countsOf(phones);
const survivors = NODES.filter((_, k) => k !== victim);
if (!screen.connected) await screen.connect();
await viewsAgree("round 2", phones, screen, qid, want);
await nodesAgree("round 2", [LB, ...survivors], s, qid, want);
const after2 = (await Promise.all(survivors.map(metricsOf))).map((m) => m.audience);
check(after2.reduce((a, b) => a + b, 0) === N, `the surviving nodes hold ${after2} phones, not ${N}`);
log(
  `round 2: ${figures.round2_votes} votes acked, ${figures.round2_reconnects} reconnects; ` +
    `${want} everywhere; the surviving nodes hold ${after2.join(" / ")} phones`,
);
docker("start", NODE_CONTAINERS[victim]);
await until(`node ${victim + 1} back`, 30, async () => {
  const r = await http(NODES[victim], "GET", "/healthz");
  return { ok: r.status === 200 && r.body.redis === true };
});
await nodesAgree("node back", [NODES[victim]], s, qid, want);
log(`node ${victim + 1} started again and reads ${want}`);

// ---- 3. Redis killed while the phones vote -------------------------------
// 3a. A crash of the Redis process just after it acknowledged votes: the
// phones vote until the kill, then each finishes the vote it is on (through
// the outage) and stops; every phone's last acknowledged ballot must be there.
for (const p of phones) p.reconnects = 0;
flag.stop = false;
const voting3 = voteUntilStopped(phones, qid, flag);
await sleep(2000);
docker("kill", REDIS_CONTAINER);
flag.stop = true;
log("killed Redis (SIGKILL) while the phones vote");
await sleep(2000);
docker("start", REDIS_CONTAINER);
figures.round3_votes_before_the_kill = await voting3;
want = countsOf(phones);
if (!screen.connected) await screen.connect();
await nodesAgree("Redis crashed", [LB, ...NODES], s, qid, want, 20);
await viewsAgree("Redis crashed", phones, screen, qid, want, 15);
log(`round 3a: ${figures.round3_votes_before_the_kill} votes acked up to the kill; after it, ${want} everywhere`);

// 3b. Votes while Redis is away: answered `unavailable`, retried until it is
// back, and counted once.
docker("stop", "-t", "10", REDIS_CONTAINER);
const stoppedAt = Date.now();
log("stopped Redis; every phone votes while it is away");
for (const p of phones) p.unavailable = 0;
const outage = Promise.all(phones.map((p) => p.vote(qid, (p.i + 2) % OPTIONS.length)));
await sleep(3000);
docker("start", REDIS_CONTAINER);
await outage;
figures.round3_outage_s = 3;
figures.round3_unavailable = phones.reduce((a, p) => a + p.unavailable, 0);
figures.round3_timeouts = phones.reduce((a, p) => a + p.timeouts, 0);
figures.round3_reconnects = phones.reduce((a, p) => a + p.reconnects, 0);
figures.round3_all_acked_after_s = Number(((Date.now() - stoppedAt) / 1000).toFixed(1));
check(
  figures.round3_unavailable + figures.round3_timeouts > 0,
  "every vote was acknowledged at once while Redis was away: the outage was not met",
);
want = countsOf(phones);
check(
  JSON.stringify(want) === JSON.stringify([N / 3, N / 3, N / 3].map(Math.floor)),
  `the outage votes were acked as ${want}`,
);
await nodesAgree("Redis back", [LB, ...NODES], s, qid, want, 20);
await viewsAgree("Redis back", phones, screen, qid, want, 15);
log(
  `round 3b: ${N} votes during a 3 s outage: ${figures.round3_unavailable} answers unavailable, ` +
    `${figures.round3_timeouts} timeouts, ${figures.round3_reconnects} reconnects; all acked ` +
    `${figures.round3_all_acked_after_s} s after the stop; ${want} everywhere`,
);

figures.final_counts = want;
for (const p of phones) p.close();
screen.close();
console.log(`FIGURES ${JSON.stringify(figures)}`);
process.exit(0);
