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
use tokio::sync::{watch, Notify};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::domain::links::Access;
use crate::domain::Session;
use crate::live::outbox::Outbox;
use crate::live::shared::Shared;
use crate::protocol::{Role, TallyView};
use crate::rate::Bucket;
use crate::store::journal::{Hash, Place};
use crate::store::Storage;

mod ballots;
mod changes;
mod commands;
mod connect;
mod fanout;
mod follower;
mod links;
mod qa;
#[cfg(test)]
mod tests;
mod views;

pub use fanout::board_news;
use follower::{checksum, Follower};
pub use links::CLOSE_REVOKED;

/// Audience groups, published in turn across the audience interval: one
/// every 2.5 ms. Each wakes its writers at once, and a vote read meanwhile
/// waits behind them; groups of about 50 phones (at 19,500) keep that wait
/// near a millisecond, where 50 groups of 390 made it several.
const AUDIENCE_GROUPS: usize = 400;

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
    /// The moderator's frame: with the breakdowns by every segment.
    frame: Utf8Bytes,
    /// The same tally without `type`, for views and results.
    value: TallyView,
    /// What the projector and phones get, where it differs from the
    /// moderator's: without the breakdowns they are not shown.
    public: Option<(Utf8Bytes, TallyView)>,
}

impl Published {
    /// The frame and value a role gets.
    fn for_role(&self, role: Role) -> (&Utf8Bytes, &TallyView) {
        match (&self.public, role) {
            (Some((frame, value)), Role::Audience | Role::Projector) => (frame, value),
            _ => (&self.frame, &self.value),
        }
    }
}

struct ConnEntry {
    role: Role,
    participant: Option<u32>,
    outbox: Arc<Outbox>,
    /// A staff connection's access: its scope, and the link it came by.
    access: Option<Access>,
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
    /// Where the session stands in the journal: the last link of its chain
    /// (in cluster mode, of its shared log's chain) and the segment of its
    /// latest snapshot.
    place: Place,
    /// Q&A items whose upvotes moved since the last staff / audience board.
    qa_dirty: [std::collections::HashSet<Uuid>; 2],
    /// Cluster mode: questions whose counts to read again besides the open ones.
    recount: std::collections::HashSet<Uuid>,
    /// Cluster mode: this node let go of the session; nothing attaches any more.
    unloaded: bool,
}

/// A connection attached to a session, ready for its writer.
pub struct Attached {
    pub conn_id: u64,
    pub participant: Option<u32>,
    pub outbox: Arc<Outbox>,
    pub board: watch::Receiver<Arc<Board>>,
    /// The tallies the welcome carried: the writer need not send them again.
    pub sent: Vec<(Uuid, u64)>,
    /// A staff connection's access (see `links`).
    pub access: Option<Access>,
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
    /// Cluster mode: where this copy is in the shared log, and what the
    /// follower task has to do (idle in the other modes).
    follower: Follower,
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
                place: Place {
                    chain,
                    ..Place::default()
                },
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
            follower: Follower::at(applied),
            lost: AtomicBool::new(false),
            last_active: AtomicI64::new(shared_now),
            rates: Default::default(),
        });
        tokio::spawn(live.clone().publisher());
        tokio::spawn(live.clone().audience_publisher());
        if let Storage::Redis(c) = &live.shared.storage {
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
    pub(super) fn board(&self, role: Role, conn_id: u64) -> &watch::Sender<Arc<Board>> {
        match role {
            Role::Moderator => &self.moderator_board,
            Role::Projector => &self.projector_board,
            Role::Audience => &self.audience_boards[(conn_id % AUDIENCE_GROUPS as u64) as usize],
        }
    }

    pub(super) fn now(&self) -> i64 {
        self.shared.clock.now_ms()
    }

    // ---- activity and rates -------------------------------------------------

    /// Records activity now: the session's time-to-live starts again.
    pub(super) fn touch(&self) {
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
