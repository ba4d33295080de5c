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
    let r = replay(&dir, &Limits::default(), false, true).unwrap();
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
    let r = replay(&dir, &Limits::default(), true, true).unwrap();
    assert_eq!(counts(&r), vec![0, 2]);
    assert_eq!(
        r.sessions["123456"].session.questions()[0].state,
        QuestionState::Open
    );
    assert_eq!(r.problems.len(), 1);
    // The file now ends at the last sound record.
    let again = replay(&dir, &Limits::default(), true, true).unwrap();
    assert!(again.problems.is_empty());
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
    let r = replay(&dir, &Limits::default(), false, true).unwrap();
    assert!(!r.problems.is_empty());
}

#[test]
fn a_snapshot_replaces_the_session_and_rebuilds_it_exactly() {
    let dir = tmp();
    write(&dir, 1, &story());
    let r = replay(&dir, &Limits::default(), false, false).unwrap();
    let s = &r.sessions["123456"];
    let snap = Record::Snapshot {
        code: "123456".into(),
        prev: hex(&s.chain),
        events: s.session.snapshot_events(),
        active: Some(1_700_000_000_000),
    };
    let dir2 = tmp();
    write(&dir2, 1, &[snap]);
    let r2 = replay(&dir2, &Limits::default(), false, true).unwrap();
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
    let r = replay(&dir, &Limits::default(), false, false).unwrap();
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    let snap = Record::Snapshot {
        code: code(),
        prev: hex(&r.sessions["123456"].chain),
        events: r.sessions["123456"].session.snapshot_events(),
        active: None,
    };
    let dir2 = tmp();
    write(&dir2, 1, &[snap]);
    let mut r2 = replay(&dir2, &Limits::default(), false, true).unwrap();
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

#[tokio::test]
async fn appends_are_durable_when_acked_and_read_back() {
    let dir = tmp();
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let j = Journal::start(&dir, 0, u64::MAX, tx).unwrap();
    let mut chain_hash = [0u8; 32];
    let mut waits = Vec::new();
    for ev in story() {
        waits.push(j.append(&ev, &mut chain_hash));
    }
    for w in waits {
        w.wait().await.unwrap();
    }
    let r = replay(&dir, &Limits::default(), false, true).unwrap();
    assert_eq!(counts(&r), vec![0, 2]);
    assert_eq!(r.sessions["123456"].chain, chain_hash);
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
        assert!(damage.is_none());
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
