//! The settings record: an old record reads and is written again byte for
//! byte; a setting that is not changed is not written.

use super::*;

#[test]
fn an_old_settings_record_is_written_again_byte_for_byte() {
    let old = br#"{"e":"settings","code":"123456","qa_moderation":true}"#;
    let rec = decode(old).unwrap();
    assert_eq!(
        rec,
        Record::Event(Event::Settings {
            code: "123456".into(),
            qa_moderation: Some(true),
            show_digest: None,
            min_group: None,
            public_summary: None,
        })
    );
    assert_eq!(encode(&rec), old.to_vec());
}

#[test]
fn show_digest_alone_is_written_alone_and_reads_back() {
    let rec = Record::Event(Event::Settings {
        code: "123456".into(),
        qa_moderation: None,
        show_digest: Some(true),
        min_group: None,
        public_summary: None,
    });
    let json = encode(&rec);
    assert_eq!(
        String::from_utf8(json.clone()).unwrap(),
        r#"{"e":"settings","code":"123456","show_digest":true}"#
    );
    assert_eq!(decode(&json).unwrap(), rec);
}

#[test]
fn a_session_without_show_digest_snapshots_as_before() {
    use crate::domain::{Limits, Session, Settings};
    let mut settings = Settings::default();
    let s = Session::new(
        uuid::Uuid::nil(),
        "123456".into(),
        "T".into(),
        "tok".into(),
        settings.clone(),
        1,
        &Limits::default(),
    )
    .unwrap();
    let events = s.snapshot_events();
    assert_eq!(events.len(), 1, "the creation only");
    assert!(!String::from_utf8(encode(&events[0].clone().into()))
        .unwrap()
        .contains("show_digest"));

    settings.show_digest = true;
    let s = Session::new(
        uuid::Uuid::nil(),
        "123456".into(),
        "T".into(),
        "tok".into(),
        settings,
        1,
        &Limits::default(),
    )
    .unwrap();
    let mut again = Session::new(
        uuid::Uuid::nil(),
        "123456".into(),
        "T".into(),
        "tok".into(),
        Settings::default(),
        1,
        &Limits::default(),
    )
    .unwrap();
    for ev in s.snapshot_events().iter().skip(1) {
        let ev = match decode(&encode(&ev.clone().into())).unwrap() {
            Record::Event(ev) => ev,
            other => panic!("{other:?}"),
        };
        again.apply(&ev, &Limits::default()).unwrap();
    }
    assert!(again.settings.show_digest, "the snapshot brings it back");
}

#[test]
fn the_floor_and_the_public_summary_round_trip_and_a_breakdown_too() {
    let rec = Record::Event(Event::Settings {
        code: "123456".into(),
        qa_moderation: None,
        show_digest: None,
        min_group: Some(3),
        public_summary: Some(true),
    });
    let json = encode(&rec);
    assert_eq!(
        String::from_utf8(json.clone()).unwrap(),
        r#"{"e":"settings","code":"123456","min_group":3,"public_summary":true}"#
    );
    assert_eq!(decode(&json).unwrap(), rec);
    let q = uuid::Uuid::from_u128(7);
    let by = uuid::Uuid::from_u128(8);
    for by in [Some(by), None] {
        let rec = Record::Event(Event::Breakdown {
            code: "123456".into(),
            q,
            by,
        });
        assert_eq!(decode(&encode(&rec)).unwrap(), rec);
    }
}
