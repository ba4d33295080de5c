//! Random input against the parser and the session logic, from fixed seeds
//! so every failure replays: nothing panics, and the tallies always agree
//! with the ballots.

use handsup::domain::{Choice, Kind, Limits, RawChoice, Session, Settings, Tally, TallyBody};
use handsup::protocol::{parse_client, parse_hello, parse_question_spec};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use uuid::Uuid;

const SEEDS: u64 = 12;

fn valid_frames() -> Vec<String> {
    let q = Uuid::new_v4();
    vec![
        json!({"type": "vote", "ref": "a1", "question_id": q, "choice": 2}).to_string(),
        json!({"type": "vote", "question_id": q, "choice": ["trust", "time"]}).to_string(),
        json!({"type": "ask", "text": "How?", "name": "Ana"}).to_string(),
        json!({"type": "add_question", "question": {"kind": "scale", "prompt": "p", "min": 1, "max": 5}}).to_string(),
        json!({"type": "present", "qa": true}).to_string(),
        json!({"type": "hello", "role": "audience", "token": "x"}).to_string(),
        json!({"type": "qa_status", "item_id": q, "status": "pinned"}).to_string(),
    ]
}

fn mutate(rng: &mut StdRng, s: &str) -> String {
    let mut chars: Vec<char> = s.chars().collect();
    let alphabet = [
        '{', '}', '[', ']', '"', ':', ',', '\\', '0', '9', '-', 'e', 'é', '\u{0}', '\u{FFFF}', ' ',
        'n',
    ];
    for _ in 0..rng.gen_range(1..6) {
        let at = rng.gen_range(0..=chars.len());
        match rng.gen_range(0..3) {
            0 if at < chars.len() => {
                chars.remove(at);
            }
            1 => chars.insert(at, alphabet[rng.gen_range(0..alphabet.len())]),
            _ if at < chars.len() => chars[at] = alphabet[rng.gen_range(0..alphabet.len())],
            _ => {}
        }
    }
    chars.into_iter().collect()
}

#[test]
fn the_parsers_never_panic_on_random_or_mangled_input() {
    let frames = valid_frames();
    for seed in 0..SEEDS {
        let mut rng = StdRng::seed_from_u64(seed);
        for _ in 0..3000 {
            let text = match rng.gen_range(0..4) {
                0 => {
                    let i = rng.gen_range(0..frames.len());
                    mutate(&mut rng, &frames[i])
                }
                1 => {
                    let bytes: Vec<u8> = (0..rng.gen_range(0..64)).map(|_| rng.gen()).collect();
                    String::from_utf8_lossy(&bytes).into_owned()
                }
                2 => {
                    let depth = rng.gen_range(1..3000);
                    format!(
                        "{{\"type\":\"vote\",\"choice\":{}1{}}}",
                        "[".repeat(depth),
                        "]".repeat(depth)
                    )
                }
                _ => format!(
                    "{{\"type\":\"vote\",\"question_id\":\"{}\",\"choice\":{}}}",
                    Uuid::nil(),
                    [
                        "1e999",
                        "-0",
                        "18446744073709551616",
                        "\"\"",
                        "[]",
                        "null",
                        "true"
                    ][rng.gen_range(0..7)]
                ),
            };
            let _ = parse_client(&text);
            let _ = parse_hello(&text);
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) {
                let _ = parse_question_spec(&v);
            }
        }
    }
}

fn kinds() -> Vec<serde_json::Value> {
    vec![
        json!({"kind": "single", "prompt": "s", "options": ["a", "b", "c"]}),
        json!({"kind": "multiple", "prompt": "m", "options": ["a", "b", "c", "d"], "max_choices": 3}),
        json!({"kind": "scale", "prompt": "sc", "min": -2, "max": 2}),
        json!({"kind": "wordcloud", "prompt": "w", "max_words": 3}),
        json!({"kind": "open", "prompt": "o"}),
        json!({"kind": "ranking", "prompt": "r", "options": ["x", "y", "z"]}),
    ]
}

fn random_raw(rng: &mut StdRng) -> RawChoice {
    let words = [
        "Trust",
        "trust ",
        "TRUST",
        "école",
        "e\u{301}cole",
        "  ",
        "time",
        &"x".repeat(41),
    ];
    match rng.gen_range(0..4) {
        0 => RawChoice::Int(rng.gen_range(-3..6)),
        1 => RawChoice::Ints(
            (0..rng.gen_range(0..5))
                .map(|_| rng.gen_range(-1..5))
                .collect(),
        ),
        2 => RawChoice::Text(words[rng.gen_range(0..words.len())].to_owned()),
        _ => RawChoice::Texts(
            (0..rng.gen_range(0..5))
                .map(|_| words[rng.gen_range(0..words.len())].to_owned())
                .collect(),
        ),
    }
}

/// A choice of the right shape for the kind, often (not always) valid.
fn plausible_raw(rng: &mut StdRng, kind: &Kind) -> RawChoice {
    match kind {
        Kind::Single { .. } => RawChoice::Int(rng.gen_range(0..4)),
        Kind::Multiple { .. } => {
            let mut v: Vec<i64> = (0..4).collect();
            v.retain(|_| rng.gen_bool(0.5));
            RawChoice::Ints(v)
        }
        Kind::Scale { .. } => RawChoice::Int(rng.gen_range(-3..4)),
        Kind::Wordcloud { .. } => {
            let pool = [
                "Trust",
                "trust",
                "école",
                "e\u{301}cole",
                "time",
                "ownership",
            ];
            RawChoice::Texts(
                (0..rng.gen_range(1..4))
                    .map(|_| pool[rng.gen_range(0..pool.len())].to_owned())
                    .collect(),
            )
        }
        Kind::Open => RawChoice::Text(format!("answer {}", rng.gen_range(0..100))),
        Kind::Ranking { .. } => {
            let mut v: Vec<i64> = vec![0, 1, 2];
            for i in (1..v.len()).rev() {
                v.swap(i, rng.gen_range(0..=i));
            }
            RawChoice::Ints(v)
        }
    }
}

/// Every invariant a question's tally must keep.
fn check(s: &Session) {
    for q in s.questions() {
        let mut fresh = Tally::empty(&q.spec.kind);
        let mut shown = 0;
        for (_, c) in q.ballots() {
            fresh.add(c);
            if !matches!(c, Choice::Text(e) if e.hidden) {
                shown += 1;
            }
        }
        let t = q.tally();
        assert_eq!(&fresh, t, "the running tally equals the ballots' sum");
        assert_eq!(
            t.voters, shown,
            "voters are the participants whose ballot counts"
        );
        match (&q.spec.kind, &t.body) {
            (Kind::Single { .. }, TallyBody::Counts(c)) => {
                assert_eq!(c.iter().sum::<u64>(), t.voters)
            }
            (Kind::Scale { .. }, TallyBody::Scale { counts, .. }) => {
                assert_eq!(counts.iter().sum::<u64>(), t.voters)
            }
            (Kind::Ranking { options }, TallyBody::Scores(sc)) => {
                let n = options.len() as u64;
                assert_eq!(sc.iter().sum::<u64>(), t.voters * n * (n - 1) / 2);
            }
            (Kind::Multiple { .. }, TallyBody::Counts(c)) => {
                let chosen: usize = q
                    .ballots()
                    .map(|(_, c)| match c {
                        Choice::Indices(v) => v.len(),
                        _ => 0,
                    })
                    .sum();
                assert_eq!(c.iter().sum::<u64>() as usize, chosen);
            }
            _ => {}
        }
    }
}

#[test]
fn random_sessions_keep_their_tallies_exact() {
    let limits = Limits::default();
    for seed in 0..SEEDS {
        let mut rng = StdRng::seed_from_u64(1000 + seed);
        let mut s = Session::new(
            Uuid::new_v4(),
            "123456".into(),
            "Fuzz".into(),
            "t".into(),
            Settings::default(),
            0,
            &limits,
        )
        .unwrap();
        let ids: Vec<Uuid> = kinds()
            .iter()
            .map(|k| {
                s.add_question(Uuid::new_v4(), parse_question_spec(k).unwrap(), &limits)
                    .unwrap()
                    .id
            })
            .collect();
        let people: Vec<u32> = (0..15)
            .map(|i| s.join(Uuid::new_v4(), format!("p{i}"), 0, &limits).unwrap())
            .collect();
        for q in &ids {
            s.open(*q, 0, None).unwrap();
        }
        let mut accepted = 0;
        for step in 0..2000i64 {
            let q = ids[rng.gen_range(0..ids.len())];
            let p = people[rng.gen_range(0..people.len())];
            match rng.gen_range(0..40) {
                0..=1 => drop(s.open(q, step, None)),
                2 => drop(s.close(q)),
                3 => drop(s.reset(q)),
                4..=5 => drop(s.retract(p, q)),
                6 => {
                    let entries: Vec<Uuid> = s
                        .question(q)
                        .unwrap()
                        .ballots()
                        .filter_map(|(_, c)| match c {
                            Choice::Text(e) => Some(e.id),
                            _ => None,
                        })
                        .collect();
                    if let Some(e) = entries.first() {
                        s.hide_entry(q, *e).unwrap();
                    }
                }
                _ => {
                    let raw = if rng.gen_bool(0.5) {
                        random_raw(&mut rng)
                    } else {
                        plausible_raw(&mut rng, &s.question(q).unwrap().spec.kind)
                    };
                    accepted += usize::from(s.vote(p, q, raw, (Uuid::new_v4(), step)).is_ok());
                }
            }
            check(&s);
        }
        assert!(
            accepted > 200,
            "seed {seed}: only {accepted} votes were valid"
        );
    }
}
