//! Micro-benchmarks of the paths every vote takes: reading the frame,
//! applying the ballot, and snapshotting and serialising the tally that the
//! projector, the moderator and the phones receive; and, in cluster mode,
//! counting a question's ballots by group.
//!
//! Run with `cargo bench --bench hot_paths`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use handsup::domain::{Limits, RawChoice, Session, Settings};
use handsup::protocol::{ack_frame, parse_client, parse_question_spec, tally_frame, TallyOut};
use serde_json::json;
use uuid::Uuid;

const PARTICIPANTS: u32 = 20_000;
const OPTIONS: usize = 4;

/// A session with one open `single` question and 20,000 participants, each
/// with a ballot already (so every vote replaces one, as in a busy room).
fn busy_session() -> (Session, Uuid) {
    let limits = Limits::default();
    let mut s = Session::new(
        Uuid::new_v4(),
        "123456".into(),
        "Benchmark".into(),
        "moderator-token".into(),
        Settings::default(),
        0,
        &limits,
    )
    .expect("valid session");
    let spec = parse_question_spec(&json!({
        "kind": "single",
        "prompt": "Which one?",
        "options": ["A", "B", "C", "D"],
    }))
    .expect("valid question");
    let qid = Uuid::new_v4();
    s.add_question(qid, spec, &limits).expect("room for it");
    s.open(qid, 0, None).expect("opens");
    for p in 0..PARTICIPANTS {
        let index = s
            .join(Uuid::new_v4(), format!("token-{p}"), 0, &limits)
            .expect("room for everyone");
        s.vote(
            index,
            qid,
            RawChoice::Int((p as usize % OPTIONS) as i64),
            (Uuid::nil(), 0),
        )
        .expect("a valid vote");
    }
    (s, qid)
}

fn ballot_apply(c: &mut Criterion) {
    let (mut s, qid) = busy_session();
    let mut g = c.benchmark_group("ballot_apply");
    g.throughput(Throughput::Elements(1));
    let mut k: u64 = 0;
    g.bench_function("revote_20k_participants", |b| {
        b.iter(|| {
            // Walk the participants in a scattered order, each changing its answer.
            k = k.wrapping_add(1);
            let p = (k.wrapping_mul(7919) % PARTICIPANTS as u64) as u32;
            let choice = ((k / PARTICIPANTS as u64 + p as u64) % OPTIONS as u64) as i64;
            black_box(
                s.vote(black_box(p), qid, RawChoice::Int(choice), (Uuid::nil(), 0))
                    .expect("a valid vote"),
            )
        })
    });
    g.finish();
}

fn tally_snapshot(c: &mut Criterion) {
    let (s, qid) = busy_session();
    let q = s.question(qid).expect("the question");
    let mut g = c.benchmark_group("tally");
    g.throughput(Throughput::Elements(1));
    let mut seq = 0u64;
    g.bench_function("snapshot_and_frame_single_4_options", |b| {
        b.iter(|| {
            seq += 1;
            let out = TallyOut::new(q.id, black_box(seq), q.tally());
            black_box(tally_frame(&out))
        })
    });
    g.bench_function("snapshot_to_value_single_4_options", |b| {
        b.iter(|| {
            seq += 1;
            let out = TallyOut::new(q.id, black_box(seq), q.tally());
            black_box(serde_json::to_value(&out).expect("serialisable"))
        })
    });
    g.finish();
}

fn message_parse(c: &mut Criterion) {
    let frame = format!(
        r#"{{"type":"vote","ref":"1234","question_id":"{}","choice":2}}"#,
        Uuid::new_v4()
    );
    let mut g = c.benchmark_group("message");
    g.throughput(Throughput::Bytes(frame.len() as u64));
    g.bench_function("parse_vote", |b| {
        b.iter(|| {
            let (r, msg) = parse_client(black_box(&frame));
            black_box((r, msg.expect("a valid vote")))
        })
    });
    g.bench_function("ack_frame", |b| {
        b.iter(|| black_box(ack_frame(Some(black_box("1234")))))
    });
    g.finish();
}

/// Cluster mode, results by group: a node reads a question's 19,500
/// ballots as Redis stores them and counts them by the three groups of a
/// segment (what each group count does once the ballots are read).
fn group_count(c: &mut Criterion) {
    use handsup::domain::{count_groups, Choice};
    use handsup::store::redis::ballot::Ballot;
    const ROOM: u32 = 19_500;
    let (s, qid) = busy_session();
    let kind = s.question(qid).expect("the question").spec.kind.clone();
    let stored: Vec<(u32, String)> = (0..ROOM)
        .map(|p| {
            let choice = RawChoice::Int(i64::from(p) % OPTIONS as i64);
            let checked = kind
                .check_choice(choice.clone(), (Uuid::nil(), 0))
                .expect("a valid choice");
            (p, Ballot::of(&checked, choice, None).encode())
        })
        .collect();
    let members: Vec<u16> = (0..ROOM).map(|p| (p % 3) as u16).collect();
    let mut g = c.benchmark_group("group_count");
    g.throughput(Throughput::Elements(u64::from(ROOM)));
    g.bench_function("decode_and_count_19500_ballots_3_groups", |b| {
        b.iter(|| {
            let ballots: Vec<(u32, Choice)> = stored
                .iter()
                .filter_map(|(p, json)| Some((*p, Ballot::choice_of(json, &kind)?)))
                .collect();
            let group = |p: u32| members.get(p as usize).map(|g| usize::from(*g));
            black_box(count_groups(
                &kind,
                3,
                ballots.iter().map(|(p, c)| (*p, c)),
                group,
            ))
        })
    });
    g.finish();
}

criterion_group!(
    benches,
    ballot_apply,
    tally_snapshot,
    message_parse,
    group_count
);
criterion_main!(benches);
