//! The live side of one session: the domain state behind one lock, the
//! connections attached to it, and the coalesced fan-out of tallies.
//!
//! Every change of state happens under the session's lock, and so does every
//! broadcast it causes, so each connection sees events in the order they
//! happened and a newly attached connection misses none. The lock is a plain
//! (non-async) mutex: nothing awaits while holding it, and what it guards is
//! a few map updates. Sessions never share a lock with each other.
//!
//! Tallies do not travel through the event queues. A publisher task per
//! session wakes when ballots change, serialises each changed tally once,
//! and puts the frames on three latest-state boards (moderator, projector,
//! audience), at most once per interval each. Every connection's writer
//! watches its role's board and sends what moved since it last looked: a slow
//! reader skips straight to the newest state, and the final counts always
//! arrive.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;

use axum::extract::ws::Utf8Bytes;
use parking_lot::Mutex;
use serde_json::{json, Map, Value};
use tokio::sync::{watch, Notify};
use tokio::time::{sleep_until, Instant};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::cluster::Cluster;
use crate::domain::qa::QaStatus;
use crate::domain::{Choice, KindName, QuestionSpec, RawChoice, Session, Tally};
use crate::error::{Error, ErrorCode, Result};
use crate::hub::{new_token, Shared};
use crate::journal::{self, Durable, Event, Hash};
use crate::outbox::{Close, Outbox, CLOSE_NORMAL};
use crate::protocol::{
    self, choice_json, question_spec_json, Presentation, QuestionAction, Role, TallyOut,
};
use crate::rate::Bucket;

/// Audience groups, published in turn across the audience interval.
const AUDIENCE_GROUPS: usize = 50;

/// One tally frame on a board.
#[derive(Clone, Debug)]
pub struct BoardTally {
    pub question_id: Uuid,
    pub seq: u64,
    pub frame: Utf8Bytes,
}

/// The latest tallies (and, for staff, presence) a role may see.
#[derive(Clone, Debug, Default)]
pub struct Board {
    pub tallies: Vec<BoardTally>,
    /// A version that grows with each change, and the `presence` frame.
    pub presence: Option<(u64, Utf8Bytes)>,
}

/// The last tally published for a question.
struct Published {
    /// The question's ballot version it shows; None forces a new one.
    version: Option<u64>,
    seq: u64,
    frame: Utf8Bytes,
    /// The same tally as JSON without `type`, for views and results.
    value: Value,
}

struct ConnEntry {
    role: Role,
    participant: Option<u32>,
    outbox: Arc<Outbox>,
}

struct State {
    session: Session,
    /// Attached connections by id.
    conns: HashMap<u64, ConnEntry>,
    next_conn: u64,
    /// Attached audience connections.
    audience: usize,
    /// Grows when `audience` changes.
    presence_version: u64,
    /// Cluster mode: audience connections on the other nodes.
    audience_elsewhere: usize,
    /// The current tally of each question that has had ballots.
    published: HashMap<Uuid, Published>,
    /// The session's tally sequence; every published tally takes the next.
    seq: u64,
    /// The last link of the session's journal chain.
    chain: Hash,
    /// Q&A items whose upvotes moved since the last staff / audience board.
    qa_dirty: [std::collections::HashSet<Uuid>; 2],
    /// Cluster mode: questions whose counts to read again besides the open ones.
    recount: std::collections::HashSet<Uuid>,
    /// Cluster mode: this node let go of the session; nothing attaches any more.
    unloaded: bool,
}

/// Cluster mode: how far this copy has applied the session's shared log.
#[derive(Default)]
struct Cursor {
    /// Events applied, from the log's start.
    applied: u64,
    /// The outcome of the latest events, by position, with the checksum of
    /// each event, for the changes made here that wait for theirs.
    outcomes: std::collections::VecDeque<(u64, u64, Result<()>)>,
}

/// A connection attached to a session, ready for its writer.
pub struct Attached {
    pub conn_id: u64,
    pub participant: Option<u32>,
    pub outbox: Arc<Outbox>,
    pub board: watch::Receiver<Arc<Board>>,
    /// The tallies the welcome carried: the writer need not send them again.
    pub sent: Vec<(Uuid, u64)>,
}

pub struct LiveSession {
    pub id: Uuid,
    pub code: String,
    shared: Arc<Shared>,
    state: Mutex<State>,
    /// Wakes the publisher: ballots, visibility or presence changed.
    dirty: Notify,
    moderator_board: watch::Sender<Arc<Board>>,
    projector_board: watch::Sender<Arc<Board>>,
    /// Phones are split into groups, each with its board, published one after
    /// another across the interval: a room's worth of tally frames is spread
    /// over the second instead of leaving all at once.
    audience_boards: Vec<watch::Sender<Arc<Board>>>,
    /// Something changed that phones may see since the audience cycle began.
    audience_pending: AtomicBool,
    /// Wakes the audience publisher.
    audience_wake: Notify,
    /// Cancelled when the session is deleted or the server stops.
    pub ended: CancellationToken,
    /// Cluster mode: the log applied so far; one reader at a time.
    cursor: tokio::sync::Mutex<Cursor>,
    /// Cluster mode: ballots went through this node since the last notice.
    voted_here: AtomicBool,
    /// Cluster mode: the counts moved (here or elsewhere).
    counts_stale: AtomicBool,
    /// Cluster mode: another node wrote to the log.
    log_stale: AtomicBool,
    /// Cluster mode: wakes `follow` (a flag above was raised, or the
    /// audience here changed).
    follow_wake: Notify,
    /// Cluster mode: the copy was dropped because Redis lost its log (see
    /// `lost`); `ended` is cancelled too, but the session did not end.
    pub lost: AtomicBool,
    /// When the session last had a change or a connection come or go (ms),
    /// for `--session-ttl-days`.
    last_active: AtomicI64,
    /// Each participant's message bucket, shared by its sockets and its
    /// HTTP calls (not part of the session's state: never journaled).
    rates: dashmap::DashMap<u32, Bucket>,
}

impl LiveSession {
    /// Wraps a session and starts its publisher.
    pub fn start(session: Session, chain: Hash, shared: Arc<Shared>) -> Arc<LiveSession> {
        Self::start_at(session, chain, 0, shared)
    }

    /// Cluster mode: wraps a session read from a snapshot that covers the
    /// shared log up to position `applied`; the log is followed from there.
    pub fn start_at(
        session: Session,
        chain: Hash,
        applied: u64,
        shared: Arc<Shared>,
    ) -> Arc<LiveSession> {
        let board = || watch::channel(Arc::new(Board::default())).0;
        let shared_now = shared.clock.now_ms();
        let live = Arc::new(LiveSession {
            id: session.id,
            code: session.code.clone(),
            ended: shared.shutdown.child_token(),
            shared,
            state: Mutex::new(State {
                session,
                conns: HashMap::new(),
                next_conn: 0,
                audience: 0,
                presence_version: 0,
                audience_elsewhere: 0,
                published: HashMap::new(),
                seq: 0,
                chain,
                qa_dirty: Default::default(),
                recount: Default::default(),
                unloaded: false,
            }),
            dirty: Notify::new(),
            moderator_board: board(),
            projector_board: board(),
            audience_boards: (0..AUDIENCE_GROUPS).map(|_| board()).collect(),
            audience_pending: AtomicBool::new(false),
            audience_wake: Notify::new(),
            cursor: tokio::sync::Mutex::new(Cursor {
                applied,
                ..Default::default()
            }),
            voted_here: AtomicBool::new(false),
            counts_stale: AtomicBool::new(true),
            log_stale: AtomicBool::new(false),
            follow_wake: Notify::new(),
            lost: AtomicBool::new(false),
            last_active: AtomicI64::new(shared_now),
            rates: Default::default(),
        });
        tokio::spawn(live.clone().publisher());
        tokio::spawn(live.clone().audience_publisher());
        if let Some(c) = &live.shared.cluster {
            {
                // Every question's counts are read once at the start.
                let mut st = live.state.lock();
                let ids: Vec<Uuid> = st.session.questions().iter().map(|q| q.id).collect();
                st.recount.extend(ids);
            }
            tokio::spawn(live.clone().follow(c.clone()));
        }
        live
    }

    /// The board a connection watches.
    fn board(&self, role: Role, conn_id: u64) -> &watch::Sender<Arc<Board>> {
        match role {
            Role::Moderator => &self.moderator_board,
            Role::Projector => &self.projector_board,
            Role::Audience => &self.audience_boards[(conn_id % AUDIENCE_GROUPS as u64) as usize],
        }
    }

    fn now(&self) -> i64 {
        self.shared.clock.now_ms()
    }

    // ---- connections -----------------------------------------------------

    /// Attaches a connection after its hello: checks the moderator token,
    /// finds or makes the participant, and queues the welcome.
    pub async fn attach(
        self: &Arc<Self>,
        role: Role,
        token: Option<&str>,
        join_url: &str,
    ) -> Result<Attached> {
        let Some(c) = &self.shared.cluster else {
            return self.attach_with(role, token, join_url, None);
        };
        // The welcome shows the session as it is now, whichever node changed it.
        self.catch_up(None).await?;
        if role != Role::Audience {
            return self.attach_with(role, token, join_url, None);
        }
        // Cluster mode: the participant may have joined through another
        // node, and their ballots are in Redis.
        let p = match token {
            Some(t) => self.find_participant(t).await?,
            None => None,
        };
        let known = match p {
            Some(p) => (p, self.shared_ballots_of(c, p).await?),
            None => {
                // Everything that could refuse the hello is checked before
                // the join is logged: a refused hello leaves no trace.
                if self.state.lock().unloaded {
                    return Err(Self::set_aside());
                }
                (self.join_shared().await?, Map::new())
            }
        };
        self.attach_with(role, token, join_url, Some(known))
    }

    /// Attaches with, in cluster mode, the participant and their ballots.
    fn attach_with(
        &self,
        role: Role,
        token: Option<&str>,
        join_url: &str,
        known: Option<(u32, Map<String, Value>)>,
    ) -> Result<Attached> {
        let mut st = self.state.lock();
        if st.unloaded {
            return Err(Self::set_aside());
        }
        let (known, known_ballots) = match known {
            Some((p, b)) => (Some(p), Some(b)),
            None => (None, None),
        };
        let participant = match role {
            Role::Moderator => {
                if !token.is_some_and(|t| crate::hub::token_eq(t, &st.session.moderator_token)) {
                    return Err(Error::unauthorized("wrong or missing moderator token"));
                }
                None
            }
            Role::Projector => None,
            Role::Audience => Some(
                match known.or_else(|| token.and_then(|t| st.session.participant_by_token(t))) {
                    Some(p) => p,
                    None => self.new_participant(&mut st)?.0,
                },
            ),
        };
        let welcome_tallies = Self::visible_tallies(&st, role);
        let sent = welcome_tallies
            .iter()
            .filter_map(|(q, v)| Some((q.parse().ok()?, v["seq"].as_u64()?)))
            .collect();
        let mut session = protocol::session_view(
            &st.session,
            role == Role::Moderator,
            join_url,
            welcome_tallies,
        );
        // The top of the board; the rest is paged over HTTP, so the welcome
        // stays small however much the room asks.
        let (qa, qa_total) = protocol::qa_page(
            &st.session.qa,
            role == Role::Moderator,
            participant,
            0,
            protocol::WELCOME_QA_ITEMS,
        );
        session["qa"] = Value::Array(qa);
        session["qa_total"] = json!(qa_total);
        let mut welcome = json!({
            "role": role,
            "session": session,
            "server_time": self.now(),
        });
        if let Some(p) = participant {
            let who = st.session.participant(p);
            welcome["participant_id"] = json!(who.id);
            welcome["participant_token"] = json!(who.token);
            let ballots: Map<String, Value> = match known_ballots {
                Some(b) => b,
                None => st
                    .session
                    .ballots_of(p)
                    .map(|(q, c)| (q.id.to_string(), choice_json(c)))
                    .collect(),
            };
            welcome["ballots"] = Value::Object(ballots);
        }
        let outbox = Arc::new(Outbox::new(self.shared.config.max_queued));
        outbox.push(protocol::message("welcome", welcome));
        let conn_id = st.next_conn;
        st.next_conn += 1;
        st.conns.insert(
            conn_id,
            ConnEntry {
                role,
                participant,
                outbox: outbox.clone(),
            },
        );
        if let Some(c) = &self.shared.cluster {
            // The first connection here, or one to a session quiet here for
            // a minute, is recorded in Redis at once (the sweep records the
            // others within a minute), so that no node expires it meanwhile.
            let at = self.now();
            if st.conns.len() == 1 || at - self.last_active() >= 60_000 {
                let (c, code) = (c.clone(), self.code.clone());
                tokio::spawn(async move { c.touch(&[&code], at, false).await });
            }
        }
        self.touch();
        if role == Role::Audience {
            st.audience += 1;
            st.presence_version += 1;
            // Cluster mode: the other nodes hear of it.
            self.follow_wake.notify_one();
        }
        drop(st);
        self.shared.metrics.connected(role);
        self.dirty.notify_one();
        let mut board = self.board(role, conn_id).subscribe();
        board.mark_changed();
        Ok(Attached {
            conn_id,
            participant,
            outbox,
            board,
            sent,
        })
    }

    /// Cluster mode: the copy was let go; the client connects again.
    fn set_aside() -> Error {
        Error::new(
            ErrorCode::Unavailable,
            "this session was just set aside on this server; connect again",
        )
    }

    pub fn detach(&self, conn_id: u64) {
        let mut st = self.state.lock();
        if let Some(c) = st.conns.remove(&conn_id) {
            self.touch();
            if c.role == Role::Audience {
                st.audience -= 1;
                st.presence_version += 1;
                self.follow_wake.notify_one();
            }
            drop(st);
            self.shared.metrics.disconnected(c.role);
            self.dirty.notify_one();
        }
    }

    /// Journals the end, sends `ended` to every connection and closes them;
    /// stops the publisher. In cluster mode every node does so when it reads
    /// the end from the log.
    pub async fn end(self: &Arc<Self>) -> Result<()> {
        if let Some(c) = &self.shared.cluster {
            let code = self.code.clone();
            return self.commit_shared(c, Event::Ended { code }).await;
        }
        let durable = {
            let mut st = self.state.lock();
            self.log(
                &mut st,
                Event::Ended {
                    code: self.code.clone(),
                },
            )
        };
        self.close_all(Some(protocol::message("ended", json!({}))), CLOSE_NORMAL);
        self.ended.cancel();
        durable.wait().await
    }

    /// Closes every connection, after a last frame if given.
    pub fn close_all(&self, last: Option<Utf8Bytes>, close: Close) {
        let st = self.state.lock();
        for c in st.conns.values() {
            if let Some(f) = &last {
                c.outbox.push(f.clone());
            }
            c.outbox.close(close.clone());
        }
    }

    /// Pushes a frame chosen per connection; `None` skips that connection.
    fn broadcast(&self, st: &State, pick: impl Fn(&ConnEntry) -> Option<Utf8Bytes>) {
        for c in st.conns.values() {
            if let Some(f) = pick(c) {
                if !c.outbox.push(f) {
                    self.shared
                        .metrics
                        .slow_consumers_dropped
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            }
        }
    }

    /// Tells every connection that may see it that a question changed.
    fn broadcast_question(&self, st: &State, id: Uuid) {
        let Ok(q) = st.session.question(id) else {
            return;
        };
        let staff = protocol::question_frame(q, true);
        let public = q.is_public().then(|| protocol::question_frame(q, false));
        self.broadcast(st, |c| match c.role {
            Role::Moderator => Some(staff.clone()),
            _ => public.clone(),
        });
    }

    /// Sends `present` to the moderator when `current` moved, and to the
    /// public when what they are shown moved.
    fn broadcast_present(&self, st: &State, before: (Option<Uuid>, Option<Uuid>, bool)) {
        let s = &st.session;
        let (cur, public, qa) = (s.current, s.public_current(), s.qa_on_screen);
        let staff = (before.0 != cur || before.2 != qa).then(|| protocol::present_frame(cur, qa));
        let public =
            (before.1 != public || before.2 != qa).then(|| protocol::present_frame(public, qa));
        self.broadcast(st, |c| match c.role {
            Role::Moderator => staff.clone(),
            _ => public.clone(),
        });
    }

    fn presented(st: &State) -> (Option<Uuid>, Option<Uuid>, bool) {
        (
            st.session.current,
            st.session.public_current(),
            st.session.qa_on_screen,
        )
    }

    // ---- the journal ---------------------------------------------------------

    /// Appends an event of this session to the journal (under the lock, so
    /// records keep the order of the changes) and moves the session's chain.
    fn log(&self, st: &mut State, ev: Event) -> Durable {
        if !matches!(ev, Event::Snapshot { .. }) {
            self.touch();
        }
        match &self.shared.journal {
            Some(j) => j.append(&ev, &mut st.chain),
            None => Durable::done(),
        }
    }

    /// The digest of the session's history so far: the last link of its chain.
    pub fn digest(&self) -> String {
        journal::hex(&self.state.lock().chain)
    }

    /// Appends the whole session as one snapshot record (compaction).
    pub fn snapshot(&self) -> Durable {
        let mut st = self.state.lock();
        let ev = Event::Snapshot {
            code: self.code.clone(),
            prev: journal::hex(&st.chain),
            events: journal::snapshot_events(&st.session),
            active: Some(self.last_active()),
        };
        self.log(&mut st, ev)
    }

    /// Journals the creation of a new session: its first records.
    pub fn log_creation(&self) -> Durable {
        let mut st = self.state.lock();
        let mut last = Durable::done();
        for ev in journal::snapshot_events(&st.session) {
            last = self.log(&mut st, ev);
        }
        last
    }

    // ---- changes of state ------------------------------------------------------

    /// Applies one event to the live session: the domain change, and the
    /// frames it sends to the connections that may see it. Every change goes
    /// through here, whether made on this node or (in cluster mode) read from
    /// the session's shared log, so each node's views follow the same order.
    /// Ok(false): the event changed nothing.
    fn apply_live(self: &Arc<Self>, st: &mut State, ev: &Event) -> Result<bool> {
        use Event as E;
        self.touch();
        let limits = &self.shared.limits;
        let before = Self::presented(st);
        let cluster = self.shared.cluster.is_some();
        match ev {
            E::Added { q, .. } | E::Updated { q, .. } => {
                journal::apply(&mut st.session, ev, limits)?;
                // A copy loaded late learns the counts of closed questions too.
                self.recount_later(st, *q);
                self.broadcast_question(st, *q);
            }
            E::Moved { .. } => {
                journal::apply(&mut st.session, ev, limits)?;
                let order = |public: bool| {
                    let ids: Vec<Uuid> = st
                        .session
                        .questions()
                        .iter()
                        .filter(|q| !public || q.is_public())
                        .map(|q| q.id)
                        .collect();
                    protocol::message("order", json!({ "question_ids": ids }))
                };
                let (staff, public) = (order(false), order(true));
                self.broadcast(st, |c| {
                    Some(if c.role == Role::Moderator {
                        staff.clone()
                    } else {
                        public.clone()
                    })
                });
            }
            E::Deleted { q, .. } => {
                let public = st.session.question(*q)?.is_public();
                journal::apply(&mut st.session, ev, limits)?;
                st.published.remove(q);
                let frame = protocol::message("question_removed", json!({ "question_id": q }));
                self.broadcast(st, |c| {
                    (c.role == Role::Moderator || public).then(|| frame.clone())
                });
                self.broadcast_present(st, before);
                self.dirty.notify_one();
            }
            E::Opened { q, .. } => {
                journal::apply(&mut st.session, ev, limits)?;
                if let Some(closes_at) = st.session.question(*q)?.closes_at {
                    self.schedule_close(*q, closes_at);
                }
                self.broadcast_question(st, *q);
                self.broadcast_present(st, before);
            }
            E::Closed { q, .. } => {
                journal::apply(&mut st.session, ev, limits)?;
                self.recount_later(st, *q);
                self.broadcast_question(st, *q);
                self.broadcast_present(st, before);
            }
            E::TimerClosed { q, at, .. } => {
                if !st.session.close_if_due(*q, *at) {
                    return Ok(false);
                }
                tracing::info!(code = %self.code, question = %q, "timer closed the question");
                self.recount_later(st, *q);
                self.broadcast_question(st, *q);
                self.broadcast_present(st, before);
            }
            E::Visible { q, visible, .. } => {
                journal::apply(&mut st.session, ev, limits)?;
                // A revealed tally is sent again so views that dropped it redraw.
                if let (true, Some(p)) = (*visible, st.published.get_mut(q)) {
                    p.version = None;
                }
                self.broadcast_question(st, *q);
                self.broadcast_present(st, before);
                self.dirty.notify_one();
            }
            E::Reset { q, .. } => {
                let had: std::collections::HashSet<u32> =
                    st.session.reset(*q)?.into_iter().collect();
                // Phones whose ballot went clear their selection. In cluster
                // mode ballots live in Redis, so every phone is told.
                let frame = protocol::message("ballot", json!({"question_id": q, "choice": null}));
                self.broadcast(st, |c| {
                    c.participant
                        .filter(|p| cluster || had.contains(p))
                        .map(|_| frame.clone())
                });
                self.recount_later(st, *q);
                self.broadcast_question(st, *q);
                self.broadcast_present(st, before);
                self.dirty.notify_one();
            }
            E::Present { .. } | E::PresentQa { .. } => {
                journal::apply(&mut st.session, ev, limits)?;
                self.broadcast_present(st, before);
            }
            E::Title { .. } | E::Settings { .. } => {
                journal::apply(&mut st.session, ev, limits)?;
                let s = &st.session;
                let frame = protocol::message(
                    "session",
                    json!({"title": s.title, "settings": {"qa_moderation": s.settings.qa_moderation}}),
                );
                self.broadcast(st, |_| Some(frame.clone()));
            }
            E::HideEntry { q, p, text, .. } => {
                if cluster {
                    // The answer is hidden in Redis; the counts show it. This
                    // copy remembers the text, to hide it if sent again.
                    st.session.question(*q)?;
                    if let (Some(p), Some(text)) = (p, text) {
                        st.session.hide_text(*q, *p, text)?;
                    }
                    self.recount_later(st, *q);
                } else {
                    journal::apply(&mut st.session, ev, limits)?;
                }
                self.dirty.notify_one();
            }
            E::Asked {
                item,
                p,
                text,
                name,
                at,
                pending,
                ..
            } => {
                let (max, mine) = (limits.max_qa_items, limits.max_qa_per_participant);
                st.session
                    .qa
                    .ask(*item, *p, text, name.as_deref(), *at, *pending, max, mine)?;
                self.broadcast_qa_item(st, *item, &Role::ALL);
            }
            E::Upvoted { item, p, up, .. } => {
                if !st.session.qa.upvote(*item, *p, *up)? {
                    return Ok(false);
                }
                for set in st.qa_dirty.iter_mut() {
                    set.insert(*item);
                }
                self.dirty.notify_one();
            }
            E::QaSet { item, status, .. } => {
                let status = QaStatus::parse_any(status)
                    .ok_or_else(|| Error::bad_request(format!("unknown Q&A status {status:?}")))?;
                for id in st.session.qa.set_status(*item, status)? {
                    self.broadcast_qa_item(st, id, &Role::ALL);
                }
            }
            E::QaHideAuthor { item, .. } => {
                let changed = st.session.qa.hide_author(*item)?;
                if changed.is_empty() {
                    return Ok(false);
                }
                for id in changed {
                    self.broadcast_qa_item(st, id, &Role::ALL);
                }
            }
            E::Joined { .. } | E::Vote { .. } | E::Retract { .. } => {
                journal::apply(&mut st.session, ev, limits)?;
                self.dirty.notify_one();
            }
            E::Created { .. } | E::Ended { .. } | E::Snapshot { .. } | E::Compacted { .. } => {
                return Err(Error::internal(
                    "a session-set event applied to one session",
                ));
            }
        }
        Ok(true)
    }

    /// Makes a change: applies and journals it on a single node; in cluster
    /// mode, appends it to the session's shared log and applies the log up to
    /// it. Ok once the change is durable (journal) or in Redis (cluster).
    async fn commit(self: &Arc<Self>, ev: Event) -> Result<()> {
        if let Some(c) = &self.shared.cluster {
            return self.commit_shared(c, ev).await;
        }
        let durable = {
            let mut st = self.state.lock();
            if !self.apply_live(&mut st, &ev)? {
                return Ok(());
            }
            self.log(&mut st, ev)
        };
        durable.wait().await
    }

    /// Cluster mode: appends the change to the shared log, then applies the
    /// log up to it; its outcome there is the change's.
    ///
    /// What this copy can tell would be refused, or would change nothing, is
    /// not appended (see `precheck`), so that no one can grow the log with
    /// changes every node refuses. A copy that is behind reads the log
    /// before it refuses.
    async fn commit_shared(self: &Arc<Self>, c: &Cluster, ev: Event) -> Result<()> {
        let mut fresh = false;
        loop {
            let verdict = {
                let st = self.state.lock();
                precheck(&st.session, &ev, &self.shared.limits)
            };
            match verdict {
                Ok(true) => break,
                _ if !fresh => {
                    self.catch_up(None).await?;
                    fresh = true;
                }
                Ok(false) => return Ok(()),
                Err(e) => return Err(e),
            }
        }
        let json = serde_json::to_string(&ev).map_err(|e| Error::internal(e.to_string()))?;
        let (n, compact) = c
            .append(&self.code, &ev, &json)
            .await?
            .ok_or_else(|| Error::internal("the session's log was taken"))?;
        let outcome = self.catch_up(Some((n, checksum(&json)))).await;
        if compact {
            let me = self.clone();
            tokio::spawn(async move { me.compact().await });
        }
        outcome
    }

    /// Cluster mode: writes a snapshot of this copy, which covers the log up
    /// to what it applied, and lets Redis cut the log's head off.
    async fn compact(self: Arc<Self>) {
        let Some(c) = &self.shared.cluster else {
            return;
        };
        let made = {
            // The copy stays where the cursor says while the snapshot is made.
            let cur = self.cursor.lock().await;
            let st = self.state.lock();
            // An `Event::Snapshot`, with the fields every node reads.
            let ev = json!({
                "e": "snapshot",
                "code": self.code,
                "prev": journal::hex(&st.chain),
                "events": journal::snapshot_events(&st.session),
            });
            serde_json::to_string(&ev).map(|json| (cur.applied, json))
        };
        let (at, json) = match made {
            Ok(made) if !self.lost.load(Ordering::Acquire) => made,
            _ => return,
        };
        let started = std::time::Instant::now();
        match c.compact(&self.code, at, &json).await {
            Ok(done) => tracing::info!(
                code = %self.code,
                at,
                done,
                bytes = json.len(),
                ms = started.elapsed().as_millis() as u64,
                "log compacted"
            ),
            Err(e) => {
                tracing::warn!(code = %self.code, error = %e.message, "log: compaction failed")
            }
        }
    }

    // ---- moderator actions ------------------------------------------------

    pub async fn add_question(self: &Arc<Self>, spec: QuestionSpec) -> Result<Value> {
        spec.validate(&self.shared.limits)?;
        let id = Uuid::new_v4();
        let spec = Value::Object(question_spec_json(&spec, true));
        self.commit(Event::Added {
            code: self.code.clone(),
            q: id,
            spec,
        })
        .await?;
        self.question_view(id)
    }

    pub async fn update_question(self: &Arc<Self>, id: Uuid, spec: QuestionSpec) -> Result<Value> {
        spec.validate(&self.shared.limits)?;
        let spec = Value::Object(question_spec_json(&spec, true));
        self.commit(Event::Updated {
            code: self.code.clone(),
            q: id,
            spec,
        })
        .await?;
        self.question_view(id)
    }

    /// A question as the moderator sees it.
    fn question_view(&self, id: Uuid) -> Result<Value> {
        let st = self.state.lock();
        Ok(protocol::question_view(st.session.question(id)?, true))
    }

    pub async fn move_question(self: &Arc<Self>, id: Uuid, index: usize) -> Result<()> {
        let code = self.code.clone();
        self.commit(Event::Moved { code, q: id, index }).await
    }

    pub async fn delete_question(self: &Arc<Self>, id: Uuid) -> Result<()> {
        let code = self.code.clone();
        self.commit(Event::Deleted { code, q: id }).await
    }

    /// open, close, reveal, hide or reset.
    pub async fn act(self: &Arc<Self>, id: Uuid, action: QuestionAction) -> Result<Value> {
        let code = self.code.clone();
        let ev = match action {
            QuestionAction::Open { duration_s } => Event::Opened {
                code,
                q: id,
                at: self.now(),
                duration_ms: duration_s.map(|s| s as i64 * 1000),
            },
            QuestionAction::Close => Event::Closed { code, q: id },
            QuestionAction::Reveal | QuestionAction::Hide => Event::Visible {
                code,
                q: id,
                visible: action == QuestionAction::Reveal,
            },
            QuestionAction::Reset => Event::Reset { code, q: id },
        };
        self.commit(ev).await?;
        self.question_view(id)
    }

    /// Closes the question when its timer runs out, on the server's clock.
    pub fn schedule_close(self: &Arc<Self>, id: Uuid, at: i64) {
        let me = self.clone();
        let deadline = self.shared.clock.instant_at(at);
        tokio::spawn(async move {
            tokio::select! {
                _ = me.ended.cancelled() => {}
                _ = sleep_until(deadline) => me.close_if_due(id).await,
            }
        });
    }

    /// Closes the question if its timer has run out. In cluster mode every
    /// node's timer tries; the first closes it and the others change nothing.
    pub async fn close_if_due(self: &Arc<Self>, id: Uuid) {
        let at = self.now();
        let due = {
            let st = self.state.lock();
            st.session.question(id).is_ok_and(|q| {
                q.state == crate::domain::QuestionState::Open
                    && q.closes_at.is_some_and(|t| t <= at)
            })
        };
        if !due {
            return;
        }
        let ev = Event::TimerClosed {
            code: self.code.clone(),
            q: id,
            at,
        };
        let mut delay = std::time::Duration::from_millis(200);
        while let Err(e) = self.commit(ev.clone()).await {
            // Only an unreachable store fails here; the close must happen.
            tracing::warn!(code = %self.code, error = %e.message, "timer: closing failed; retrying");
            tokio::select! {
                _ = self.ended.cancelled() => return,
                _ = tokio::time::sleep(delay) => {}
            }
            delay = (delay * 2).min(std::time::Duration::from_secs(2));
        }
    }

    pub async fn present(self: &Arc<Self>, p: Presentation) -> Result<()> {
        let code = self.code.clone();
        self.commit(match p {
            Presentation::Question(q) => Event::Present { code, q },
            Presentation::Qa => Event::PresentQa { code },
        })
        .await
    }

    /// Changes the title and settings; every view gets them.
    pub async fn update(
        self: &Arc<Self>,
        title: Option<String>,
        qa_moderation: Option<bool>,
    ) -> Result<()> {
        if let Some(title) = title {
            crate::domain::check_text("title", &title, self.shared.limits.max_title_chars)?;
            let code = self.code.clone();
            self.commit(Event::Title { code, title }).await?;
        }
        if let Some(qa_moderation) = qa_moderation {
            let code = self.code.clone();
            self.commit(Event::Settings {
                code,
                qa_moderation,
            })
            .await?;
        }
        Ok(())
    }

    pub async fn hide_entry(self: &Arc<Self>, id: Uuid, entry: Uuid) -> Result<()> {
        let code = self.code.clone();
        // Cluster mode: the ballots are in Redis, so the event names the
        // answer's author and text, for every copy to keep them hidden.
        let (p, text) = match &self.shared.cluster {
            Some(c) => {
                let kind = self.state.lock().session.question(id)?.spec.kind.clone();
                let ballots = c.ballots(&self.code, &[id]).await?;
                let found = ballots.into_iter().flatten().find_map(|(p, b)| {
                    match decode_ballot(&kind, &b)? {
                        Choice::Text(e) if e.id == entry => Some((p, e.text)),
                        _ => None,
                    }
                });
                let Some((p, text)) = found else {
                    return Err(Error::not_found(format!(
                        "no answer {entry} in this question"
                    )));
                };
                (Some(p), Some(crate::domain::hidden_key(&text)))
            }
            None => (None, None),
        };
        self.commit(Event::HideEntry {
            code,
            q: id,
            entry,
            p,
            text,
        })
        .await
    }

    // ---- Q&A -----------------------------------------------------------------

    /// Sends an item to every connection whose view it changes: those who
    /// see it, and, when it was hidden, everyone (without its text) so their
    /// views drop it. `roles` limits the broadcast (coalesced upvotes).
    fn broadcast_qa_item(&self, st: &State, id: Uuid, roles: &[Role]) {
        let Ok(item) = st.session.qa.item(id) else {
            return;
        };
        let hidden = item.status == QaStatus::Hidden;
        let staff = protocol::message(
            "qa_item",
            json!({ "item": protocol::qa_item_json(item, false) }),
        );
        let public = staff.clone();
        let mine = protocol::message(
            "qa_item",
            json!({ "item": protocol::qa_item_json(item, true) }),
        );
        self.broadcast(st, |c| {
            if !roles.contains(&c.role) {
                return None;
            }
            let moderator = c.role == Role::Moderator;
            if !hidden && !item.visible_to(moderator, c.participant) {
                return None;
            }
            Some(match (moderator, c.participant == Some(item.author)) {
                (true, _) => staff.clone(),
                (false, true) => mine.clone(),
                (false, false) => public.clone(),
            })
        });
    }

    pub async fn ask(
        self: &Arc<Self>,
        participant: u32,
        text: &str,
        name: Option<&str>,
    ) -> Result<()> {
        // Refused here rather than logged (in cluster mode, appended to the
        // shared log and refused by every node).
        crate::domain::qa::checked_question(text, name)?;
        let pending = {
            let st = self.state.lock();
            let l = &self.shared.limits;
            st.session
                .qa
                .check_room(participant, l.max_qa_items, l.max_qa_per_participant)?;
            st.session.settings.qa_moderation
        };
        self.commit(Event::Asked {
            code: self.code.clone(),
            item: Uuid::new_v4(),
            p: participant,
            text: text.to_owned(),
            name: name.map(str::to_owned),
            at: self.now(),
            pending,
        })
        .await
    }

    /// Upvotes (or takes back an upvote); the new count reaches the views at
    /// the tally intervals, coalesced.
    pub async fn upvote(self: &Arc<Self>, participant: u32, item: Uuid, up: bool) -> Result<()> {
        // An unknown item is refused here rather than logged (in cluster
        // mode, `precheck` reads the log first).
        if self.shared.cluster.is_none() {
            self.state.lock().session.qa.item(item)?;
        }
        let code = self.code.clone();
        self.commit(Event::Upvoted {
            code,
            item,
            p: participant,
            up,
        })
        .await
    }

    pub async fn set_qa_status(self: &Arc<Self>, item: Uuid, status: &str) -> Result<()> {
        let status = QaStatus::parse(status).ok_or_else(|| {
            Error::bad_request(format!(
                "unknown status {status:?}; the statuses are approved, pinned, answered, hidden"
            ))
        })?;
        self.commit(Event::QaSet {
            code: self.code.clone(),
            item,
            status: status.as_str().into(),
        })
        .await
    }

    /// Hides every item by the author of `item`, in one action; returns how
    /// many items it took off the board.
    pub async fn qa_hide_author(self: &Arc<Self>, item: Uuid) -> Result<usize> {
        // Refused here rather than logged; counted before, as the log applies it.
        let shown = {
            let st = self.state.lock();
            let author = st.session.qa.item(item)?.author;
            st.session
                .qa
                .items()
                .iter()
                .filter(|i| i.author == author && i.status != QaStatus::Hidden)
                .count()
        };
        self.commit(Event::QaHideAuthor {
            code: self.code.clone(),
            item,
        })
        .await?;
        Ok(shown)
    }

    /// One page of the Q&A board as a viewer sees it (`GET .../qa`): the
    /// moderator every item, a participant the public items and their own
    /// pending ones, anyone else the public items.
    pub async fn qa_page(
        self: &Arc<Self>,
        moderator: bool,
        participant: Option<u32>,
        offset: usize,
        limit: usize,
    ) -> Result<Value> {
        // Cluster mode: the board as it is now, whichever node changed it.
        self.catch_up(None).await?;
        let st = self.state.lock();
        let (items, total) =
            protocol::qa_page(&st.session.qa, moderator, participant, offset, limit);
        Ok(json!({ "items": items, "total": total }))
    }

    // ---- participants and ballots -----------------------------------------

    /// Adds a participant under the lock; the caller waits for durability.
    fn new_participant(&self, st: &mut State) -> Result<(u32, Durable)> {
        let (id, token) = (Uuid::new_v4(), new_token());
        let at = self.now();
        let index = st
            .session
            .join(id, token.clone(), at, &self.shared.limits)?;
        let durable = self.log(
            st,
            Event::Joined {
                code: self.code.clone(),
                p: id,
                token,
                at,
            },
        );
        Ok((index, durable))
    }

    /// Cluster mode: a new participant, through the shared log.
    async fn join_shared(self: &Arc<Self>) -> Result<u32> {
        let token = new_token();
        self.commit(Event::Joined {
            code: self.code.clone(),
            p: Uuid::new_v4(),
            token: token.clone(),
            at: self.now(),
        })
        .await?;
        self.participant_by_token(&token)
            .ok_or_else(|| Error::internal("a participant who joined is missing"))
    }

    /// A new participant (the HTTP path); the socket path joins in `attach`.
    pub async fn join(self: &Arc<Self>) -> Result<(Uuid, String)> {
        if self.shared.cluster.is_some() {
            let index = self.join_shared().await?;
            let who = self.state.lock().session.participant(index).clone();
            return Ok((who.id, who.token));
        }
        let (who, durable) = {
            let mut st = self.state.lock();
            let (index, durable) = self.new_participant(&mut st)?;
            (st.session.participant(index).clone(), durable)
        };
        durable.wait().await?;
        Ok((who.id, who.token))
    }

    pub fn participant_by_token(&self, token: &str) -> Option<u32> {
        self.state.lock().session.participant_by_token(token)
    }

    /// The participant a token names. In cluster mode a token this node does
    /// not know yet may come from a node that is ahead: the log is read first.
    pub async fn find_participant(self: &Arc<Self>, token: &str) -> Result<Option<u32>> {
        if let Some(p) = self.participant_by_token(token) {
            return Ok(Some(p));
        }
        if self.shared.cluster.is_none() {
            return Ok(None);
        }
        self.catch_up(None).await?;
        Ok(self.participant_by_token(token))
    }

    /// The moderator token and the title, for the answer to session creation.
    pub fn secrets(&self) -> (String, String) {
        let st = self.state.lock();
        (st.session.moderator_token.clone(), st.session.title.clone())
    }

    pub fn check_moderator(&self, token: Option<&str>) -> Result<()> {
        let st = self.state.lock();
        match token {
            Some(t) if crate::hub::token_eq(t, &st.session.moderator_token) => Ok(()),
            Some(t) if st.session.participant_by_token(t).is_some() => {
                Err(Error::forbidden("a participant may not do this"))
            }
            _ => Err(Error::unauthorized("wrong or missing moderator token")),
        }
    }

    /// Casts or replaces a ballot. Ok once it is counted, and durable where
    /// the server keeps a journal (in Redis, in cluster mode).
    pub async fn vote(
        self: &Arc<Self>,
        participant: u32,
        id: Uuid,
        choice: RawChoice,
    ) -> Result<()> {
        if let Some(c) = &self.shared.cluster {
            let result = self.vote_shared(c, participant, id, Some(choice)).await;
            return self.counted(result.map(|_| None)).await;
        }
        let result = {
            let mut st = self.state.lock();
            // A timed question takes no ballot past its end, even before its
            // timer has closed it.
            let now = self.now();
            // Only an `open` answer needs an id and a time of its own.
            let entry = match st.session.question(id) {
                Ok(q) if q.spec.kind.name() == KindName::Open => Some((Uuid::new_v4(), now)),
                _ => None,
            };
            let c = self
                .shared
                .journal
                .as_ref()
                .map(|_| journal::raw_choice_json(&choice));
            match st
                .session
                .vote(participant, id, choice, entry.unwrap_or((Uuid::nil(), now)))
            {
                Ok(_) => {
                    let ev = Event::Vote {
                        code: self.code.clone(),
                        p: participant,
                        q: id,
                        c: c.unwrap_or_default(),
                        entry,
                    };
                    Ok(self.log(&mut st, ev))
                }
                Err(e) => Err(e),
            }
        };
        self.counted(result.map(Some)).await
    }

    pub async fn retract(self: &Arc<Self>, participant: u32, id: Uuid) -> Result<()> {
        if let Some(c) = &self.shared.cluster {
            let result = self.vote_shared(c, participant, id, None).await;
            return self.counted(result.map(|_| None)).await;
        }
        let result = {
            let mut st = self.state.lock();
            let now = self.now();
            match st.session.retract_at(participant, id, now) {
                Ok(true) => Ok(self.log(
                    &mut st,
                    Event::Retract {
                        code: self.code.clone(),
                        p: participant,
                        q: id,
                    },
                )),
                Ok(false) => Ok(Durable::done()),
                Err(e) => Err(e),
            }
        };
        self.counted(result.map(Some)).await
    }

    /// Cluster mode: checks a ballot against this node's copy (reading the
    /// log first if the question is not open here yet), then casts it in
    /// Redis, which decides whether the question still takes votes.
    async fn vote_shared(
        self: &Arc<Self>,
        c: &Cluster,
        participant: u32,
        id: Uuid,
        choice: Option<RawChoice>,
    ) -> Result<()> {
        // An `open` answer is checked against the texts hidden so far: when
        // another node wrote to the log, it is read first.
        if matches!(choice, Some(RawChoice::Text(_))) && self.log_stale.load(Ordering::Acquire) {
            self.catch_up(None).await?;
        }
        let ballot = match self.shared_ballot(participant, id, choice.as_ref()) {
            Err(e) if matches!(e.code, ErrorCode::NotOpen | ErrorCode::NotFound) => {
                self.catch_up(None).await?;
                self.shared_ballot(participant, id, choice.as_ref())?
            }
            other => other?,
        };
        if !c.vote(&self.code, id, participant, ballot).await? {
            return Err(Error::not_open("this question takes no votes now"));
        }
        self.follow_up(&self.voted_here);
        self.follow_up(&self.counts_stale);
        Ok(())
    }

    /// The ballot as Redis keeps it: the choice as given, the id and time of
    /// an `open` answer, and its contributions to the counts.
    fn shared_ballot(
        &self,
        participant: u32,
        id: Uuid,
        choice: Option<&RawChoice>,
    ) -> Result<Option<String>> {
        let st = self.state.lock();
        let q = st.session.question(id)?;
        if q.state != crate::domain::QuestionState::Open {
            return Err(Error::not_open(format!(
                "this question is {}, it takes no votes",
                q.state.as_str()
            )));
        }
        let Some(raw) = choice else {
            return Ok(None);
        };
        let entry = (q.spec.kind.name() == KindName::Open).then(|| (Uuid::new_v4(), self.now()));
        let mut checked = q
            .spec
            .kind
            .check_choice(raw.clone(), entry.unwrap_or((Uuid::nil(), 0)))?;
        q.keep_hidden(participant, &mut checked);
        let d: Vec<Value> = checked
            .contributions()
            .into_iter()
            .flat_map(|(name, n)| [Value::from(name), Value::from(n)])
            .collect();
        let mut b = json!({ "c": journal::raw_choice_json(raw), "d": d });
        if let Some((eid, at)) = entry {
            b["e"] = json!([eid, at.to_string()]);
        }
        if matches!(&checked, Choice::Text(e) if e.hidden) {
            b["h"] = json!(true);
        }
        Ok(Some(b.to_string()))
    }

    /// Counts a ballot's outcome in the metrics, once it is durable. `None`:
    /// the ballot went to Redis (cluster mode) and this copy's tallies move
    /// when the counts are read back, so the publisher is not woken here.
    async fn counted(&self, result: Result<Option<Durable>>) -> Result<()> {
        let m = &self.shared.metrics;
        let result = match result {
            Ok(Some(durable)) => {
                self.dirty.notify_one();
                durable.wait().await
            }
            Ok(None) => Ok(()),
            Err(e) => Err(e),
        };
        match &result {
            Ok(()) => {
                m.votes_accepted
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            Err(e) => m.vote_rejected(e.code),
        }
        result
    }

    // ---- cluster mode ------------------------------------------------------------

    /// Reads the session's shared log past what this copy has applied and
    /// applies it. With `want` (a position and the `checksum` of the event
    /// appended there), goes on until that event is applied and returns its
    /// outcome (the outcome of a change made here).
    pub async fn catch_up(self: &Arc<Self>, want: Option<(u64, u64)>) -> Result<()> {
        let Some(c) = &self.shared.cluster else {
            return Ok(());
        };
        const BATCH: u64 = 512;
        let mut cur = self.cursor.lock().await;
        loop {
            if let Some((n, sum)) = want.filter(|(n, _)| *n <= cur.applied) {
                return match cur.outcomes.iter().find(|(i, _, _)| *i == n) {
                    Some((_, s, r)) if *s == sum => r.clone(),
                    // Another event holds that place: the log was rewritten.
                    Some(_) => Err(self.lost("an appended event was not found in its place")),
                    None => Ok(()),
                };
            }
            let read = c.read_log(&self.code, cur.applied, BATCH).await?;
            if read.base > cur.applied {
                // The log was compacted past this copy: it is read again,
                // from the snapshot.
                return Err(self.lost("the log was compacted past what this copy read"));
            }
            let batch = read.entries;
            let full = batch.len() as u64 == BATCH;
            if batch.is_empty() && want.is_some() {
                return Err(self.lost("the log is shorter than an event appended to it"));
            }
            for e in batch {
                let n = cur.applied + 1;
                let Some(json) = crate::cluster::entry(&e)
                    .filter(|(at, _)| *at == n)
                    .map(|e| e.1)
                else {
                    return Err(self.lost(&format!("entry {n} of the log is not where it was")));
                };
                cur.applied = n;
                let sum = checksum(json);
                let r = self.apply_logged(json);
                if let Err(e) = &r {
                    tracing::debug!(code = %self.code, n, error = %e.message, "log: event refused");
                }
                if cur.outcomes.len() >= 1024 {
                    cur.outcomes.pop_front();
                }
                cur.outcomes.push_back((n, sum, r));
            }
            if want.is_none() && !full {
                return Ok(());
            }
        }
    }

    /// Cluster mode: the shared log no longer matches this copy (Redis lost
    /// writes, or the session): the copy is dropped, its sockets are told to
    /// reconnect, and the next request reads the session again from Redis.
    fn lost(&self, why: &str) -> Error {
        if !self.lost.swap(true, Ordering::AcqRel) {
            tracing::error!(code = %self.code, why, "the session in Redis changed under this copy; reading it again");
            self.close_all(None, crate::outbox::CLOSE_RESYNC);
            self.ended.cancel();
        }
        Error::new(
            ErrorCode::Unavailable,
            "this session is being read again from the shared store; retry",
        )
    }

    /// Cluster mode: the log is shorter than what this copy applied.
    async fn check_log_len(&self, c: &Cluster) -> Result<()> {
        let applied = self.cursor.lock().await.applied;
        if c.log_len(&self.code).await? < applied {
            return Err(self.lost("the log is shorter than what was read"));
        }
        Ok(())
    }

    /// Applies one event read from the shared log.
    fn apply_logged(self: &Arc<Self>, json: &str) -> Result<()> {
        let ev: Event = serde_json::from_str(json)
            .map_err(|e| Error::internal(format!("an unreadable event in the log: {e}")))?;
        match ev {
            // The copy was made from it.
            Event::Created { .. } => {
                let mut st = self.state.lock();
                st.chain = journal::chain(&st.chain, json.as_bytes());
                Ok(())
            }
            Event::Ended { .. } => {
                self.close_all(Some(protocol::message("ended", json!({}))), CLOSE_NORMAL);
                self.ended.cancel();
                Ok(())
            }
            ev => {
                let mut st = self.state.lock();
                st.chain = journal::chain(&st.chain, json.as_bytes());
                self.apply_live(&mut st, &ev).map(|_| ())
            }
        }
    }

    /// The counts of a question are read again at the next tick.
    fn recount_later(&self, st: &mut State, q: Uuid) {
        if self.shared.cluster.is_some() {
            st.recount.insert(q);
            self.follow_up(&self.counts_stale);
        }
    }

    /// Another node changed the session: its log grew, or its counts moved.
    pub fn remote_change(&self, log: bool, counts: bool) {
        if log {
            self.follow_up(&self.log_stale);
        }
        if counts {
            self.follow_up(&self.counts_stale);
        }
    }

    /// Reads the counts of the open questions (and of those a change touched)
    /// from Redis into this copy's tallies.
    async fn recount(&self, c: &Cluster) -> Result<()> {
        let qs: Vec<Uuid> = {
            let mut st = self.state.lock();
            let mut qs: Vec<Uuid> = st.recount.drain().collect();
            for q in st.session.questions() {
                if q.state == crate::domain::QuestionState::Open && !qs.contains(&q.id) {
                    qs.push(q.id);
                }
            }
            qs
        };
        if qs.is_empty() {
            return Ok(());
        }
        let counts = match c.counts(&self.code, &qs).await {
            Ok(counts) => counts,
            Err(e) => {
                self.state.lock().recount.extend(qs);
                return Err(e);
            }
        };
        let moved = {
            let mut st = self.state.lock();
            let mut moved = false;
            for (q, counts) in qs.into_iter().zip(counts) {
                let Ok(kind) = st.session.question(q).map(|q| q.spec.kind.clone()) else {
                    continue;
                };
                let t = Tally::from_counts(&kind, counts.iter().map(|(k, v)| (k.as_str(), *v)));
                moved |= st.session.set_tally(q, t);
            }
            moved
        };
        if moved {
            self.dirty.notify_one();
        }
        Ok(())
    }

    /// Cluster mode: keeps this copy in step. It tells the other nodes when
    /// ballots went through here or its audience changed, reads the log when
    /// another node wrote to it, and reads the counts and the other nodes'
    /// audience when they moved: at once when the last time is an interval
    /// old, else at the end of that interval, so notices and reads stay
    /// coalesced to one per interval however many votes come. Once a second
    /// it does all of it whatever it heard, so a lost notice costs a second
    /// at most.
    async fn follow(self: Arc<Self>, c: Arc<Cluster>) {
        // Notices and count reads run four times per tally interval: a vote
        // crosses both before the projector's node publishes, so each adds
        // at most a quarter interval. The audience is written and read at
        // the interval itself.
        let presence_every = self.shared.config.staff_tally_interval();
        let every = presence_every / 4;
        let second = std::time::Duration::from_secs(1);
        let start = Instant::now();
        let long_ago = start.checked_sub(presence_every).unwrap_or(start);
        let (mut last_notice, mut last_read, mut last_presence) = (long_ago, long_ago, long_ago);
        let mut last_full = start;
        // The audience count this node last wrote to Redis.
        let mut told = usize::MAX;
        loop {
            let here = self.state.lock().audience;
            let notice = self.voted_here.load(Ordering::Acquire);
            let read =
                self.log_stale.load(Ordering::Acquire) || self.counts_stale.load(Ordering::Acquire);
            let presence = here != told || read;
            let mut due = last_full + second;
            if notice {
                due = due.min(last_notice + every);
            }
            if read {
                due = due.min(last_read + every);
            }
            if presence {
                due = due.min(last_presence + presence_every);
            }
            tokio::select! {
                _ = self.ended.cancelled() => return,
                _ = self.follow_wake.notified() => continue,
                _ = sleep_until(due) => {}
            }
            let now = Instant::now();
            let full = now >= last_full + second;
            if full {
                last_full = now;
            }
            let notice_now = (notice && now >= last_notice + every) || full;
            let read_now = (read && now >= last_read + every) || full;
            if (presence && now >= last_presence + presence_every) || full {
                // This node's audience, and the other nodes'.
                last_presence = now;
                match c.presence(&self.code, here).await {
                    Ok(elsewhere) => {
                        if here != told {
                            told = here;
                            self.voted_here.store(true, Ordering::Release);
                        }
                        let mut st = self.state.lock();
                        if st.audience_elsewhere != elsewhere {
                            st.audience_elsewhere = elsewhere;
                            st.presence_version += 1;
                            drop(st);
                            self.dirty.notify_one();
                        }
                    }
                    Err(_) => told = usize::MAX,
                }
            }
            if notice_now {
                last_notice = now;
                if self.voted_here.swap(false, Ordering::AcqRel)
                    && c.counts_moved(&self.code).await.is_err()
                {
                    self.voted_here.store(true, Ordering::Release);
                }
            }
            if read_now {
                last_read = now;
                if (self.log_stale.swap(false, Ordering::AcqRel) || full)
                    && self.catch_up(None).await.is_err()
                {
                    self.log_stale.store(true, Ordering::Release);
                }
                if (self.counts_stale.swap(false, Ordering::AcqRel) || full)
                    && self.recount(&c).await.is_err()
                {
                    self.counts_stale.store(true, Ordering::Release);
                }
                if full {
                    let _ = self.check_log_len(&c).await;
                }
            }
        }
    }

    /// Cluster mode: wakes `follow` when it has something new to do.
    fn follow_up(&self, flag: &AtomicBool) {
        if !flag.swap(true, Ordering::AcqRel) {
            self.follow_wake.notify_one();
        }
    }

    /// Cluster mode: a participant's ballots, as the welcome shows them.
    async fn shared_ballots_of(&self, c: &Cluster, participant: u32) -> Result<Map<String, Value>> {
        let qs: Vec<(Uuid, crate::domain::Kind)> = {
            let st = self.state.lock();
            st.session
                .questions()
                .iter()
                .filter(|q| q.is_public())
                .map(|q| (q.id, q.spec.kind.clone()))
                .collect()
        };
        if qs.is_empty() {
            return Ok(Map::new());
        }
        let ids: Vec<Uuid> = qs.iter().map(|(q, _)| *q).collect();
        let found = c.ballots_of(&self.code, &ids, participant).await?;
        Ok(qs
            .into_iter()
            .zip(found)
            .filter_map(|((q, kind), b)| {
                Some((q.to_string(), choice_json(&decode_ballot(&kind, &b?)?)))
            })
            .collect())
    }

    /// The session with every ballot, for results and exports: this copy
    /// with the ballots read from Redis in cluster mode.
    async fn whole(self: &Arc<Self>) -> Result<(Session, String)> {
        let Some(c) = &self.shared.cluster else {
            let st = self.state.lock();
            return Ok((st.session.clone(), journal::hex(&st.chain)));
        };
        self.catch_up(None).await?;
        let qs: Vec<Uuid> = {
            let st = self.state.lock();
            st.session.questions().iter().map(|q| q.id).collect()
        };
        let all = c.ballots(&self.code, &qs).await?;
        // Whoever cast one of these ballots had joined before: reading the
        // log again brings in the participants who joined meanwhile.
        self.catch_up(None).await?;
        let (mut s, digest) = {
            let st = self.state.lock();
            (st.session.clone(), journal::hex(&st.chain))
        };
        for (q, ballots) in qs.into_iter().zip(all) {
            // A question deleted meanwhile has nothing to show.
            let Ok(kind) = s.question(q).map(|q| q.spec.kind.clone()) else {
                continue;
            };
            s.reset(q)?;
            for (p, b) in ballots {
                if let Some(choice) = decode_ballot(&kind, &b) {
                    s.restore_ballot(q, p, choice)?;
                }
            }
        }
        Ok((s, digest))
    }

    // ---- views --------------------------------------------------------------

    /// Reads the domain state and the digest together, for the exports.
    pub fn read<R>(&self, f: impl FnOnce(&Session, &str) -> R) -> R {
        let st = self.state.lock();
        f(&st.session, &journal::hex(&st.chain))
    }

    pub fn now_ms(&self) -> i64 {
        self.now()
    }

    /// The published tallies a role may see, by question id.
    fn visible_tallies(st: &State, role: Role) -> Map<String, Value> {
        st.session
            .questions()
            .iter()
            .filter(|q| role == Role::Moderator || q.results_public())
            .filter_map(|q| Some((q.id.to_string(), st.published.get(&q.id)?.value.clone())))
            .collect()
    }

    /// The session as GET shows it to a role.
    pub fn view(&self, moderator: bool, join_url: &str) -> Value {
        let st = self.state.lock();
        let role = if moderator {
            Role::Moderator
        } else {
            Role::Projector
        };
        protocol::session_view(
            &st.session,
            moderator,
            join_url,
            Self::visible_tallies(&st, role),
        )
    }

    /// Every question with its exact current tally, for the moderator.
    pub async fn results(self: &Arc<Self>) -> Result<Value> {
        let (s, digest) = self.whole().await?;
        let seqs: HashMap<Uuid, u64> = {
            let st = self.state.lock();
            st.published.iter().map(|(q, p)| (*q, p.seq)).collect()
        };
        let questions: Vec<Value> = s
            .questions()
            .iter()
            .map(|q| {
                let seq = seqs.get(&q.id).copied().unwrap_or(0);
                let mut v = protocol::question_view(q, true);
                v["tally"] =
                    serde_json::to_value(TallyOut::new(q.id, seq, q.tally())).unwrap_or_default();
                v
            })
            .collect();
        Ok(json!({
            "session": {
                "id": s.id, "code": s.code, "title": s.title, "created_at": s.created_at,
                "digest": digest,
                "participants": s.participants().len(),
                "settings": {"qa_moderation": s.settings.qa_moderation},
            },
            "questions": questions,
            "qa": crate::export::qa_by_upvotes(&s)
                .into_iter()
                .map(|i| protocol::qa_item_json(i, false))
                .collect::<Vec<_>>(),
            "generated_at": self.now(),
        }))
    }

    /// Like `read`, with every ballot (read from Redis in cluster mode).
    pub async fn read_whole<R>(self: &Arc<Self>, f: impl FnOnce(&Session, &str) -> R) -> Result<R> {
        let (s, digest) = self.whole().await?;
        Ok(f(&s, &digest))
    }

    // ---- tally fan-out --------------------------------------------------------

    /// Serialises each tally whose ballots moved since it was last published.
    fn refresh(st: &mut State) {
        let State {
            session,
            published,
            seq,
            ..
        } = st;
        for q in session.questions() {
            let stale = match published.get(&q.id) {
                Some(p) => p.version != Some(q.version),
                None => q.version > 0,
            };
            if stale {
                *seq += 1;
                let out = TallyOut::new(q.id, *seq, q.tally());
                let p = Published {
                    version: Some(q.version),
                    seq: *seq,
                    frame: protocol::tally_frame(&out),
                    value: serde_json::to_value(&out).unwrap_or_default(),
                };
                published.insert(q.id, p);
            }
        }
    }

    fn board_for(st: &State, role: Role) -> Board {
        let tallies = st
            .session
            .questions()
            .iter()
            .filter(|q| role == Role::Moderator || q.results_public())
            .filter_map(|q| {
                let p = st.published.get(&q.id)?;
                Some(BoardTally {
                    question_id: q.id,
                    seq: p.seq,
                    frame: p.frame.clone(),
                })
            })
            .collect();
        let presence = (role != Role::Audience).then(|| {
            let audience = st.audience + st.audience_elsewhere;
            (st.presence_version, protocol::presence_frame(audience))
        });
        Board { tallies, presence }
    }

    /// Puts a board up, waking its writers only if something on it moved.
    fn put_up(sender: &watch::Sender<Arc<Board>>, board: Board) {
        sender.send_if_modified(|old| {
            let same = old.tallies.len() == board.tallies.len()
                && old
                    .tallies
                    .iter()
                    .zip(&board.tallies)
                    .all(|(a, b)| a.question_id == b.question_id && a.seq == b.seq)
                && old.presence.as_ref().map(|p| p.0) == board.presence.as_ref().map(|p| p.0);
            if !same {
                *old = Arc::new(board);
            }
            !same
        });
    }

    /// Refreshes the tallies and puts up the moderator's and projector's boards.
    fn publish_staff(&self) {
        let staff = [Role::Moderator, Role::Projector];
        let (moderator, projector) = {
            let mut st = self.state.lock();
            Self::refresh(&mut st);
            // Upvote counts travel with the boards' rhythm.
            for id in std::mem::take(&mut st.qa_dirty[0]) {
                self.broadcast_qa_item(&st, id, &staff);
            }
            (
                Self::board_for(&st, Role::Moderator),
                Self::board_for(&st, Role::Projector),
            )
        };
        Self::put_up(&self.moderator_board, moderator);
        Self::put_up(&self.projector_board, projector);
    }

    /// Refreshes the tallies and puts up one audience group's board; the
    /// first group of a cycle also carries the upvote counts.
    fn publish_audience_group(&self, group: usize) {
        let board = {
            let mut st = self.state.lock();
            Self::refresh(&mut st);
            if group == 0 {
                for id in std::mem::take(&mut st.qa_dirty[1]) {
                    self.broadcast_qa_item(&st, id, &[Role::Audience]);
                }
            }
            Self::board_for(&st, Role::Audience)
        };
        Self::put_up(&self.audience_boards[group], board);
    }

    /// Coalesces changes into at most one board per interval for staff
    /// (moderator, projector), publishing at once when the last board is
    /// older than the interval; tells the audience publisher too.
    async fn publisher(self: Arc<Self>) {
        let staff_every = self.shared.config.staff_tally_interval();
        let mut last_staff = Instant::now();
        let mut staff_due: Option<Instant> = None;
        let far = || Instant::now() + std::time::Duration::from_secs(3600);
        loop {
            tokio::select! {
                _ = self.ended.cancelled() => return,
                _ = self.dirty.notified() => {
                    let now = Instant::now();
                    staff_due.get_or_insert((last_staff + staff_every).max(now));
                    self.audience_pending.store(true, Ordering::Release);
                    self.audience_wake.notify_one();
                }
                _ = sleep_until(staff_due.unwrap_or_else(far)), if staff_due.is_some() => {
                    staff_due = None;
                    last_staff = Instant::now();
                    self.publish_staff();
                }
            }
        }
    }

    /// Publishes to the phones in cycles of one interval: group k at k/G of
    /// the way through. Each group gets at most one board per interval, and a
    /// change reaches every group within one interval, since a cycle runs
    /// again whenever something changed during the last one.
    async fn audience_publisher(self: Arc<Self>) {
        let every = self.shared.config.audience_tally_interval();
        loop {
            tokio::select! {
                _ = self.ended.cancelled() => return,
                _ = self.audience_wake.notified() => {}
            }
            while self.audience_pending.swap(false, Ordering::AcqRel) {
                let start = Instant::now();
                for group in 0..AUDIENCE_GROUPS {
                    let slot = start + every * group as u32 / AUDIENCE_GROUPS as u32;
                    tokio::select! {
                        _ = self.ended.cancelled() => return,
                        _ = sleep_until(slot) => self.publish_audience_group(group),
                    }
                }
                tokio::select! {
                    _ = self.ended.cancelled() => return,
                    _ = sleep_until(start + every) => {}
                }
            }
        }
    }

    /// Cluster mode: marks the session let go if no connection is attached,
    /// so that none attaches after; true if it was.
    pub fn unload_if_idle(&self) -> bool {
        let mut st = self.state.lock();
        if !st.conns.is_empty() {
            return false;
        }
        st.unloaded = true;
        true
    }

    /// Connections attached now, by role (for tests and shutdown).
    pub fn connection_count(&self) -> usize {
        self.state.lock().conns.len()
    }

    // ---- activity and rates -------------------------------------------------

    /// Records activity now: the session's time-to-live starts again.
    fn touch(&self) {
        self.last_active.fetch_max(self.now(), Ordering::Relaxed);
    }

    /// When the session last had a change or a connection come or go (ms).
    pub fn last_active(&self) -> i64 {
        self.last_active.load(Ordering::Relaxed)
    }

    /// Sets when the session was last active, as read from the journal.
    pub fn set_last_active(&self, at: i64) {
        self.last_active.store(at, Ordering::Relaxed);
    }

    /// Deleting it would lose no one's work in progress: no connection,
    /// and nothing since `before` (ms).
    pub fn idle_since_before(&self, before: i64) -> bool {
        let st = self.state.lock();
        st.conns.is_empty() && self.last_active() < before
    }

    /// Takes one message from the participant's bucket, shared by its
    /// sockets and its HTTP calls; when empty, the seconds until a token.
    pub fn take_rate(&self, participant: u32) -> std::result::Result<(), u64> {
        let c = &self.shared.config;
        let mut b = self
            .rates
            .entry(participant)
            .or_insert_with(|| Bucket::new(c.rate_per_sec, c.rate_burst));
        if b.try_take() {
            Ok(())
        } else {
            Err(b.retry_after())
        }
    }

    /// Forgets the buckets that are full again (on the hub's timer).
    pub fn sweep_rates(&self) {
        self.rates.retain(|_, b| !b.is_full());
    }
}

/// Sends on a board whatever moved since `sent` and records it; used by every
/// connection's writer.
pub fn board_news(
    board: &Board,
    sent: &mut Vec<(Uuid, u64)>,
    presence_sent: &mut Option<u64>,
) -> Vec<Utf8Bytes> {
    let mut out = Vec::new();
    for t in &board.tallies {
        match sent.iter_mut().find(|(q, _)| *q == t.question_id) {
            Some((_, s)) if *s >= t.seq => {}
            Some((_, s)) => {
                *s = t.seq;
                out.push(t.frame.clone());
            }
            None => {
                sent.push((t.question_id, t.seq));
                out.push(t.frame.clone());
            }
        }
    }
    if let Some((v, f)) = &board.presence {
        if presence_sent.is_none_or(|s| *v > s) {
            *presence_sent = Some(*v);
            out.push(f.clone());
        }
    }
    out
}

/// A ballot as Redis keeps it (see `LiveSession::shared_ballot`), checked
/// again against its question; None if it no longer fits.
/// Cluster mode: whether a change would apply to `s`, checked before it is
/// appended to the shared log (every node then applies it, or refuses it, in
/// the log's order). Ok(false): it would change nothing, and is not
/// appended. What cannot be told here (a race with another node) is still
/// refused when applied.
fn precheck(s: &Session, ev: &Event, limits: &crate::domain::Limits) -> Result<bool> {
    use crate::domain::QuestionState as S;
    use Event as E;
    match ev {
        E::Joined { .. } => s.check_room(limits)?,
        // As `QaBoard::ask` refuses it.
        E::Asked { p, .. } => {
            s.qa.check_room(*p, limits.max_qa_items, limits.max_qa_per_participant)?
        }
        E::Upvoted { item, p, up, .. } => {
            let i = s.qa.item(*item)?;
            if !i.visible_to(false, Some(*p)) || i.status == QaStatus::Pending {
                return Err(Error::not_found(format!("no Q&A item {item}")));
            }
            return Ok(i.upvoters.contains(p) != *up);
        }
        E::QaSet { item, .. } | E::QaHideAuthor { item, .. } => {
            s.qa.item(*item)?;
        }
        // As `Session::add_question` refuses it.
        E::Added { .. } => s.check_question_room(limits)?,
        E::Updated { q, .. } if s.question(*q)?.state != S::Draft => {
            return Err(Error::bad_request(
                "only a draft can be edited; this question has been opened",
            ));
        }
        E::Closed { q, .. } if s.question(*q)?.state == S::Draft => {
            return Err(Error::not_open(
                "a draft has not been opened, so it cannot be closed",
            ));
        }
        E::Moved { q, .. }
        | E::Deleted { q, .. }
        | E::Opened { q, .. }
        | E::Visible { q, .. }
        | E::Reset { q, .. }
        | E::HideEntry { q, .. }
        | E::Present { q: Some(q), .. } => {
            s.question(*q)?;
        }
        _ => {}
    }
    Ok(true)
}

fn decode_ballot(kind: &crate::domain::Kind, json: &str) -> Option<Choice> {
    let b: Value = serde_json::from_str(json).ok()?;
    let raw = crate::protocol::raw_choice(b.get("c")?).ok()?;
    let entry = match b.get("e") {
        Some(e) => (
            e.get(0)?.as_str()?.parse().ok()?,
            e.get(1)?.as_str()?.parse().ok()?,
        ),
        None => (Uuid::nil(), 0),
    };
    let mut choice = kind.check_choice(raw, entry).ok()?;
    if let (Choice::Text(e), Some(true)) = (&mut choice, b.get("h").and_then(Value::as_bool)) {
        e.hidden = true;
    }
    Some(choice)
}

/// A checksum of an event's JSON, to know a log entry is the one appended.
fn checksum(json: &str) -> u64 {
    use std::hash::{Hash as _, Hasher as _};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    json.hash(&mut h);
    h.finish()
}
