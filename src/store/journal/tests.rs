//! Tests of the journal: framing, the writer, replay, compaction, verify.

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use uuid::Uuid;

use super::segments::segment_path;
use super::*;
use crate::domain::qa::QaStatus;
use crate::domain::{Event, Kind, Limits, OptionItem, QuestionSpec, QuestionState, RawChoice};
use crate::store::records::{self, Record};

fn tmp() -> PathBuf {
    let d = std::env::temp_dir().join(format!("handsup-journal-{}", Uuid::new_v4()));
    fs::create_dir_all(&d).unwrap();
    d
}

fn write(dir: &Path, n: u64, events: &[Record]) -> Vec<Hash> {
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(segment_path(dir, n))
        .unwrap();
    let mut chains: BTreeMap<String, Hash> = BTreeMap::new();
    let mut out = Vec::new();
    for ev in events {
        let json = records::encode(ev);
        let c = chains
            .entry(ev.code().unwrap_or("").to_owned())
            .or_insert([0; 32]);
        *c = chain(c, &json);
        out.push(*c);
        f.write_all(&encode(c, &json)).unwrap();
    }
    out
}

fn story() -> Vec<Record> {
    let code = || "123456".to_owned();
    let q = Uuid::from_u128(7);
    let spec = QuestionSpec {
        prompt: "Best approach?".into(),
        kind: Kind::Single {
            options: ["Peer", "Training"]
                .iter()
                .map(|l| OptionItem {
                    label: l.to_string(),
                    colour: None,
                })
                .collect(),
            correct: None,
        },
        translations: Default::default(),
        segment: false,
    };
    vec![
        Event::Created {
            id: Uuid::from_u128(1),
            code: code(),
            title: "Panel".into(),
            token: "mod".into(),
            qa_moderation: false,
            at: 5,
        },
        Event::Added {
            code: code(),
            q,
            spec: spec.clone(),
        },
        Event::Opened {
            code: code(),
            q,
            at: 10,
            duration_ms: None,
        },
        Event::Joined {
            code: code(),
            p: Uuid::from_u128(100),
            token: "p0".into(),
            at: 11,
        },
        Event::Joined {
            code: code(),
            p: Uuid::from_u128(101),
            token: "p1".into(),
            at: 12,
        },
        Event::Vote {
            code: code(),
            p: 0,
            q,
            choice: RawChoice::Int(1),
            entry: None,
        },
        Event::Vote {
            code: code(),
            p: 1,
            q,
            choice: RawChoice::Int(0),
            entry: None,
        },
        Event::Vote {
            code: code(),
            p: 1,
            q,
            choice: RawChoice::Int(1),
            entry: None,
        },
        Event::Closed { code: code(), q },
    ]
    .into_iter()
    .map(Record::from)
    .collect()
}

fn counts(r: &Replay) -> Vec<u64> {
    let s = &r.sessions["123456"].session;
    match &s.questions()[0].tally().body {
        crate::domain::TallyBody::Counts(c) => c.clone(),
        _ => unreachable!(),
    }
}

#[test]
fn replay_rebuilds_the_state_and_its_chain() {
    let dir = tmp();
    let hashes = write(&dir, 1, &story());
    let r = replay(&dir, false, true).unwrap();
    assert_eq!(counts(&r), vec![0, 2]);
    assert!(
        r.problems.is_empty() && r.broken_links.is_empty(),
        "{:?}",
        r.problems
    );
    assert_eq!(r.sessions["123456"].chain, *hashes.last().unwrap());
    assert_eq!(
        r.sessions["123456"].session.participant_by_token("p1"),
        Some(1)
    );
}

#[test]
fn a_torn_tail_is_cut_off_and_the_rest_kept() {
    let dir = tmp();
    write(&dir, 1, &story());
    let path = segment_path(&dir, 1);
    let full = fs::metadata(&path).unwrap().len();
    // Tear the last record (the close) in half.
    OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(full - 10)
        .unwrap();
    let r = replay(&dir, true, true).unwrap();
    assert_eq!(counts(&r), vec![0, 2]);
    assert_eq!(
        r.sessions["123456"].session.questions()[0].state,
        QuestionState::Open
    );
    // A torn tail is no damage: a note, and the file is cut.
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    assert_eq!(r.notes.len(), 1);
    assert!(!path.with_file_name("damaged").exists());
    // The file now ends at the last sound record.
    let again = replay(&dir, true, true).unwrap();
    assert!(again.problems.is_empty() && again.notes.is_empty());
}

#[test]
fn a_flipped_byte_is_found() {
    let dir = tmp();
    write(&dir, 1, &story());
    let path = segment_path(&dir, 1);
    let mut bytes = fs::read(&path).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    fs::write(&path, bytes).unwrap();
    let r = replay(&dir, false, true).unwrap();
    assert!(!r.problems.is_empty());
}

#[test]
fn a_snapshot_replaces_the_session_and_rebuilds_it_exactly() {
    let dir = tmp();
    write(&dir, 1, &story());
    let r = replay(&dir, false, false).unwrap();
    let s = &r.sessions["123456"];
    let snap = Record::Snapshot {
        code: "123456".into(),
        prev: hex(&s.chain),
        events: s.session.snapshot_events(),
        active: Some(1_700_000_000_000),
    };
    let dir2 = tmp();
    write(&dir2, 1, &[snap]);
    let r2 = replay(&dir2, false, true).unwrap();
    assert!(r2.problems.is_empty(), "{:?}", r2.problems);
    assert_eq!(counts(&r2), vec![0, 2]);
    assert_eq!(r2.sessions["123456"].active, 1_700_000_000_000);
    let s2 = &r2.sessions["123456"].session;
    assert_eq!(s2.questions()[0].state, QuestionState::Closed);
    assert_eq!(s2.participants(), s.session.participants());
}

#[test]
fn hidden_texts_and_hidden_authors_survive_a_snapshot() {
    let code = || "123456".to_owned();
    let q = Uuid::from_u128(8);
    let spec = QuestionSpec {
        prompt: "One word?".into(),
        kind: Kind::Open,
        translations: Default::default(),
        segment: false,
    };
    let (e0, e1) = (Uuid::from_u128(50), Uuid::from_u128(51));
    let mut events = story();
    events.pop(); // the story's question stays open: it does not matter here
    events.extend(
        [
            Event::Added {
                code: code(),
                q,
                spec: spec.clone(),
            },
            Event::Opened {
                code: code(),
                q,
                at: 20,
                duration_ms: None,
            },
            Event::Vote {
                code: code(),
                p: 0,
                q,
                choice: RawChoice::Text("Spam".into()),
                entry: Some((e0, 21)),
            },
            Event::HideEntry {
                code: code(),
                q,
                entry: e0,
                p: None,
                text: None,
            },
            // Replaced by another answer: the hidden text is still remembered.
            Event::Vote {
                code: code(),
                p: 0,
                q,
                choice: RawChoice::Text("fine".into()),
                entry: Some((e1, 22)),
            },
            Event::Asked {
                code: code(),
                item: Uuid::from_u128(60),
                p: 1,
                text: "buy".into(),
                name: Some("x".into()),
                at: 23,
                pending: false,
            },
            Event::Asked {
                code: code(),
                item: Uuid::from_u128(61),
                p: 1,
                text: "buy more".into(),
                name: None,
                at: 24,
                pending: false,
            },
            Event::QaHideAuthor {
                code: code(),
                item: Uuid::from_u128(61),
            },
        ]
        .map(Record::from),
    );
    let dir = tmp();
    write(&dir, 1, &events);
    let r = replay(&dir, false, false).unwrap();
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    let snap = Record::Snapshot {
        code: code(),
        prev: hex(&r.sessions["123456"].chain),
        events: r.sessions["123456"].session.snapshot_events(),
        active: None,
    };
    let dir2 = tmp();
    write(&dir2, 1, &[snap]);
    let mut r2 = replay(&dir2, false, true).unwrap();
    assert!(r2.problems.is_empty(), "{:?}", r2.problems);
    let s2 = &mut r2.sessions.get_mut("123456").unwrap().session;
    assert!(s2.qa.items().iter().all(|i| i.status == QaStatus::Hidden));
    assert_eq!(s2.question(q).unwrap().tally().voters, 1);
    s2.vote(
        0,
        q,
        RawChoice::Text(" SPAM".into()),
        (Uuid::from_u128(52), 30),
    )
    .unwrap();
    assert_eq!(s2.question(q).unwrap().tally().voters, 0, "still hidden");
}

/// The session the story builds, as replay rebuilds it.
fn story_session() -> (crate::domain::Session, Hash) {
    let dir = tmp();
    write(&dir, 1, &story());
    let mut r = replay(&dir, false, true).unwrap();
    let s = r.sessions.remove("123456").unwrap();
    (s.session, s.chain)
}

fn vote(p: u32, c: i64) -> Event {
    Event::Vote {
        code: "123456".into(),
        p,
        q: Uuid::from_u128(7),
        choice: RawChoice::Int(c),
        entry: None,
    }
}

fn reopen() -> Event {
    Event::Opened {
        code: "123456".into(),
        q: Uuid::from_u128(7),
        at: 0,
        duration_ms: None,
    }
}

#[tokio::test]
async fn appends_are_durable_when_acked_and_read_back() {
    let dir = tmp();
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let j = Journal::start(&dir, 0, u64::MAX, tx).unwrap();
    let (mut session, _) = story_session();
    let mut at = Place::default();
    let mut waits = Vec::new();
    for ev in [reopen(), vote(0, 0), vote(1, 0)] {
        let turn = j.turn(&mut at, &session, 5).unwrap();
        session.apply(&ev, &Limits::default()).unwrap();
        waits.push(j.append(&turn, &mut at, &session, &ev));
    }
    for w in waits {
        w.wait().await.unwrap();
    }
    j.close();
    // The first turn wrote the session's snapshot: the journal alone holds it.
    let r = replay(&dir, false, true).unwrap();
    assert!(
        r.problems.is_empty() && r.broken_links.is_empty(),
        "{:?} {:?}",
        r.problems,
        r.broken_links
    );
    assert_eq!(counts(&r), vec![2, 0]);
    assert_eq!(r.sessions["123456"].chain, at.chain);
    // Votes name their participant by id.
    let segment = String::from_utf8_lossy(&fs::read(segment_path(&dir, 1)).unwrap()).into_owned();
    let id = session.participant(1).id.to_string();
    assert!(segment.contains(&format!(r#""p":"{id}""#)));
}

/// A record lost before a vote (here the first participant's `joined`)
/// cannot move the vote onto someone else: votes name participants by id.
#[test]
fn a_vote_lands_on_its_participant_whatever_was_lost_before_it() {
    let (mut session, _) = story_session();
    let code = || "123456".to_owned();
    let newcomer = Uuid::from_u128(99);
    session
        .join(newcomer, "p2".into(), 3, &Limits::default())
        .unwrap();
    session.apply(&reopen(), &Limits::default()).unwrap();
    let ids = |p: u32| session.participant(p).id;
    let created = records::encode_snapshot(
        &code(),
        &hex(&[0; 32]),
        &story_session().0.snapshot_events(),
        0,
        &ids,
    );
    let joined = records::encode_event(
        &Event::Joined {
            code: code(),
            p: newcomer,
            token: "p2".into(),
            at: 3,
        },
        &ids,
    );
    let dir = tmp();
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(segment_path(&dir, 1))
        .unwrap();
    for json in created {
        f.write_all(&encode(&[0; 32], &json)).unwrap();
    }
    // p0's and p1's `joined` records are in the snapshot; the newcomer (p2)
    // joins; a record of another newcomer before it is "lost": positions
    // would now be off by one, ids are not.
    f.write_all(&encode(&[0; 32], &joined)).unwrap();
    for ev in [reopen(), vote(2, 1)] {
        f.write_all(&encode(&[0; 32], &records::encode_event(&ev, &ids)))
            .unwrap();
    }
    drop(f);
    let r = replay(&dir, false, false).unwrap();
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    let s = &r.sessions["123456"].session;
    let p2 = s.participant_by_token("p2").unwrap();
    assert_eq!(
        s.questions()[0].ballot(p2),
        Some(&crate::domain::Choice::Index(1))
    );
}

/// A session too big for one record is written in parts, and comes back
/// exactly, its chain where the snapshot says.
#[test]
fn a_snapshot_in_parts_rebuilds_a_big_session_and_keeps_its_chain() {
    let (mut session, chain_before) = story_session();
    session.apply(&reopen(), &Limits::default()).unwrap();
    for i in 0..30_000u32 {
        let id = Uuid::from_u128(1000 + i as u128);
        let p = session
            .join(id, format!("token-{i:040}"), i as i64, &Limits::none())
            .unwrap();
        session
            .apply(&vote(p, (i % 2) as i64), &Limits::none())
            .unwrap();
    }
    let parts = records::encode_snapshot(
        "123456",
        &hex(&chain_before),
        &session.snapshot_events(),
        42,
        &|p| session.participant(p).id,
    );
    assert!(parts.len() >= 2, "{} parts", parts.len());
    assert!(parts
        .iter()
        .all(|p| p.len() <= records::SNAPSHOT_PART_BYTES + 4096));
    let dir = tmp();
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(segment_path(&dir, 1))
        .unwrap();
    let mut link = chain_before;
    for json in &parts {
        link = chain(&link, json);
        f.write_all(&encode(&link, json)).unwrap();
    }
    drop(f);
    let r = replay(&dir, false, true).unwrap();
    assert!(
        r.problems.is_empty() && r.broken_links.is_empty(),
        "{:?} {:?}",
        r.problems,
        r.broken_links
    );
    let back = &r.sessions["123456"];
    assert_eq!(
        back.chain, chain_before,
        "a snapshot leaves the chain where it was"
    );
    assert_eq!(back.active, 42);
    assert_eq!(back.session.participants(), session.participants());
    assert_eq!(
        back.session.questions()[0].tally(),
        session.questions()[0].tally()
    );

    // Without its last part, the snapshot is ignored (and said so).
    let full = fs::metadata(segment_path(&dir, 1)).unwrap().len();
    let last = parts.last().unwrap().len() as u64 + 40;
    OpenOptions::new()
        .write(true)
        .open(segment_path(&dir, 1))
        .unwrap()
        .set_len(full - last)
        .unwrap();
    let r = replay(&dir, false, true).unwrap();
    assert!(!r.sessions.contains_key("123456"));
    assert!(
        r.problems.iter().any(|p| p.contains("incomplete")),
        "{:?}",
        r.problems
    );
}

/// Damage other than a torn tail deletes nothing: the segment is copied to
/// `damaged/`, and the sessions it did not touch come back.
#[test]
fn a_damaged_segment_is_kept_aside_and_other_sessions_come_back() {
    let dir = tmp();
    let other: Vec<Record> = story()
        .into_iter()
        .map(|r| match r {
            Record::Event(Event::Created {
                id,
                title,
                token,
                qa_moderation,
                at,
                ..
            }) => Record::Event(Event::Created {
                id,
                code: "654321".into(),
                title,
                token,
                qa_moderation,
                at,
            }),
            r => {
                let json = records::encode(&r)
                    .iter()
                    .map(|b| *b as char)
                    .collect::<String>();
                let json = json.replace("123456", "654321");
                records::decode(json.as_bytes()).unwrap()
            }
        })
        .collect();
    write(&dir, 1, &story());
    write(&dir, 2, &other);
    // Flip a byte in the middle of segment 1 (not its tail).
    let path = segment_path(&dir, 1);
    let mut bytes = fs::read(&path).unwrap();
    let original = bytes.clone();
    bytes[60] ^= 0x01;
    fs::write(&path, &bytes).unwrap();
    let r = replay(&dir, true, false).unwrap();
    assert!(!r.problems.is_empty());
    assert_eq!(
        r.sessions.len(),
        1 + usize::from(r.sessions.contains_key("123456"))
    );
    assert!(
        r.sessions.contains_key("654321"),
        "the other session comes back"
    );
    let kept = fs::read(dir.join("damaged").join("journal-00000001.log")).unwrap();
    assert_eq!(kept, bytes, "the damaged segment is kept whole");
    assert_ne!(kept, original);
    // Verify, which changes nothing, finds it too.
    fs::write(&path, &bytes).unwrap();
    let v = verify(&dir).unwrap();
    assert!(!v.sound);
}

#[test]
fn replay_applies_no_admission_limit() {
    // The story's session has two participants and a question: replayed
    // under limits lower than that, all of it comes back.
    let dir = tmp();
    write(&dir, 1, &story());
    let r = replay(&dir, false, true).unwrap();
    assert_eq!(r.sessions["123456"].session.participants().len(), 2);
    assert!(r.problems.is_empty());
}

/// After a write that failed, nothing more is written and every change is
/// refused: what is on disk stays what was acknowledged.
#[tokio::test]
async fn a_failed_write_stops_the_journal() {
    let dir = tmp();
    // The first segment cannot be written: it is /dev/full.
    std::os::unix::fs::symlink("/dev/full", segment_path(&dir, 1)).unwrap();
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let j = Journal::start(&dir, 0, u64::MAX, tx).unwrap();
    let (mut session, _) = story_session();
    let mut at = Place::default();
    let turn = j.turn(&mut at, &session, 5).unwrap();
    session.apply(&reopen(), &Limits::default()).unwrap();
    let first = j.append(&turn, &mut at, &session, &reopen());
    drop(turn);
    assert!(first.wait().await.is_err(), "the write fails");
    assert!(j.failure().is_some());
    let refused = j.turn(&mut at, &session, 6).err().expect("refused");
    assert_eq!(refused.code, crate::error::ErrorCode::Unavailable);
    assert!(j.sync().wait().await.is_err());
    j.close();
}

/// Every record of the fixture written by an older server reads back and
/// is written again byte for byte: digests computed over them still hold.
#[test]
fn records_of_the_fixture_are_written_again_as_they_were() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/journal-v1");
    for path in [
        root.join("events/journal-00000001.log"),
        root.join("compacted/journal-00000002.log"),
    ] {
        let (frames, damage) = read_segment(&path).unwrap();
        assert!(damage.is_empty());
        assert!(!frames.is_empty());
        for f in frames {
            let rec = records::decode(&f.json).unwrap();
            assert_eq!(
                String::from_utf8(records::encode(&rec)).unwrap(),
                String::from_utf8(f.json).unwrap()
            );
        }
    }
}

#[test]
fn a_record_names_its_session() {
    let rec = Record::from(Event::Ended {
        code: "123456".into(),
    });
    assert_eq!(rec.code(), Some("123456"));
    assert_eq!(Record::Compacted { segment: 3 }.code(), None);
    assert_eq!(
        String::from_utf8(records::encode(&rec)).unwrap(),
        r#"{"e":"ended","code":"123456"}"#
    );
}
