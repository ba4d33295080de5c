//! Views: the session, its questions, tallies and Q&A items as a role sees
//! them, in the shapes HTTP answers and socket messages carry. Each is built
//! from the domain under the session's lock and owns its data, so it can be
//! sent after the lock is let go.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::domain::qa::{Board, QaItem, QaStatus};
use crate::domain::{Question, Session, Tally, TallyBody};

use super::spec::SpecOut;

/// Top words a wordcloud tally carries.
pub const TALLY_WORDS: usize = 100;
/// Newest entries an open tally carries.
pub const TALLY_ENTRIES: usize = 50;
/// The Q&A items a welcome carries at most; the rest is paged over HTTP.
pub const WELCOME_QA_ITEMS: usize = 100;

/// A QuestionView: the spec plus id, state, results_visible and closes_at.
#[derive(Clone, Debug, Serialize)]
pub struct QuestionView {
    #[serde(flatten)]
    pub spec: SpecOut,
    pub id: Uuid,
    pub state: &'static str,
    pub results_visible: bool,
    /// Null while no timer runs.
    pub closes_at: Option<i64>,
    /// The segment question the projector and phones see it broken down
    /// by; only on questions that can be broken down.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by: Option<Option<Uuid>>,
}

impl QuestionView {
    /// The quiz answer is in for the moderator, and for everyone once the
    /// question is closed and its results visible.
    pub fn new(q: &Question, moderator: bool) -> QuestionView {
        QuestionView {
            spec: SpecOut::new(&q.spec, moderator || q.correct_public()),
            id: q.id,
            state: q.state.as_str(),
            results_visible: q.results_visible,
            closes_at: q.closes_at,
            by: q.groupable().then_some(q.by),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WordCount {
    pub text: String,
    pub count: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EntryView {
    pub id: Uuid,
    pub text: String,
    pub at: i64,
}

/// A tally's fields, without `type`: as sent in `tally` messages and kept in
/// `results` and the session view. Only the fields of the question's kind
/// are present.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TallyView {
    pub question_id: Uuid,
    pub seq: u64,
    pub voters: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counts: Option<Vec<u64>>,
    /// A scale's mean: null while nobody answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean: Option<Option<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub words: Option<Vec<WordCount>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entries: Option<Vec<EntryView>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scores: Option<Vec<u64>>,
    /// By the groups of the segment the question is shown broken down by.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<GroupView>>,
    /// By the groups of every segment question (the moderator's tallies,
    /// results and exports).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub groups_by: Option<GroupsBy>,
}

/// One group of a breakdown: the kind's fields for the participants who
/// chose `option` of the segment question, or only `suppressed` when the
/// group is under the session's anonymity floor.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GroupView {
    pub option: usize,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub suppressed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub voters: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counts: Option<Vec<u64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean: Option<Option<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scores: Option<Vec<u64>>,
}

impl GroupView {
    /// The groups of one breakdown, the floor applied.
    pub fn list(groups: &[Tally], min_group: u32) -> Vec<GroupView> {
        let shown = crate::domain::floor(groups, min_group);
        groups
            .iter()
            .zip(shown)
            .enumerate()
            .map(|(option, (t, shown))| {
                if !shown {
                    return GroupView {
                        option,
                        suppressed: true,
                        voters: None,
                        counts: None,
                        mean: None,
                        scores: None,
                    };
                }
                let v = TallyView::new(Uuid::nil(), 0, t);
                GroupView {
                    option,
                    suppressed: false,
                    voters: Some(v.voters),
                    counts: v.counts,
                    mean: v.mean,
                    scores: v.scores,
                }
            })
            .collect()
    }
}

/// A question's breakdowns by every segment, by segment question id.
pub type GroupsBy = BTreeMap<Uuid, Vec<GroupView>>;

/// The breakdowns of question `q`: by its `by` segment (`groups`), and by
/// every segment (`groups_by`, only with `every`). None where it has none.
pub fn breakdowns(
    s: &Session,
    q: &Question,
    every: bool,
) -> (Option<Vec<GroupView>>, Option<GroupsBy>) {
    if !q.groupable() {
        return (None, None);
    }
    let min = s.settings.min_group;
    let list = |seg: &Question| GroupView::list(&q.groups_by(seg), min);
    let groups = q.by.and_then(|by| s.question(by).ok()).map(&list);
    let by = every.then(|| {
        s.segments()
            .filter(|seg| seg.id != q.id)
            .map(|seg| (seg.id, list(seg)))
            .collect::<BTreeMap<_, _>>()
    });
    (groups, by.filter(|m| !m.is_empty()))
}

/// The name the tally view had when it borrowed from the domain.
pub type TallyOut = TallyView;

impl TallyView {
    /// Question `q`'s tally with its breakdowns: by its `by` segment for
    /// every role, by every segment as well for the moderator (`every`).
    pub fn of(s: &Session, q: &Question, seq: u64, every: bool) -> TallyView {
        let mut out = TallyView::new(q.id, seq, q.tally());
        (out.groups, out.groups_by) = breakdowns(s, q, every);
        out
    }

    pub fn new(question_id: Uuid, seq: u64, t: &Tally) -> TallyView {
        let mut out = TallyView {
            question_id,
            seq,
            voters: t.voters,
            counts: None,
            mean: None,
            words: None,
            entries: None,
            scores: None,
            groups: None,
            groups_by: None,
        };
        match &t.body {
            TallyBody::Counts(c) => out.counts = Some(c.clone()),
            TallyBody::Scale { counts, .. } => {
                out.counts = Some(counts.clone());
                out.mean = Some(t.mean());
            }
            TallyBody::Words(_) => {
                out.words = Some(
                    t.top_words(TALLY_WORDS)
                        .into_iter()
                        .map(|(text, count)| WordCount {
                            text: text.to_owned(),
                            count,
                        })
                        .collect(),
                )
            }
            TallyBody::Open(_) => {
                out.entries = Some(
                    t.newest_entries(TALLY_ENTRIES)
                        .into_iter()
                        .map(|(id, text, at)| EntryView {
                            id,
                            text: text.to_owned(),
                            at,
                        })
                        .collect(),
                )
            }
            TallyBody::Scores(s) => out.scores = Some(s.clone()),
        }
        out
    }
}

/// A Q&A item as `qa_item` messages, welcomes and pages carry it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QaItemView {
    pub id: Uuid,
    pub text: String,
    /// Null when the asker gave none; empty when the item is hidden.
    pub name: Option<String>,
    pub upvotes: usize,
    pub status: &'static str,
    pub at: i64,
    /// The viewer asked it.
    pub mine: bool,
    /// Interpreters' translations by language tag (absent when none).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub translations: BTreeMap<String, String>,
}

impl QaItemView {
    /// A hidden item goes with its text and name empty, to every role.
    pub fn new(item: &QaItem, mine: bool) -> QaItemView {
        let hidden = item.status == QaStatus::Hidden;
        QaItemView {
            id: item.id,
            text: if hidden {
                String::new()
            } else {
                item.text.clone()
            },
            name: if hidden {
                Some(String::new())
            } else {
                item.name.clone()
            },
            upvotes: item.upvoters.len(),
            status: item.status.as_str(),
            at: item.at,
            mine,
            translations: if hidden {
                BTreeMap::new()
            } else {
                item.translations.clone()
            },
        }
    }
}

/// One page of the Q&A board (`GET .../qa`).
#[derive(Clone, Debug, Serialize)]
pub struct QaPage {
    pub items: Vec<QaItemView>,
    pub total: usize,
}

impl QaPage {
    /// The page as a viewer sees it: the moderator every item, a
    /// participant the public ones and their own pending ones.
    pub fn new(
        board: &Board,
        moderator: bool,
        participant: Option<u32>,
        offset: usize,
        limit: usize,
    ) -> QaPage {
        let (items, total) = board.page(moderator, participant, offset, limit);
        let items = items
            .into_iter()
            .map(|i| QaItemView::new(i, participant == Some(i.author)))
            .collect();
        QaPage { items, total }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct SettingsView {
    pub qa_moderation: bool,
    pub show_digest: bool,
    pub min_group: u32,
    pub public_summary: bool,
}

impl From<&crate::domain::Settings> for SettingsView {
    fn from(s: &crate::domain::Settings) -> SettingsView {
        SettingsView {
            qa_moderation: s.qa_moderation,
            show_digest: s.show_digest,
            min_group: s.min_group,
            public_summary: s.public_summary,
        }
    }
}

/// The session as a role sees it (the body of `GET /api/sessions/{code}` and
/// of `welcome.session`): drafts and quiz answers only for the moderator.
#[derive(Clone, Debug, Serialize)]
pub struct SessionView {
    pub id: Uuid,
    pub code: String,
    pub title: String,
    /// The question on screen for this role.
    pub current: Option<Uuid>,
    pub qa_on_screen: bool,
    pub join_url: String,
    pub settings: SettingsView,
    pub questions: Vec<QuestionView>,
    /// The current tally of each question whose tally the role may see.
    pub tallies: BTreeMap<Uuid, TallyView>,
    /// The top of the Q&A board (welcomes only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qa: Option<Vec<QaItemView>>,
    /// How many items the board shows this viewer (welcomes only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qa_total: Option<usize>,
    /// The session's digest (the journal chain's last link, hex) as it is
    /// now: only with the setting `show_digest`, for the projector.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

impl SessionView {
    pub fn new(
        s: &Session,
        moderator: bool,
        join_url: &str,
        tallies: BTreeMap<Uuid, TallyView>,
    ) -> SessionView {
        SessionView {
            id: s.id,
            code: s.code.clone(),
            title: s.title.clone(),
            current: if moderator {
                s.current
            } else {
                s.public_current()
            },
            qa_on_screen: s.qa_on_screen,
            join_url: join_url.to_owned(),
            settings: (&s.settings).into(),
            questions: s
                .questions()
                .iter()
                .filter(|q| moderator || q.is_public())
                .map(|q| QuestionView::new(q, moderator))
                .collect(),
            tallies,
            qa: None,
            qa_total: None,
            digest: None,
        }
    }

    /// With the session's digest, where its settings show it.
    pub fn with_digest(mut self, digest: Option<String>) -> SessionView {
        self.digest = digest;
        self
    }

    /// With the top of the Q&A board, as a welcome carries it.
    pub fn with_qa(mut self, page: QaPage) -> SessionView {
        self.qa = Some(page.items);
        self.qa_total = Some(page.total);
        self
    }
}

/// The body of the `welcome` message.
#[derive(Clone, Debug, Serialize)]
pub struct Welcome {
    pub role: super::Role,
    pub session: SessionView,
    pub server_time: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub participant_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub participant_token: Option<String>,
    /// The participant's ballots by question id, each choice as the phone
    /// sent it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ballots: Option<Map<String, Value>>,
    /// A staff connection's scope: `moderator`, or its link's role.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<&'static str>,
    /// An interpreter's language.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
}

/// `GET .../results`: every question with its exact tally, for the moderator.
#[derive(Clone, Debug, Serialize)]
pub struct Results {
    pub session: ResultsSession,
    pub questions: Vec<QuestionResult>,
    pub qa: Vec<QaItemView>,
    pub generated_at: i64,
}

#[derive(Clone, Debug, Serialize)]
pub struct ResultsSession {
    pub id: Uuid,
    pub code: String,
    pub title: String,
    pub created_at: i64,
    /// The journal chain's last link (hex).
    pub digest: String,
    pub participants: usize,
    pub settings: SettingsView,
}

/// The public summary of a session: its closed, revealed questions with
/// their final tallies (broken down where the moderator chose, floors
/// applied) and the answered questions from the floor.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    pub code: String,
    pub title: String,
    pub questions: Vec<QuestionResult>,
    /// The segment questions the breakdowns above are by, for their
    /// groups' names (their own results only where listed above).
    pub segments: Vec<QuestionView>,
    pub qa: Vec<QaItemView>,
}

impl Summary {
    pub fn new(s: &Session, seq: impl Fn(Uuid) -> u64) -> Summary {
        let shown: Vec<&Question> = s
            .questions()
            .iter()
            .filter(|q| q.state == crate::domain::QuestionState::Closed && q.results_visible)
            .collect();
        let by: Vec<Uuid> = shown.iter().filter_map(|q| q.by).collect();
        Summary {
            code: s.code.clone(),
            title: s.title.clone(),
            questions: shown
                .iter()
                .map(|q| QuestionResult {
                    question: QuestionView::new(q, false),
                    tally: TallyView::of(s, q, seq(q.id), false),
                })
                .collect(),
            segments: s
                .segments()
                .filter(|seg| by.contains(&seg.id))
                .map(|seg| QuestionView::new(seg, false))
                .collect(),
            qa: s
                .qa
                .by_upvotes()
                .into_iter()
                .filter(|i| i.status == QaStatus::Answered)
                .map(|i| QaItemView::new(i, false))
                .collect(),
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct QuestionResult {
    #[serde(flatten)]
    pub question: QuestionView,
    pub tally: TallyView,
}
