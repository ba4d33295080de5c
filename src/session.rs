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
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::extract::ws::Utf8Bytes;
use parking_lot::Mutex;
use serde_json::{json, Map, Value};
use tokio::sync::{watch, Notify};
use tokio::time::{sleep_until, Instant};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::domain::qa::QaStatus;
use crate::domain::{KindName, QuestionSpec, RawChoice, Session};
use crate::error::{Error, Result};
use crate::hub::{new_token, Shared};
use crate::journal::{self, Durable, Event, Hash};
use crate::outbox::{Close, Outbox, CLOSE_NORMAL};
use crate::protocol::{
    self, choice_json, question_spec_json, Presentation, QuestionAction, Role, TallyOut,
};

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
    /// The current tally of each question that has had ballots.
    published: HashMap<Uuid, Published>,
    /// The session's tally sequence; every published tally takes the next.
    seq: u64,
    /// The last link of the session's journal chain.
    chain: Hash,
    /// Q&A items whose upvotes moved since the last staff / audience board.
    qa_dirty: [std::collections::HashSet<Uuid>; 2],
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
}

impl LiveSession {
    /// Wraps a session and starts its publisher.
    pub fn start(session: Session, chain: Hash, shared: Arc<Shared>) -> Arc<LiveSession> {
        let board = || watch::channel(Arc::new(Board::default())).0;
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
                published: HashMap::new(),
                seq: 0,
                chain,
                qa_dirty: Default::default(),
            }),
            dirty: Notify::new(),
            moderator_board: board(),
            projector_board: board(),
            audience_boards: (0..AUDIENCE_GROUPS).map(|_| board()).collect(),
            audience_pending: AtomicBool::new(false),
            audience_wake: Notify::new(),
        });
        tokio::spawn(live.clone().publisher());
        tokio::spawn(live.clone().audience_publisher());
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
    pub fn attach(&self, role: Role, token: Option<&str>, join_url: &str) -> Result<Attached> {
        let mut st = self.state.lock();
        let participant = match role {
            Role::Moderator => {
                if !token.is_some_and(|t| crate::hub::token_eq(t, &st.session.moderator_token)) {
                    return Err(Error::unauthorized("wrong or missing moderator token"));
                }
                None
            }
            Role::Projector => None,
            Role::Audience => Some(
                match token.and_then(|t| st.session.participant_by_token(t)) {
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
        session["qa_items"] = Value::Array(
            st.session
                .qa
                .items()
                .iter()
                .filter(|i| i.visible_to(role == Role::Moderator, participant))
                .map(|i| protocol::qa_item_json(i, participant == Some(i.author), true))
                .collect(),
        );
        let mut welcome = json!({
            "role": role,
            "session": session,
            "server_time": self.now(),
        });
        if let Some(p) = participant {
            let who = st.session.participant(p);
            welcome["participant_id"] = json!(who.id);
            welcome["participant_token"] = json!(who.token);
            let ballots: Map<String, Value> = st
                .session
                .ballots_of(p)
                .map(|(q, c)| (q.id.to_string(), choice_json(c)))
                .collect();
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
        if role == Role::Audience {
            st.audience += 1;
            st.presence_version += 1;
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

    pub fn detach(&self, conn_id: u64) {
        let mut st = self.state.lock();
        if let Some(c) = st.conns.remove(&conn_id) {
            if c.role == Role::Audience {
                st.audience -= 1;
                st.presence_version += 1;
            }
            drop(st);
            self.shared.metrics.disconnected(c.role);
            self.dirty.notify_one();
        }
    }

    /// Journals the end, sends `ended` to every connection and closes them;
    /// stops the publisher.
    pub async fn end(&self) -> Result<()> {
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

    // ---- moderator actions ------------------------------------------------

    pub async fn add_question(&self, spec: QuestionSpec) -> Result<Value> {
        let (view, durable) = {
            let mut st = self.state.lock();
            let q = st
                .session
                .add_question(Uuid::new_v4(), spec, &self.shared.limits)?;
            let (id, spec) = (q.id, Value::Object(question_spec_json(&q.spec, true)));
            let durable = self.log(
                &mut st,
                Event::Added {
                    code: self.code.clone(),
                    q: id,
                    spec,
                },
            );
            self.broadcast_question(&st, id);
            (
                protocol::question_view(st.session.question(id)?, true),
                durable,
            )
        };
        durable.wait().await?;
        Ok(view)
    }

    pub async fn update_question(&self, id: Uuid, spec: QuestionSpec) -> Result<Value> {
        let (view, durable) = {
            let mut st = self.state.lock();
            let q = st.session.update_question(id, spec, &self.shared.limits)?;
            let spec = Value::Object(question_spec_json(&q.spec, true));
            let durable = self.log(
                &mut st,
                Event::Updated {
                    code: self.code.clone(),
                    q: id,
                    spec,
                },
            );
            self.broadcast_question(&st, id);
            (
                protocol::question_view(st.session.question(id)?, true),
                durable,
            )
        };
        durable.wait().await?;
        Ok(view)
    }

    pub async fn move_question(&self, id: Uuid, index: usize) -> Result<()> {
        let durable = {
            let mut st = self.state.lock();
            st.session.move_question(id, index)?;
            let durable = self.log(
                &mut st,
                Event::Moved {
                    code: self.code.clone(),
                    q: id,
                    index,
                },
            );
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
            self.broadcast(&st, |c| {
                Some(if c.role == Role::Moderator {
                    staff.clone()
                } else {
                    public.clone()
                })
            });
            durable
        };
        durable.wait().await
    }

    pub async fn delete_question(&self, id: Uuid) -> Result<()> {
        let durable = {
            let mut st = self.state.lock();
            let before = Self::presented(&st);
            let q = st.session.delete_question(id)?;
            let durable = self.log(
                &mut st,
                Event::Deleted {
                    code: self.code.clone(),
                    q: id,
                },
            );
            st.published.remove(&id);
            let frame = protocol::message("question_removed", json!({ "question_id": id }));
            let public = q.is_public();
            self.broadcast(&st, |c| {
                (c.role == Role::Moderator || public).then(|| frame.clone())
            });
            self.broadcast_present(&st, before);
            durable
        };
        self.dirty.notify_one();
        durable.wait().await
    }

    /// open, close, reveal, hide or reset.
    pub async fn act(self: &Arc<Self>, id: Uuid, action: QuestionAction) -> Result<Value> {
        let code = self.code.clone();
        let (view, durable, republish) = {
            let mut st = self.state.lock();
            let before = Self::presented(&st);
            let mut republish = false;
            let ev = match action {
                QuestionAction::Open { duration_s } => {
                    let (at, duration_ms) = (self.now(), duration_s.map(|s| s as i64 * 1000));
                    let q = st.session.open(id, at, duration_ms)?;
                    if let Some(closes_at) = q.closes_at {
                        self.schedule_close(id, closes_at);
                    }
                    Event::Opened {
                        code,
                        q: id,
                        at,
                        duration_ms,
                    }
                }
                QuestionAction::Close => {
                    st.session.close(id)?;
                    Event::Closed { code, q: id }
                }
                QuestionAction::Reveal | QuestionAction::Hide => {
                    let visible = action == QuestionAction::Reveal;
                    st.session.set_results_visible(id, visible)?;
                    // A revealed tally is sent again so views that dropped it redraw.
                    if let (true, Some(p)) = (visible, st.published.get_mut(&id)) {
                        p.version = None;
                    }
                    republish = true;
                    Event::Visible {
                        code,
                        q: id,
                        visible,
                    }
                }
                QuestionAction::Reset => {
                    let had: std::collections::HashSet<u32> =
                        st.session.reset(id)?.into_iter().collect();
                    // Phones whose ballot went clear their selection.
                    let frame =
                        protocol::message("ballot", json!({"question_id": id, "choice": null}));
                    self.broadcast(&st, |c| {
                        c.participant
                            .filter(|p| had.contains(p))
                            .map(|_| frame.clone())
                    });
                    republish = true;
                    Event::Reset { code, q: id }
                }
            };
            let durable = self.log(&mut st, ev);
            self.broadcast_question(&st, id);
            self.broadcast_present(&st, before);
            (
                protocol::question_view(st.session.question(id)?, true),
                durable,
                republish,
            )
        };
        if republish {
            self.dirty.notify_one();
        }
        durable.wait().await?;
        Ok(view)
    }

    /// Closes the question when its timer runs out, on the server's clock.
    pub fn schedule_close(self: &Arc<Self>, id: Uuid, at: i64) {
        let me = self.clone();
        let deadline = self.shared.clock.instant_at(at);
        tokio::spawn(async move {
            tokio::select! {
                _ = me.ended.cancelled() => {}
                _ = sleep_until(deadline) => me.close_if_due(id),
            }
        });
    }

    /// Closes the question if its timer has run out.
    pub fn close_if_due(&self, id: Uuid) {
        let mut st = self.state.lock();
        let before = Self::presented(&st);
        let now = self.now();
        if st.session.close_if_due(id, now) {
            tracing::info!(code = %self.code, question = %id, "timer closed the question");
            self.log(
                &mut st,
                Event::TimerClosed {
                    code: self.code.clone(),
                    q: id,
                    at: now,
                },
            );
            self.broadcast_question(&st, id);
            self.broadcast_present(&st, before);
        }
    }

    pub async fn present(&self, p: Presentation) -> Result<()> {
        let durable = {
            let mut st = self.state.lock();
            let before = Self::presented(&st);
            let code = self.code.clone();
            let ev = match p {
                Presentation::Question(q) => {
                    st.session.present(q)?;
                    Event::Present { code, q }
                }
                Presentation::Qa => {
                    st.session.present_qa();
                    Event::PresentQa { code }
                }
            };
            let durable = self.log(&mut st, ev);
            self.broadcast_present(&st, before);
            durable
        };
        durable.wait().await
    }

    /// Changes the title and settings; every view gets them.
    pub async fn update(&self, title: Option<String>, qa_moderation: Option<bool>) -> Result<()> {
        let durable = {
            let mut st = self.state.lock();
            let mut durable = Durable::done();
            if let Some(t) = title {
                st.session.set_title(t, &self.shared.limits)?;
                let title = st.session.title.clone();
                durable = self.log(
                    &mut st,
                    Event::Title {
                        code: self.code.clone(),
                        title,
                    },
                );
            }
            if let Some(m) = qa_moderation {
                st.session.settings.qa_moderation = m;
                durable = self.log(
                    &mut st,
                    Event::Settings {
                        code: self.code.clone(),
                        qa_moderation: m,
                    },
                );
            }
            let frame = protocol::message(
                "session",
                json!({"title": st.session.title, "settings": {"qa_moderation": st.session.settings.qa_moderation}}),
            );
            self.broadcast(&st, |_| Some(frame.clone()));
            durable
        };
        durable.wait().await
    }

    pub async fn hide_entry(&self, id: Uuid, entry: Uuid) -> Result<()> {
        let durable = {
            let mut st = self.state.lock();
            st.session.hide_entry(id, entry)?;
            self.log(
                &mut st,
                Event::HideEntry {
                    code: self.code.clone(),
                    q: id,
                    entry,
                },
            )
        };
        self.dirty.notify_one();
        durable.wait().await
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
            json!({ "item": protocol::qa_item_json(item, false, true) }),
        );
        let public = protocol::message(
            "qa_item",
            json!({ "item": protocol::qa_item_json(item, false, !hidden) }),
        );
        let mine = protocol::message(
            "qa_item",
            json!({ "item": protocol::qa_item_json(item, true, !hidden) }),
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

    pub async fn ask(&self, participant: u32, text: &str, name: Option<&str>) -> Result<()> {
        let durable = {
            let mut st = self.state.lock();
            let (id, at, pending) = (
                Uuid::new_v4(),
                self.now(),
                st.session.settings.qa_moderation,
            );
            let max = self.shared.limits.max_qa_items;
            let item = st
                .session
                .qa
                .ask(id, participant, text, name, at, pending, max)?;
            let ev = Event::Asked {
                code: self.code.clone(),
                item: id,
                p: participant,
                text: item.text.clone(),
                name: item.name.clone(),
                at,
                pending,
            };
            let durable = self.log(&mut st, ev);
            self.broadcast_qa_item(&st, id, &Role::ALL);
            durable
        };
        durable.wait().await
    }

    /// Upvotes (or takes back an upvote); the new count reaches the views at
    /// the tally intervals, coalesced.
    pub async fn upvote(&self, participant: u32, item: Uuid, up: bool) -> Result<()> {
        let durable = {
            let mut st = self.state.lock();
            if !st.session.qa.upvote(item, participant, up)? {
                return Ok(());
            }
            for set in st.qa_dirty.iter_mut() {
                set.insert(item);
            }
            self.log(
                &mut st,
                Event::Upvoted {
                    code: self.code.clone(),
                    item,
                    p: participant,
                    up,
                },
            )
        };
        self.dirty.notify_one();
        durable.wait().await
    }

    pub async fn set_qa_status(&self, item: Uuid, status: &str) -> Result<()> {
        let status = QaStatus::parse(status).ok_or_else(|| {
            Error::bad_request(format!(
                "unknown status {status:?}; the statuses are approved, pinned, answered, hidden"
            ))
        })?;
        let durable = {
            let mut st = self.state.lock();
            let changed = st.session.qa.set_status(item, status)?;
            let ev = Event::QaSet {
                code: self.code.clone(),
                item,
                status: status.as_str().into(),
            };
            let durable = self.log(&mut st, ev);
            for id in changed {
                self.broadcast_qa_item(&st, id, &Role::ALL);
            }
            durable
        };
        durable.wait().await
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

    /// A new participant (the HTTP path); the socket path joins in `attach`.
    pub async fn join(&self) -> Result<(Uuid, String)> {
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
    /// the server keeps a journal.
    pub async fn vote(&self, participant: u32, id: Uuid, choice: RawChoice) -> Result<()> {
        let result = {
            let mut st = self.state.lock();
            // Only an `open` answer needs an id and a time of its own.
            let entry = match st.session.question(id) {
                Ok(q) if q.spec.kind.name() == KindName::Open => Some((Uuid::new_v4(), self.now())),
                _ => None,
            };
            let c = self
                .shared
                .journal
                .as_ref()
                .map(|_| journal::raw_choice_json(&choice));
            match st
                .session
                .vote(participant, id, choice, entry.unwrap_or((Uuid::nil(), 0)))
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
        self.counted(result).await
    }

    pub async fn retract(&self, participant: u32, id: Uuid) -> Result<()> {
        let result = {
            let mut st = self.state.lock();
            match st.session.retract(participant, id) {
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
        self.counted(result).await
    }

    async fn counted(&self, result: Result<Durable>) -> Result<()> {
        let m = &self.shared.metrics;
        let result = match result {
            Ok(durable) => {
                self.dirty.notify_one();
                durable.wait().await
            }
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
    pub fn results(&self) -> Value {
        let st = self.state.lock();
        let s = &st.session;
        let questions: Vec<Value> = s
            .questions()
            .iter()
            .map(|q| {
                let seq = st.published.get(&q.id).map_or(0, |p| p.seq);
                let mut v = protocol::question_view(q, true);
                v["tally"] =
                    serde_json::to_value(TallyOut::new(q.id, seq, q.tally())).unwrap_or_default();
                v
            })
            .collect();
        json!({
            "session": {
                "id": s.id, "code": s.code, "title": s.title, "created_at": s.created_at,
                "digest": journal::hex(&st.chain),
                "participants": s.participants().len(),
                "settings": {"qa_moderation": s.settings.qa_moderation},
            },
            "questions": questions,
            "qa": crate::export::qa_by_upvotes(s)
                .into_iter()
                .map(|i| protocol::qa_item_json(i, false, true))
                .collect::<Vec<_>>(),
            "generated_at": self.now(),
        })
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
        let presence = (role != Role::Audience)
            .then(|| (st.presence_version, protocol::presence_frame(st.audience)));
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

    /// Connections attached now, by role (for tests and shutdown).
    pub fn connection_count(&self) -> usize {
        self.state.lock().conns.len()
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
