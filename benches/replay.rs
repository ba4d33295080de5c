//! How long a start takes to replay a journal of one million ballots, before
//! and after compaction. Run with `cargo bench --bench replay`; the figures
//! go in BENCHMARKS.md.

use std::io::Write;
use std::time::Instant;

use handsup::domain::{Event, RawChoice};
use handsup::store::journal::{self, chain, encode};
use handsup::store::records;
use serde_json::json;
use uuid::Uuid;

const PHONES: u32 = 20_000;
const BALLOTS: u32 = 1_000_000;

/// Writes records (their JSON) as one session's chain.
fn write_segment(path: &std::path::Path, records: impl Iterator<Item = Vec<u8>>) -> u64 {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut link = [0u8; 32];
    let mut n = 0;
    for json in records {
        link = chain(&link, &json);
        f.write_all(&encode(&link, &json)).unwrap();
        n += 1;
    }
    f.flush().unwrap();
    n
}

fn main() {
    let dir = std::env::temp_dir().join(format!("handsup-replay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let code = || "424242".to_owned();
    let q = Uuid::new_v4();
    let spec = handsup::protocol::parse_question_spec(&json!({
        "kind": "single", "prompt": "Which approach works best?",
        "options": ["Peer-to-peer", "Triangular", "Demand-driven", "Study visits", "Training"]
    }))
    .unwrap();
    let head = vec![
        Event::Created {
            id: Uuid::new_v4(),
            code: code(),
            title: "Plenary".into(),
            token: "t".into(),
            qa_moderation: false,
            at: 0,
        },
        Event::Added {
            code: code(),
            q,
            spec,
        },
        Event::Opened {
            code: code(),
            q,
            at: 0,
            duration_ms: None,
        },
    ];
    let ids: Vec<Uuid> = (0..PHONES).map(|_| Uuid::new_v4()).collect();
    let id = |p: u32| ids[p as usize];
    let joins = (0..PHONES).map(|p| Event::Joined {
        code: code(),
        p: id(p),
        token: format!("token-{p:08}-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"),
        at: p as i64,
    });
    let votes = (0..BALLOTS).map(|i| Event::Vote {
        code: code(),
        p: i % PHONES,
        q,
        choice: RawChoice::Int(i64::from((i / PHONES) % 5)),
        entry: None,
    });
    let path = dir.join("journal-00000001.log");
    let records = write_segment(
        &path,
        head.into_iter()
            .chain(joins)
            .chain(votes)
            .map(|ev| records::encode_event(&ev, &id)),
    );
    let size = std::fs::metadata(&path).unwrap().len();

    let t = Instant::now();
    let r = journal::replay(&dir, false, false).unwrap();
    let full = t.elapsed();
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    assert_eq!(
        r.sessions["424242"].session.questions()[0].tally().voters,
        PHONES as u64
    );

    // The same state after compaction: one snapshot, in parts.
    let restored = &r.sessions["424242"];
    let parts = records::encode_snapshot(
        &code(),
        &journal::hex(&restored.chain),
        &restored.session.snapshot_events(),
        0,
        &|p| restored.session.participant(p).id,
    );
    std::fs::remove_file(&path).unwrap();
    write_segment(&path, parts.into_iter());
    let compact_size = std::fs::metadata(&path).unwrap().len();
    let t = Instant::now();
    let r2 = journal::replay(&dir, false, false).unwrap();
    let compacted = t.elapsed();
    assert_eq!(
        r2.sessions["424242"].session.questions()[0].tally(),
        r.sessions["424242"].session.questions()[0].tally()
    );
    std::fs::remove_dir_all(&dir).unwrap();

    println!("replay of {records} records ({BALLOTS} ballots from {PHONES} phones, {:.1} MiB): {:.2} s ({:.0} records/s)",
        size as f64 / 1048576.0, full.as_secs_f64(), records as f64 / full.as_secs_f64());
    println!(
        "after compaction ({:.1} MiB snapshot): {:.2} s",
        compact_size as f64 / 1048576.0,
        compacted.as_secs_f64()
    );
}
