//! Results by group: a `single` question marked `segment` ("Which
//! stakeholder group are you?") splits the room into groups, one per option,
//! and every choice, scale or ranking question keeps a tally per group of
//! each segment, in step with every ballot and every change of a segment
//! answer.
//!
//! The anonymity floor is applied where groups are shown (`floor`): the
//! tallies here hold every group, so that a change of `min_group` takes
//! effect at once.

use uuid::Uuid;

use super::{Choice, Kind, Question, Session, Tally};
use crate::error::{Error, Result};

impl Question {
    /// Its ballots can be broken down by group: `single`, `multiple`,
    /// `scale` and `ranking` questions.
    pub fn groupable(&self) -> bool {
        matches!(
            self.spec.kind,
            Kind::Single { .. } | Kind::Multiple { .. } | Kind::Scale { .. } | Kind::Ranking { .. }
        )
    }

    /// The tallies of this question's ballots by the groups of `segment`,
    /// one per option of the segment, in its order.
    pub fn groups_by(&self, segment: &Question) -> Vec<Tally> {
        let n = segment.spec.kind.options().map_or(0, <[_]>::len);
        let mut out = self.groups.get(&segment.id).cloned().unwrap_or_default();
        out.resize_with(n, || Tally::empty(&self.spec.kind));
        out.truncate(n);
        out
    }

    /// Replaces the tallies by the groups of segment `seg` with ones counted
    /// elsewhere (cluster mode); true if they changed.
    pub(super) fn set_groups(&mut self, seg: Uuid, groups: Vec<Tally>) -> bool {
        let same = match self.groups.get(&seg) {
            Some(old) => *old == groups,
            None => groups.iter().all(|t| t.voters == 0),
        };
        if !same {
            self.groups.insert(seg, groups);
        }
        !same
    }

    fn group_mut(&mut self, seg: Uuid, group: usize) -> &mut Tally {
        let kind = &self.spec.kind;
        let groups = self.groups.entry(seg).or_default();
        if groups.len() <= group {
            groups.resize_with(group + 1, || Tally::empty(kind));
        }
        &mut groups[group]
    }
}

/// The group a segment ballot puts its participant in.
pub fn group_of(choice: Option<&Choice>) -> Option<usize> {
    match choice? {
        Choice::Index(i) => Some(*i as usize),
        _ => None,
    }
}

/// The tallies of a question of kind `kind` by the `n` groups of a
/// segment, counted from scratch from its ballots: `group` gives a
/// participant's group, if they are in one (cluster mode, where the ballots
/// live in Redis and are read back).
pub fn count_groups<'a>(
    kind: &Kind,
    n: usize,
    ballots: impl IntoIterator<Item = (u32, &'a Choice)>,
    group: impl Fn(u32) -> Option<usize>,
) -> Vec<Tally> {
    let mut out = vec![Tally::empty(kind); n];
    for (p, c) in ballots {
        if let Some(t) = group(p).and_then(|g| out.get_mut(g)) {
            t.add(c);
        }
    }
    out
}

impl Session {
    /// The segment questions, in the running order.
    pub fn segments(&self) -> impl Iterator<Item = &Question> {
        self.questions().iter().filter(|q| q.spec.segment)
    }

    /// After participant `p`'s ballot on question `id` went from `old` to
    /// `new`, the groups follow: the ballot moves within the question's
    /// groups, and a changed segment answer moves every other ballot of the
    /// participant to the new group at once.
    pub(super) fn regroup(&mut self, id: Uuid, p: u32, old: Option<&Choice>, new: Option<&Choice>) {
        if self.segments == 0 {
            return;
        }
        let Some(qi) = self.questions.iter().position(|q| q.id == id) else {
            return;
        };
        if self.questions[qi].groupable() {
            let member_of: Vec<(Uuid, usize)> = self
                .segments()
                .filter(|s| s.id != id)
                .filter_map(|s| Some((s.id, group_of(s.ballot(p))?)))
                .collect();
            let q = &mut self.questions[qi];
            for (seg, g) in member_of {
                let t = q.group_mut(seg, g);
                if let Some(old) = old {
                    t.remove(old);
                }
                if let Some(new) = new {
                    t.add(new);
                }
            }
        }
        if self.questions[qi].spec.segment {
            let (from, to) = (group_of(old), group_of(new));
            if from == to {
                return;
            }
            for q in self.questions.iter_mut() {
                if q.id == id || !q.groupable() {
                    continue;
                }
                let Some(ballot) = q.ballot(p).cloned() else {
                    continue;
                };
                if let Some(g) = from {
                    q.group_mut(id, g).remove(&ballot);
                }
                if let Some(g) = to {
                    q.group_mut(id, g).add(&ballot);
                }
                q.version += 1;
            }
        }
    }

    /// Every ballot of segment `seg` is gone: no one is in its groups.
    pub(super) fn segment_cleared(&mut self, seg: Uuid) {
        for q in self.questions.iter_mut() {
            if q.groups.remove(&seg).is_some() {
                q.version += 1;
            }
        }
    }

    /// Segment `seg` is deleted: its groups go, and so does every breakdown
    /// by it.
    pub(super) fn segment_gone(&mut self, seg: Uuid) {
        self.segment_cleared(seg);
        for q in self.questions.iter_mut() {
            if q.by == Some(seg) {
                q.by = None;
            }
        }
    }

    /// A draft was redefined (it holds no ballots): a question that stopped
    /// being a segment is no longer one to break down by.
    pub(super) fn segment_redefined(&mut self, id: Uuid, was_segment: bool) {
        let Ok(now) = self.question(id).map(|q| q.spec.segment) else {
            return;
        };
        match (was_segment, now) {
            (false, true) => self.segments += 1,
            (true, false) => {
                self.segments -= 1;
                self.segment_gone(id);
            }
            _ => {}
        }
        if let Ok(q) = self.question_mut(id) {
            if q.by.is_some() && !q.groupable() {
                q.by = None;
            }
        }
    }

    /// Sets which segment question `id` is broken down by where the
    /// projector and the phones see it (None: none).
    pub fn set_breakdown(&mut self, id: Uuid, by: Option<Uuid>) -> Result<&Question> {
        if let Some(seg) = by {
            let s = self.question(seg)?;
            if !s.spec.segment {
                return Err(Error::bad_request(
                    "by: a question can only be broken down by a segment question",
                ));
            }
            if seg == id {
                return Err(Error::bad_request(
                    "by: a segment cannot be broken down by itself",
                ));
            }
        }
        let q = self.question_mut(id)?;
        if by.is_some() && !q.groupable() {
            return Err(Error::bad_request(
                "only single, multiple, scale and ranking questions can be broken down",
            ));
        }
        q.by = by;
        Ok(q)
    }

    /// Replaces question `id`'s tallies by the groups of `seg` with ones
    /// counted elsewhere (cluster mode); true if they changed.
    pub fn set_groups(&mut self, id: Uuid, seg: Uuid, groups: Vec<Tally>) -> bool {
        let Ok(q) = self.question_mut(id) else {
            return false;
        };
        let moved = q.set_groups(seg, groups);
        if moved {
            q.version += 1;
        }
        moved
    }
}

/// Which groups may be shown under the anonymity floor `min_group`: a group
/// of fewer voters is suppressed. So that the totals minus the groups shown
/// never give away a suppressed group, whenever the suppressed groups
/// together hold from 1 to `min_group - 1` voters, the smallest group shown
/// is suppressed too (again, until they hold at least `min_group`, or none
/// is shown). Empty groups are suppressed like any small one.
pub fn floor(groups: &[Tally], min_group: u32) -> Vec<bool> {
    let min = u64::from(min_group.max(1));
    let mut shown: Vec<bool> = groups.iter().map(|t| t.voters >= min).collect();
    loop {
        let hidden: u64 = groups
            .iter()
            .zip(&shown)
            .filter(|(_, s)| !**s)
            .map(|(t, _)| t.voters)
            .sum();
        if hidden == 0 || hidden >= min {
            return shown;
        }
        let smallest = (0..groups.len())
            .filter(|&i| shown[i])
            .min_by_key(|&i| (groups[i].voters, i));
        match smallest {
            Some(i) => shown[i] = false,
            None => return shown,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Limits, OptionItem, QuestionSpec, RawChoice, Settings};

    fn opts(n: usize) -> Vec<OptionItem> {
        (0..n)
            .map(|i| OptionItem {
                label: format!("Option {i}"),
                colour: None,
            })
            .collect()
    }

    fn spec(kind: Kind, segment: bool) -> QuestionSpec {
        QuestionSpec {
            prompt: "Which?".into(),
            kind,
            translations: Default::default(),
            segment,
        }
    }

    fn single(n: usize, segment: bool) -> QuestionSpec {
        spec(
            Kind::Single {
                options: opts(n),
                correct: None,
            },
            segment,
        )
    }

    /// A small deterministic generator: the same seed, the same run.
    struct Rng(u64);
    impl Rng {
        fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n
        }
    }

    fn session() -> Session {
        let limits = Limits::default();
        let mut s = Session::new(
            Uuid::from_u128(1),
            "123456".into(),
            "Forum".into(),
            "t".into(),
            Settings::default(),
            0,
            &limits,
        )
        .unwrap();
        let specs = [
            single(3, true),
            single(2, true),
            single(4, false),
            spec(
                Kind::Multiple {
                    options: opts(4),
                    max_choices: 4,
                    correct: None,
                },
                false,
            ),
            spec(
                Kind::Scale {
                    min: 1,
                    max: 5,
                    min_label: None,
                    max_label: None,
                },
                false,
            ),
            spec(Kind::Ranking { options: opts(3) }, false),
        ];
        for (i, sp) in specs.into_iter().enumerate() {
            let id = Uuid::from_u128(100 + i as u128);
            s.add_question(id, sp, &limits).unwrap();
            s.open(id, 0, None).unwrap();
        }
        for p in 0..40u32 {
            s.join(
                Uuid::from_u128(1000 + p as u128),
                format!("p{p}"),
                0,
                &limits,
            )
            .unwrap();
        }
        s
    }

    fn random_choice(kind: &Kind, rng: &mut Rng) -> RawChoice {
        match kind {
            Kind::Single { options, .. } => RawChoice::Int(rng.below(options.len() as u64) as i64),
            Kind::Multiple { options, .. } => {
                let mut picked: Vec<i64> = (0..options.len() as i64)
                    .filter(|_| rng.below(2) == 0)
                    .collect();
                if picked.is_empty() {
                    picked.push(0);
                }
                RawChoice::Ints(picked)
            }
            Kind::Scale { min, max, .. } => {
                RawChoice::Int(*min as i64 + rng.below((max - min + 1) as u64) as i64)
            }
            Kind::Ranking { options } => {
                let mut order: Vec<i64> = (0..options.len() as i64).collect();
                for i in (1..order.len()).rev() {
                    order.swap(i, rng.below(i as u64 + 1) as usize);
                }
                RawChoice::Ints(order)
            }
            _ => unreachable!("the test session has no other kinds"),
        }
    }

    /// The groups counted from scratch from the ballots.
    fn recount(s: &Session, q: &Question, seg: &Question) -> Vec<Tally> {
        let n = seg.spec.kind.options().unwrap().len();
        let _ = s;
        count_groups(&q.spec.kind, n, q.ballots(), |p| group_of(seg.ballot(p)))
    }

    fn check(s: &Session) {
        for q in s.questions().iter().filter(|q| q.groupable()) {
            for seg in s.segments().filter(|seg| seg.id != q.id) {
                let groups = q.groups_by(seg);
                assert_eq!(
                    groups,
                    recount(s, q, seg),
                    "groups of {} by {}",
                    q.id,
                    seg.id
                );
                // Every voter is in one group or in none.
                let grouped: u64 = groups.iter().map(|t| t.voters).sum();
                let ungrouped = q
                    .ballots()
                    .filter(|(p, _)| group_of(seg.ballot(*p)).is_none())
                    .count() as u64;
                assert_eq!(grouped + ungrouped, q.tally().voters);
                // Shown and suppressed groups together hold every grouped voter.
                let shown = floor(&groups, s.settings.min_group);
                let (a, b): (Vec<_>, Vec<_>) =
                    groups.iter().zip(&shown).partition(|(_, shown)| **shown);
                let sum = |v: &[(&Tally, &bool)]| v.iter().map(|(t, _)| t.voters).sum::<u64>();
                assert_eq!(sum(&a) + sum(&b), grouped);
            }
        }
    }

    #[test]
    fn groups_follow_random_votes_segment_changes_retractions_and_resets() {
        for seed in 1..=30u64 {
            let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            let mut s = session();
            let ids: Vec<Uuid> = s.questions().iter().map(|q| q.id).collect();
            for _ in 0..400 {
                let q = ids[rng.below(ids.len() as u64) as usize];
                let p = rng.below(40) as u32;
                match rng.below(20) {
                    0..=15 => {
                        let kind = s.question(q).unwrap().spec.kind.clone();
                        let c = random_choice(&kind, &mut rng);
                        s.vote(p, q, c, (Uuid::nil(), 0)).unwrap();
                    }
                    16..=18 => {
                        s.retract(p, q).unwrap();
                    }
                    _ => {
                        s.reset(q).unwrap();
                    }
                }
                check(&s);
            }
        }
    }

    #[test]
    fn a_new_segment_answer_moves_every_ballot_at_once() {
        let mut s = session();
        let (seg, q) = (Uuid::from_u128(100), Uuid::from_u128(102));
        s.vote(7, q, RawChoice::Int(3), (Uuid::nil(), 0)).unwrap();
        s.vote(7, seg, RawChoice::Int(0), (Uuid::nil(), 0)).unwrap();
        let counts = |s: &Session| -> Vec<u64> {
            let segq = s.question(seg).unwrap();
            s.question(q)
                .unwrap()
                .groups_by(segq)
                .iter()
                .map(|t| t.voters)
                .collect()
        };
        assert_eq!(counts(&s), [1, 0, 0]);
        let v = s.question(q).unwrap().version;
        s.vote(7, seg, RawChoice::Int(2), (Uuid::nil(), 0)).unwrap();
        assert_eq!(counts(&s), [0, 0, 1]);
        assert!(
            s.question(q).unwrap().version > v,
            "the tally is sent again"
        );
        s.retract(7, seg).unwrap();
        assert_eq!(counts(&s), [0, 0, 0]);
        assert_eq!(s.question(q).unwrap().tally().voters, 1);
    }

    #[test]
    fn only_a_segment_can_break_down_and_deleting_it_ends_the_breakdown() {
        let mut s = session();
        let (seg, other, q) = (
            Uuid::from_u128(100),
            Uuid::from_u128(102),
            Uuid::from_u128(103),
        );
        assert!(s.set_breakdown(q, Some(other)).is_err());
        assert!(s.set_breakdown(seg, Some(seg)).is_err());
        s.set_breakdown(q, Some(seg)).unwrap();
        assert_eq!(s.question(q).unwrap().by, Some(seg));
        s.delete_question(seg).unwrap();
        assert_eq!(s.question(q).unwrap().by, None);
        assert_eq!(s.segments().count(), 1);
    }

    fn tallies(voters: &[u64]) -> Vec<Tally> {
        voters
            .iter()
            .map(|&v| Tally {
                voters: v,
                body: crate::domain::TallyBody::Counts(vec![v]),
            })
            .collect()
    }

    #[test]
    fn the_floor_never_leaves_one_small_group_to_be_found_by_subtraction() {
        // None under the floor: all shown.
        assert_eq!(floor(&tallies(&[9, 5, 7]), 5), [true, true, true]);
        // One group of 3: the smallest shown (5) goes with it.
        assert_eq!(
            floor(&tallies(&[9, 3, 7, 5]), 5),
            [true, false, true, false]
        );
        // Two small groups of 2 and 1 hold 3 together: one more goes.
        assert_eq!(
            floor(&tallies(&[9, 2, 1, 6]), 5),
            [true, false, false, false]
        );
        // Two small groups holding 5 together are enough on their own.
        assert_eq!(
            floor(&tallies(&[9, 2, 3, 6]), 5),
            [true, false, false, true]
        );
        // Empty groups give nothing away.
        assert_eq!(floor(&tallies(&[9, 0, 6]), 5), [true, false, true]);
        // Everyone small: all hidden.
        assert_eq!(floor(&tallies(&[1, 2]), 5), [false, false]);
        // A floor of 1 turns it off.
        assert_eq!(floor(&tallies(&[1, 0, 3]), 1), [true, false, true]);
    }
}
