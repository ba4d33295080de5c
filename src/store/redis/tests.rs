//! Tests of the Redis store that need no Redis server: keys, codecs, scripts.

use super::*;

#[test]
fn log_entries_carry_their_position() {
    assert_eq!(
        entry(r#"12 {"e":"closed"}"#),
        Some((12, r#"{"e":"closed"}"#))
    );
    assert_eq!(entry(r#"{"e":"closed"}"#), None);
    assert_eq!(entry("x {}"), None);
}

#[test]
fn keys_share_the_session_hash_tag() {
    let q = Uuid::nil();
    for k in [
        log_key("123456"),
        open_key("123456"),
        questions_key("123456"),
        ballots_key("123456", Some(q)),
        counts_key("123456", None),
        base_key("123456"),
        snap_key("123456"),
        claim_key("123456"),
    ] {
        assert!(k.starts_with("{123456}:"), "{k}");
    }
}

#[test]
fn timers_close_only_what_they_opened() {
    let q = Uuid::new_v4();
    let ev = Event::Opened {
        code: "1".into(),
        q,
        at: 1000,
        duration_ms: Some(500),
    };
    assert_eq!(Side::of(&ev), Side::Open(q, 1500));
    let ev = Event::Opened {
        code: "1".into(),
        q,
        at: 1000,
        duration_ms: None,
    };
    assert_eq!(Side::of(&ev).args(), ("open", Some(q), "0".into()));
}
