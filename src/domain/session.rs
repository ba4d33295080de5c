//! A session: its questions in order, what the projector shows, its
//! participants and every ballot.

use std::collections::{HashMap, HashSet};

use uuid::Uuid;

use super::Limits;
use super::{normalise_word, Choice, QuestionSpec, RawChoice, Tally};
use crate::error::{Error, Result};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuestionState {
    /// Prepared; seen by the moderator alone.
    Draft,
    /// Taking ballots.
    Open,
    /// Ballots frozen.
    Closed,
}

impl QuestionState {
    pub fn as_str(self) -> &'static str {
        match self {
            QuestionState::Draft => "draft",
            QuestionState::Open => "open",
            QuestionState::Closed => "closed",
        }
    }
}

/// Session-wide settings a moderator may change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// Q&A items wait for the moderator's approval before they are published.
    pub qa_moderation: bool,
    /// The projector shows the session's digest under revealed results.
    pub show_digest: bool,
    /// The anonymity floor: a group of fewer voters is never shown (1: off).
    pub min_group: u32,
    /// Anyone with the code may read the closed, revealed results and the
    /// answered questions from the floor.
    pub public_summary: bool,
}

/// A change of settings: a setting that is None stays as it is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SettingsChange {
    pub qa_moderation: Option<bool>,
    pub show_digest: Option<bool>,
    pub min_group: Option<u32>,
    pub public_summary: Option<bool>,
}

impl SettingsChange {
    pub fn is_empty(&self) -> bool {
        *self == SettingsChange::default()
    }

    /// What a new session sets beyond what its creation event carries
    /// (`qa_moderation`): None where it keeps the default.
    pub fn beyond_creation(s: &Settings) -> SettingsChange {
        SettingsChange {
            qa_moderation: None,
            show_digest: s.show_digest.then_some(true),
            min_group: (s.min_group != DEFAULT_MIN_GROUP).then_some(s.min_group),
            public_summary: s.public_summary.then_some(true),
        }
    }
}

/// The anonymity floor unless a session sets another.
pub const DEFAULT_MIN_GROUP: u32 = 5;

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            qa_moderation: false,
            show_digest: false,
            min_group: DEFAULT_MIN_GROUP,
            public_summary: false,
        }
    }
}

/// One phone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Participant {
    pub id: Uuid,
    /// The secret the phone keeps and presents again after a reconnect.
    pub token: String,
    /// When the phone first joined (ms since the epoch).
    pub joined_at: i64,
}

#[derive(Clone, Debug)]
pub struct Question {
    pub id: Uuid,
    pub spec: QuestionSpec,
    pub state: QuestionState,
    pub results_visible: bool,
    /// When an open question with a timer closes by itself (ms since the epoch).
    pub closes_at: Option<i64>,
    /// The ballot of each participant, by participant index.
    ballots: HashMap<u32, Choice>,
    /// The aggregate of `ballots`, kept in step with every change.
    tally: Tally,
    /// Grows with every change of the ballots; the live side publishes a new
    /// tally when it moves.
    pub version: u64,
    /// `open`: the answers the moderator hid, as (author, normalised text):
    /// the same text from the same author stays hidden.
    hidden_texts: HashSet<(u32, String)>,
    /// The segment question the projector and phones see this one broken
    /// down by.
    pub by: Option<Uuid>,
    /// The tallies of `ballots` by group: by segment question, one per
    /// option of the segment (kept in step by `Session::regroup`).
    pub(super) groups: HashMap<Uuid, Vec<Tally>>,
}

impl Question {
    fn new(id: Uuid, spec: QuestionSpec) -> Question {
        let tally = Tally::empty(&spec.kind);
        Question {
            id,
            spec,
            state: QuestionState::Draft,
            results_visible: false,
            closes_at: None,
            ballots: HashMap::new(),
            tally,
            version: 0,
            hidden_texts: HashSet::new(),
            by: None,
            groups: HashMap::new(),
        }
    }

    /// Audience and projector see the question at all.
    pub fn is_public(&self) -> bool {
        self.state != QuestionState::Draft
    }

    /// Audience and projector see the tally.
    pub fn results_public(&self) -> bool {
        self.is_public() && self.results_visible
    }

    /// Audience and projector may see the quiz answer: closed and revealed.
    pub fn correct_public(&self) -> bool {
        self.state == QuestionState::Closed && self.results_visible
    }

    pub fn tally(&self) -> &Tally {
        &self.tally
    }

    pub fn ballot(&self, participant: u32) -> Option<&Choice> {
        self.ballots.get(&participant)
    }

    pub fn ballots(&self) -> impl Iterator<Item = (u32, &Choice)> {
        self.ballots.iter().map(|(p, c)| (*p, c))
    }

    pub fn ballot_count(&self) -> usize {
        self.ballots.len()
    }

    /// `open`: the (author, normalised text) pairs hidden by the moderator.
    pub fn hidden_texts(&self) -> impl Iterator<Item = &(u32, String)> {
        self.hidden_texts.iter()
    }

    /// `open`: marks a checked answer hidden when its author's same text was
    /// hidden before, so it never reaches a view or the tally.
    pub fn keep_hidden(&self, participant: u32, choice: &mut Choice) {
        if let Choice::Text(e) = choice {
            if !self.hidden_texts.is_empty()
                && self
                    .hidden_texts
                    .contains(&(participant, hidden_key(&e.text)))
            {
                e.hidden = true;
            }
        }
    }

    fn clear_ballots(&mut self) {
        self.ballots.clear();
        self.tally = Tally::empty(&self.spec.kind);
        self.groups.clear();
        self.version += 1;
    }
}

/// What a vote did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VoteOutcome {
    /// The participant had no ballot.
    Cast,
    /// The participant's ballot was replaced.
    Changed,
}

#[derive(Clone, Debug)]
pub struct Session {
    pub id: Uuid,
    /// Six ASCII digits, unique among the server's sessions.
    pub code: String,
    pub title: String,
    pub moderator_token: String,
    pub settings: Settings,
    pub created_at: i64,
    pub(super) questions: Vec<Question>,
    /// The question on the projector, whatever its state.
    pub current: Option<Uuid>,
    /// The projector shows the Q&A board instead of a question.
    pub qa_on_screen: bool,
    participants: Vec<Participant>,
    by_token: HashMap<String, u32>,
    /// Questions from the room.
    pub qa: super::qa::Board,
    /// How many questions are segments: without any, a ballot moves no group.
    pub(super) segments: usize,
    /// The links handed out for a part of the work.
    pub links: super::links::Links,
}

impl Session {
    pub fn new(
        id: Uuid,
        code: String,
        title: String,
        moderator_token: String,
        settings: Settings,
        created_at: i64,
        limits: &Limits,
    ) -> Result<Session> {
        super::check_text("title", &title, limits.max_title_chars)?;
        Ok(Session {
            id,
            code,
            title: title.trim().to_owned(),
            moderator_token,
            settings,
            created_at,
            questions: Vec::new(),
            current: None,
            qa_on_screen: false,
            participants: Vec::new(),
            by_token: HashMap::new(),
            qa: super::qa::Board::default(),
            segments: 0,
            links: Default::default(),
        })
    }

    pub fn set_title(&mut self, title: String, limits: &Limits) -> Result<()> {
        super::check_text("title", &title, limits.max_title_chars)?;
        self.title = title.trim().to_owned();
        Ok(())
    }

    pub fn questions(&self) -> &[Question] {
        &self.questions
    }

    fn index_of(&self, id: Uuid) -> Result<usize> {
        self.questions
            .iter()
            .position(|q| q.id == id)
            .ok_or_else(|| Error::not_found(format!("no question {id} in this session")))
    }

    pub fn question(&self, id: Uuid) -> Result<&Question> {
        Ok(&self.questions[self.index_of(id)?])
    }

    pub(super) fn question_mut(&mut self, id: Uuid) -> Result<&mut Question> {
        let i = self.index_of(id)?;
        Ok(&mut self.questions[i])
    }

    /// The question audience and projector are shown: the presented one,
    /// unless it is still a draft.
    pub fn public_current(&self) -> Option<Uuid> {
        let id = self.current?;
        self.question(id)
            .ok()
            .filter(|q| q.is_public())
            .map(|q| q.id)
    }

    /// Whether the session has room for one more question; `limit_reached`
    /// if not.
    pub fn check_question_room(&self, limits: &Limits) -> Result<()> {
        if self.questions.len() >= limits.max_questions {
            return Err(Error::limit_reached(format!(
                "a session holds at most {} questions",
                limits.max_questions
            )));
        }
        Ok(())
    }

    pub fn add_question(
        &mut self,
        id: Uuid,
        spec: QuestionSpec,
        limits: &Limits,
    ) -> Result<&Question> {
        self.check_question_room(limits)?;
        spec.validate(limits)?;
        self.segments += usize::from(spec.segment);
        self.questions.push(Question::new(id, spec));
        Ok(self.questions.last().expect("just pushed"))
    }

    /// Replaces a draft's definition; a question that has been opened keeps it,
    /// so that its ballots always mean what they meant when cast.
    pub fn update_question(
        &mut self,
        id: Uuid,
        spec: QuestionSpec,
        limits: &Limits,
    ) -> Result<&Question> {
        spec.validate(limits)?;
        let q = self.question_mut(id)?;
        if q.state != QuestionState::Draft {
            return Err(Error::bad_request(
                "only a draft can be edited; this question has been opened",
            ));
        }
        q.tally = Tally::empty(&spec.kind);
        let was_segment = std::mem::replace(&mut q.spec, spec).segment;
        self.segment_redefined(id, was_segment);
        self.question(id)
    }

    /// Moves a question to `index` in the running order (clamped to the end).
    pub fn move_question(&mut self, id: Uuid, index: usize) -> Result<()> {
        let from = self.index_of(id)?;
        let q = self.questions.remove(from);
        let to = index.min(self.questions.len());
        self.questions.insert(to, q);
        Ok(())
    }

    pub fn delete_question(&mut self, id: Uuid) -> Result<Question> {
        let i = self.index_of(id)?;
        if self.current == Some(id) {
            self.current = None;
        }
        let q = self.questions.remove(i);
        if q.spec.segment {
            self.segments -= 1;
            self.segment_gone(id);
        }
        Ok(q)
    }

    /// Opens a draft or a closed question (which keeps its ballots). With a
    /// duration, the question closes by itself at `closes_at`; opening an open
    /// question sets its timer anew.
    pub fn open(&mut self, id: Uuid, now: i64, duration_ms: Option<i64>) -> Result<&Question> {
        let q = self.question_mut(id)?;
        q.state = QuestionState::Open;
        q.closes_at = duration_ms.map(|d| now + d);
        Ok(q)
    }

    pub fn close(&mut self, id: Uuid) -> Result<&Question> {
        let q = self.question_mut(id)?;
        match q.state {
            QuestionState::Draft => Err(Error::not_open(
                "a draft has not been opened, so it cannot be closed",
            )),
            QuestionState::Open | QuestionState::Closed => {
                q.state = QuestionState::Closed;
                q.closes_at = None;
                Ok(q)
            }
        }
    }

    /// Closes the question if its timer has run out by `now`; true if it did.
    pub fn close_if_due(&mut self, id: Uuid, now: i64) -> bool {
        match self.question_mut(id) {
            Ok(q) if q.state == QuestionState::Open && q.closes_at.is_some_and(|t| t <= now) => {
                q.state = QuestionState::Closed;
                q.closes_at = None;
                true
            }
            _ => false,
        }
    }

    pub fn set_results_visible(&mut self, id: Uuid, visible: bool) -> Result<&Question> {
        let q = self.question_mut(id)?;
        q.results_visible = visible;
        Ok(q)
    }

    /// Deletes every ballot of the question; returns the participants who had one.
    pub fn reset(&mut self, id: Uuid) -> Result<Vec<u32>> {
        let q = self.question_mut(id)?;
        let had: Vec<u32> = q.ballots.keys().copied().collect();
        q.clear_ballots();
        if q.spec.segment {
            self.segment_cleared(id);
        }
        Ok(had)
    }

    pub fn present(&mut self, id: Option<Uuid>) -> Result<()> {
        if let Some(id) = id {
            self.index_of(id)?;
        }
        self.current = id;
        self.qa_on_screen = false;
        Ok(())
    }

    pub fn present_qa(&mut self) {
        self.current = None;
        self.qa_on_screen = true;
    }

    pub fn participants(&self) -> &[Participant] {
        &self.participants
    }

    pub fn participant(&self, index: u32) -> &Participant {
        &self.participants[index as usize]
    }

    pub fn participant_by_token(&self, token: &str) -> Option<u32> {
        self.by_token.get(token).copied()
    }

    /// Adds a participant; the caller makes the id and the secret token.
    pub fn join(&mut self, id: Uuid, token: String, at: i64, limits: &Limits) -> Result<u32> {
        self.check_room(limits)?;
        let index = self.participants.len() as u32;
        self.by_token.insert(token.clone(), index);
        self.participants.push(Participant {
            id,
            token,
            joined_at: at,
        });
        Ok(index)
    }

    /// Whether one more participant may join.
    pub fn check_room(&self, limits: &Limits) -> Result<()> {
        if self.participants.len() >= limits.max_participants {
            return Err(Error::limit_reached(format!(
                "this session is full: it holds at most {} participants",
                limits.max_participants
            )));
        }
        Ok(())
    }

    /// The question, if it takes ballots at `now`: open, and its timer (if
    /// any) not run out, whether or not the timer has closed it yet.
    fn open_question_at(&mut self, id: Uuid, now: i64) -> Result<&mut Question> {
        let q = self.open_question_mut(id)?;
        if q.closes_at.is_some_and(|t| t <= now) {
            return Err(Error::not_open(
                "this question's time is up, it takes no votes",
            ));
        }
        Ok(q)
    }

    fn open_question_mut(&mut self, id: Uuid) -> Result<&mut Question> {
        let q = self.question_mut(id)?;
        if q.state != QuestionState::Open {
            return Err(Error::not_open(format!(
                "this question is {}, it takes no votes",
                q.state.as_str()
            )));
        }
        Ok(q)
    }

    /// Casts or replaces a participant's ballot. `entry` gives an `open`
    /// answer its id, and the ballot its time: past a timed question's
    /// `closes_at` it is refused (a replayed ballot of another kind has
    /// time 0: it was accepted when cast).
    pub fn vote(
        &mut self,
        participant: u32,
        id: Uuid,
        raw: RawChoice,
        entry: (Uuid, i64),
    ) -> Result<VoteOutcome> {
        let grouping = self.segments > 0;
        let q = self.open_question_at(id, entry.1)?;
        let mut choice = q.spec.kind.check_choice(raw, entry)?;
        q.keep_hidden(participant, &mut choice);
        q.tally.add(&choice);
        q.version += 1;
        let new = grouping.then(|| choice.clone());
        let old = q.ballots.insert(participant, choice);
        if let Some(old) = &old {
            q.tally.remove(old);
        }
        if let Some(new) = new {
            self.regroup(id, participant, old.as_ref(), Some(&new));
        }
        Ok(match old {
            Some(_) => VoteOutcome::Changed,
            None => VoteOutcome::Cast,
        })
    }

    /// Whether question `id` takes ballots at `now`: open, and not past a
    /// timed question's `closes_at`.
    pub fn check_open_at(&mut self, id: Uuid, now: i64) -> Result<()> {
        self.open_question_at(id, now).map(|_| ())
    }

    /// Removes a participant's ballot at `now` (refused past a timed
    /// question's `closes_at`); true if there was one.
    pub fn retract_at(&mut self, participant: u32, id: Uuid, now: i64) -> Result<bool> {
        self.open_question_at(id, now)?;
        self.retract(participant, id)
    }

    /// Removes a participant's ballot; true if there was one.
    pub fn retract(&mut self, participant: u32, id: Uuid) -> Result<bool> {
        let q = self.open_question_mut(id)?;
        match q.ballots.remove(&participant) {
            Some(old) => {
                q.tally.remove(&old);
                q.version += 1;
                self.regroup(id, participant, Some(&old), None);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Hides an `open` answer from every view and the tally, and remembers
    /// its author and text, so the same text from the same author stays
    /// hidden. Returns the author and the text as remembered.
    pub fn hide_entry(&mut self, id: Uuid, entry: Uuid) -> Result<(u32, String)> {
        let q = self.question_mut(id)?;
        let found = q.ballots.iter_mut().find_map(|(p, c)| match c {
            Choice::Text(e) if e.id == entry => Some((*p, e)),
            _ => None,
        });
        let Some((author, e)) = found else {
            return Err(Error::not_found(format!(
                "no answer {entry} in this question"
            )));
        };
        let key = hidden_key(&e.text);
        if !e.hidden {
            let shown = Choice::Text(e.clone());
            e.hidden = true;
            q.tally.remove(&shown);
            q.version += 1;
        }
        q.hidden_texts.insert((author, key.clone()));
        Ok((author, key))
    }

    /// Remembers that `author`'s answer `text` is hidden, with no ballot at
    /// hand (cluster mode, where ballots live in Redis; snapshots).
    pub fn hide_text(&mut self, id: Uuid, author: u32, text: &str) -> Result<()> {
        let q = self.question_mut(id)?;
        q.hidden_texts.insert((author, hidden_key(text)));
        Ok(())
    }

    /// Replaces a question's tally with one counted elsewhere (cluster mode,
    /// where ballots live in Redis); true if it changed.
    pub fn set_tally(&mut self, id: Uuid, tally: Tally) -> bool {
        match self.question_mut(id) {
            Ok(q) if q.tally != tally => {
                q.tally = tally;
                q.version += 1;
                true
            }
            _ => false,
        }
    }

    /// Puts back a ballot read from a store, whatever the question's state
    /// (cluster mode builds the exports this way).
    pub fn restore_ballot(&mut self, id: Uuid, participant: u32, choice: Choice) -> Result<()> {
        if participant as usize >= self.participants.len() {
            return Err(Error::not_found(format!("no participant {participant}")));
        }
        let grouping = self.segments > 0;
        let q = self.question_mut(id)?;
        q.tally.add(&choice);
        let new = grouping.then(|| choice.clone());
        let old = q.ballots.insert(participant, choice);
        if let Some(old) = &old {
            q.tally.remove(old);
        }
        q.version += 1;
        if let Some(new) = new {
            self.regroup(id, participant, old.as_ref(), Some(&new));
        }
        Ok(())
    }

    /// Every ballot of one participant, by question.
    pub fn ballots_of(&self, participant: u32) -> impl Iterator<Item = (&Question, &Choice)> {
        self.questions
            .iter()
            .filter_map(move |q| q.ballot(participant).map(|c| (q, c)))
    }
}

/// The form under which a hidden `open` answer is remembered: the text
/// normalised as wordcloud words are (trimmed, spaces collapsed, lower case).
pub fn hidden_key(text: &str) -> String {
    normalise_word(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Kind, OptionItem};
    use crate::error::ErrorCode;
    use std::collections::BTreeMap;

    fn session() -> Session {
        Session::new(
            Uuid::new_v4(),
            "123456".into(),
            "Capacity building".into(),
            "secret".into(),
            Settings::default(),
            0,
            &Limits::default(),
        )
        .unwrap()
    }

    fn spec() -> QuestionSpec {
        QuestionSpec {
            prompt: "What works best?".into(),
            kind: Kind::Single {
                options: ["Peer exchange", "Training", "Funding"]
                    .iter()
                    .map(|l| OptionItem {
                        label: l.to_string(),
                        colour: None,
                    })
                    .collect(),
                correct: None,
            },
            translations: BTreeMap::new(),
            segment: false,
        }
    }

    /// A session with one open question and one participant.
    fn open_with_one_participant() -> (Session, Uuid, u32) {
        let mut s = session();
        let q = s
            .add_question(Uuid::new_v4(), spec(), &Limits::default())
            .unwrap()
            .id;
        let p = s
            .join(Uuid::new_v4(), "t".into(), 0, &Limits::default())
            .unwrap();
        s.open(q, 0, None).unwrap();
        (s, q, p)
    }

    fn counts(s: &Session, q: Uuid) -> Vec<u64> {
        match &s.question(q).unwrap().tally().body {
            crate::domain::TallyBody::Counts(c) => c.clone(),
            other => panic!("{other:?}"),
        }
    }

    const E: (Uuid, i64) = (Uuid::nil(), 0);

    #[test]
    fn a_draft_takes_no_votes() {
        let mut s = session();
        let q = s
            .add_question(Uuid::new_v4(), spec(), &Limits::default())
            .unwrap()
            .id;
        let p = s
            .join(Uuid::new_v4(), "t".into(), 0, &Limits::default())
            .unwrap();
        let err = s.vote(p, q, RawChoice::Int(0), E).unwrap_err();
        assert_eq!(err.code, ErrorCode::NotOpen);
    }

    #[test]
    fn a_new_vote_replaces_the_old_ballot() {
        let (mut s, q, p) = open_with_one_participant();
        assert_eq!(
            s.vote(p, q, RawChoice::Int(0), E).unwrap(),
            VoteOutcome::Cast
        );
        assert_eq!(
            s.vote(p, q, RawChoice::Int(2), E).unwrap(),
            VoteOutcome::Changed
        );
        assert_eq!(counts(&s, q), vec![0, 0, 1]);
        assert_eq!(s.question(q).unwrap().tally().voters, 1);
        assert!(s.retract(p, q).unwrap());
        assert_eq!(counts(&s, q), vec![0, 0, 0]);
        assert!(!s.retract(p, q).unwrap());
    }

    #[test]
    fn an_invalid_vote_leaves_the_ballot_as_it_was() {
        let (mut s, q, p) = open_with_one_participant();
        s.vote(p, q, RawChoice::Int(1), E).unwrap();
        assert!(s.vote(p, q, RawChoice::Int(7), E).is_err());
        assert_eq!(counts(&s, q), vec![0, 1, 0]);
    }

    #[test]
    fn a_closed_question_freezes_and_a_reopened_one_keeps_its_ballots() {
        let (mut s, q, p) = open_with_one_participant();
        s.vote(p, q, RawChoice::Int(1), E).unwrap();
        s.close(q).unwrap();
        assert_eq!(
            s.vote(p, q, RawChoice::Int(0), E).unwrap_err().code,
            ErrorCode::NotOpen
        );
        assert_eq!(s.retract(p, q).unwrap_err().code, ErrorCode::NotOpen);
        s.open(q, 0, None).unwrap();
        assert_eq!(counts(&s, q), vec![0, 1, 0]);
    }

    #[test]
    fn a_timer_closes_the_question_only_once_due() {
        let mut s = session();
        let q = s
            .add_question(Uuid::new_v4(), spec(), &Limits::default())
            .unwrap()
            .id;
        s.open(q, 1_000, Some(30_000)).unwrap();
        assert_eq!(s.question(q).unwrap().closes_at, Some(31_000));
        assert!(!s.close_if_due(q, 30_999));
        assert!(s.close_if_due(q, 31_000));
        assert_eq!(s.question(q).unwrap().state, QuestionState::Closed);
    }

    #[test]
    fn reset_deletes_every_ballot() {
        let mut s = session();
        let q = s
            .add_question(Uuid::new_v4(), spec(), &Limits::default())
            .unwrap()
            .id;
        s.open(q, 0, None).unwrap();
        for i in 0..3 {
            let p = s
                .join(Uuid::new_v4(), format!("t{i}"), 0, &Limits::default())
                .unwrap();
            s.vote(p, q, RawChoice::Int(i), E).unwrap();
        }
        assert_eq!(s.reset(q).unwrap().len(), 3);
        assert_eq!(counts(&s, q), vec![0, 0, 0]);
        assert_eq!(s.question(q).unwrap().ballot_count(), 0);
    }

    #[test]
    fn a_presented_draft_is_not_shown_to_the_public() {
        let mut s = session();
        let q = s
            .add_question(Uuid::new_v4(), spec(), &Limits::default())
            .unwrap()
            .id;
        s.present(Some(q)).unwrap();
        assert_eq!(s.public_current(), None);
        s.open(q, 0, None).unwrap();
        assert_eq!(s.public_current(), Some(q));
        s.delete_question(q).unwrap();
        assert_eq!(s.current, None);
    }

    #[test]
    fn an_opened_question_cannot_be_edited() {
        let mut s = session();
        let q = s
            .add_question(Uuid::new_v4(), spec(), &Limits::default())
            .unwrap()
            .id;
        s.update_question(q, spec(), &Limits::default()).unwrap();
        s.open(q, 0, None).unwrap();
        assert!(s.update_question(q, spec(), &Limits::default()).is_err());
    }

    #[test]
    fn the_hundred_and_first_question_is_refused() {
        let mut s = session();
        for _ in 0..100 {
            s.add_question(Uuid::new_v4(), spec(), &Limits::default())
                .unwrap();
        }
        let err = s
            .add_question(Uuid::new_v4(), spec(), &Limits::default())
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::LimitReached);
    }

    #[test]
    fn a_hidden_open_answer_leaves_the_tally() {
        let mut s = session();
        let spec = QuestionSpec {
            prompt: "One word for the day?".into(),
            kind: Kind::Open,
            translations: BTreeMap::new(),
            segment: false,
        };
        let q = s
            .add_question(Uuid::new_v4(), spec, &Limits::default())
            .unwrap()
            .id;
        s.open(q, 0, None).unwrap();
        let p = s
            .join(Uuid::new_v4(), "t".into(), 0, &Limits::default())
            .unwrap();
        let entry = Uuid::new_v4();
        s.vote(p, q, RawChoice::Text("spam".into()), (entry, 7))
            .unwrap();
        assert_eq!(s.question(q).unwrap().tally().voters, 1);
        s.hide_entry(q, entry).unwrap();
        let t = s.question(q).unwrap().tally();
        assert_eq!(t.voters, 0);
        assert!(t.newest_entries(50).is_empty());
        // Replacing a hidden answer does not take it out of the tally twice.
        s.vote(
            p,
            q,
            RawChoice::Text("a real answer".into()),
            (Uuid::new_v4(), 8),
        )
        .unwrap();
        assert_eq!(s.question(q).unwrap().tally().voters, 1);
    }

    #[test]
    fn a_hidden_open_answer_stays_hidden_when_its_author_sends_it_again() {
        let mut s = session();
        let spec = QuestionSpec {
            prompt: "One word for the day?".into(),
            kind: Kind::Open,
            translations: BTreeMap::new(),
            segment: false,
        };
        let l = Limits::default();
        let q = s.add_question(Uuid::new_v4(), spec, &l).unwrap().id;
        s.open(q, 0, None).unwrap();
        let p = s.join(Uuid::new_v4(), "t".into(), 0, &l).unwrap();
        let other = s.join(Uuid::new_v4(), "u".into(), 0, &l).unwrap();
        let entry = Uuid::new_v4();
        s.vote(p, q, RawChoice::Text("Spam  spam".into()), (entry, 7))
            .unwrap();
        assert_eq!(s.hide_entry(q, entry).unwrap(), (p, "spam spam".into()));
        for text in ["Spam  spam", " SPAM spam "] {
            s.vote(p, q, RawChoice::Text(text.into()), (Uuid::new_v4(), 8))
                .unwrap();
            let t = s.question(q).unwrap().tally();
            assert_eq!(t.voters, 0, "{text:?} came back");
            assert!(t.newest_entries(50).is_empty());
        }
        // Another text from the same phone, or the same text from another, shows.
        s.vote(
            other,
            q,
            RawChoice::Text("spam spam".into()),
            (Uuid::new_v4(), 9),
        )
        .unwrap();
        s.vote(
            p,
            q,
            RawChoice::Text("a real answer".into()),
            (Uuid::new_v4(), 9),
        )
        .unwrap();
        assert_eq!(s.question(q).unwrap().tally().voters, 2);
    }
}
