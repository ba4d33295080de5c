//! New sessions: created under a fresh code (in cluster mode, claimed in
//! Redis), and, in cluster mode, a session's copy loaded from Redis.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use dashmap::mapref::entry::Entry;
use rand::rngs::OsRng;
use rand::Rng;
use uuid::Uuid;

use crate::domain::{Event, QuestionSpec, Session, Settings};
use crate::error::{Error, Result};
use crate::live::secrets::new_token;
use crate::live::session::LiveSession;
use crate::store::journal;
use crate::store::records::Record;
use crate::store::redis::Redis;
use crate::store::Storage;

use super::{no_free_code, Hub};

impl Hub {
    /// Creates a session under a fresh random code, with its questions.
    pub async fn create_session(
        &self,
        title: String,
        settings: Settings,
        questions: Vec<QuestionSpec>,
    ) -> Result<Arc<LiveSession>> {
        let limits = &self.shared.limits;
        let now = self.shared.clock.now_ms();
        let mut session = Session::new(
            Uuid::new_v4(),
            String::new(),
            title,
            new_token(),
            settings,
            now,
            limits,
        )?;
        for (i, spec) in questions.into_iter().enumerate() {
            session
                .add_question(Uuid::new_v4(), spec, limits)
                .map_err(|e| Error::new(e.code, format!("questions[{i}]: {}", e.message)))?;
        }
        match &self.shared.storage {
            Storage::Redis(r) => self.create_shared(r, session).await,
            Storage::Memory | Storage::Journal(_) => self.create_here(session).await,
        }
    }

    /// Takes a free code among the sessions held here, then journals the
    /// creation.
    async fn create_here(&self, mut session: Session) -> Result<Arc<LiveSession>> {
        for _ in 0..100 {
            let code = format!("{:06}", OsRng.gen_range(0..1_000_000u32));
            if let Entry::Vacant(slot) = self.sessions.entry(code.clone()) {
                session.code = code;
                let live = LiveSession::start(session, [0; 32], self.shared.clone());
                slot.insert(live.clone());
                let durable = live.log_creation();
                self.shared.metrics.sessions.fetch_add(1, Ordering::Relaxed);
                tracing::info!(code = %live.code, id = %live.id, "session created");
                durable.wait().await?;
                return Ok(live);
            }
        }
        Err(no_free_code())
    }

    /// Cluster mode: claims a free code in Redis with the creation event,
    /// then adds the questions through the shared log.
    async fn create_shared(&self, c: &Redis, mut session: Session) -> Result<Arc<LiveSession>> {
        let questions: Vec<QuestionSpec> =
            session.questions().iter().map(|q| q.spec.clone()).collect();
        for _ in 0..100 {
            let code = format!("{:06}", OsRng.gen_range(0..1_000_000u32));
            session.code = code.clone();
            let created = session
                .snapshot_events()
                .into_iter()
                .next()
                .ok_or_else(|| Error::internal("a session without its creation"))?;
            let json = crate::store::records::event_json(&created);
            if c.append(&code, &created, &json).await?.is_none() {
                continue;
            }
            // A miss remembered here must not hide the new session.
            self.misses.lock().remove(&code);
            let bare = Session::new(
                session.id,
                code.clone(),
                session.title.clone(),
                session.moderator_token.clone(),
                session.settings.clone(),
                session.created_at,
                &self.shared.limits,
            )?;
            let live = LiveSession::start(bare, [0; 32], self.shared.clone());
            self.sessions.insert(code, live.clone());
            self.shared.metrics.sessions.fetch_add(1, Ordering::Relaxed);
            for spec in questions {
                live.add_question(spec).await?;
            }
            // The creation event carries only `qa_moderation`.
            let more = crate::domain::SettingsChange::beyond_creation(&session.settings);
            if !more.is_empty() {
                live.update(None, more).await?;
            }
            live.catch_up(None).await?;
            tracing::info!(code = %live.code, id = %live.id, "session created in Redis");
            return Ok(live);
        }
        Err(no_free_code())
    }

    /// Cluster mode: a copy of a session from Redis, from its snapshot if the
    /// log was compacted, else from the log's first entry; the caller reads
    /// the rest of the log. None: Redis does not know the code.
    pub(super) async fn load(&self, c: &Redis, code: &str) -> Result<Option<Arc<LiveSession>>> {
        let limits = &self.shared.limits;
        // A compaction may cut the log's head off between the two reads:
        // then the snapshot it wrote is read.
        for _ in 0..3 {
            if let Some((at, json)) = c.snapshot(code).await? {
                let (session, chain) = journal::session_from_snapshot(&json)?;
                let timers: Vec<(Uuid, i64)> = session
                    .questions()
                    .iter()
                    .filter_map(|q| Some((q.id, q.closes_at?)))
                    .collect();
                let live = LiveSession::start_at(session, chain, at, self.shared.clone());
                for (q, at) in timers {
                    live.schedule_close(q, at);
                }
                return Ok(Some(live));
            }
            let first = c.read_log(code, 0, 1).await?;
            if first.base > 0 {
                continue;
            }
            let Some((1, first)) = first
                .entries
                .first()
                .and_then(|e| crate::store::redis::entry(e))
            else {
                return Ok(None);
            };
            let Ok(Record::Event(Event::Created {
                id,
                code: _,
                title,
                token,
                qa_moderation,
                at,
            })) = crate::store::records::decode(first.as_bytes())
            else {
                return Err(Error::internal(format!(
                    "the log of {code} does not start with its creation"
                )));
            };
            let session = Session::new(
                id,
                code.to_owned(),
                title,
                token,
                Settings {
                    qa_moderation,
                    ..Settings::default()
                },
                at,
                limits,
            )?;
            return Ok(Some(LiveSession::start(
                session,
                [0; 32],
                self.shared.clone(),
            )));
        }
        Err(Error::new(
            crate::error::ErrorCode::Unavailable,
            "this session is being compacted; retry",
        ))
    }
}
