//! The records of links and translations: each reads back as written, and
//! a session with links and translated items snapshots and replays to the
//! same state.

use super::*;
use crate::domain::{Limits, Session, Settings};

fn code() -> String {
    "123456".into()
}

fn round_trip(ev: Event) -> String {
    let rec = Record::Event(ev);
    let json = encode(&rec);
    assert_eq!(decode(&json).unwrap(), rec);
    String::from_utf8(json).unwrap()
}

#[test]
fn link_records_read_back_as_written() {
    let id = Uuid::from_u128(9);
    let json = round_trip(Event::LinkAdded {
        code: code(),
        id,
        scope: Scope::Interpreter,
        label: Some("Booth 2".into()),
        lang: Some("fr".into()),
        token: "secret".into(),
        at: 7,
    });
    assert_eq!(
        json,
        format!(
            r#"{{"e":"link_added","code":"123456","id":"{id}","role":"interpreter","label":"Booth 2","lang":"fr","token":"secret","at":7}}"#
        )
    );
    let json = round_trip(Event::LinkAdded {
        code: code(),
        id,
        scope: Scope::Presenter,
        label: None,
        lang: None,
        token: "t".into(),
        at: 1,
    });
    assert!(!json.contains("label") && !json.contains("lang"));
    round_trip(Event::LinkRevoked { code: code(), id });
    round_trip(Event::QaTranslated {
        code: code(),
        item: Uuid::from_u128(3),
        lang: "es".into(),
        text: "¿Y el presupuesto?".into(),
    });
}

#[test]
fn an_unknown_link_role_is_an_unreadable_record() {
    let bad = br#"{"e":"link_added","code":"123456","id":"00000000-0000-0000-0000-000000000009","role":"owner","token":"t","at":1}"#;
    assert!(decode(bad).is_err());
}

#[test]
fn links_and_translations_survive_a_snapshot() {
    let limits = Limits::default();
    let mut s = Session::new(
        Uuid::nil(),
        code(),
        "T".into(),
        "tok".into(),
        Settings::default(),
        1,
        &limits,
    )
    .unwrap();
    let p = Uuid::from_u128(50);
    let item = Uuid::from_u128(60);
    let (kept, gone) = (Uuid::from_u128(70), Uuid::from_u128(71));
    let events = [
        Event::Joined {
            code: code(),
            p,
            token: "pt".into(),
            at: 2,
        },
        Event::Asked {
            code: code(),
            item,
            p: 0,
            text: "What about the budget?".into(),
            name: None,
            at: 3,
            pending: false,
        },
        Event::QaTranslated {
            code: code(),
            item,
            lang: "fr".into(),
            text: "Et le budget ?".into(),
        },
        Event::QaSet {
            code: code(),
            item,
            status: QaStatus::Hidden,
        },
        Event::LinkAdded {
            code: code(),
            id: kept,
            scope: Scope::Cohost,
            label: None,
            lang: None,
            token: "k".into(),
            at: 4,
        },
        Event::LinkAdded {
            code: code(),
            id: gone,
            scope: Scope::Results,
            label: Some("Rapporteur".into()),
            lang: None,
            token: "g".into(),
            at: 5,
        },
        Event::LinkRevoked {
            code: code(),
            id: gone,
        },
    ];
    for ev in &events {
        s.apply(ev, &limits).unwrap();
    }
    let snap = s.snapshot_events();
    let mut again = Session::new(
        Uuid::nil(),
        code(),
        "T".into(),
        "tok".into(),
        Settings::default(),
        1,
        &limits,
    )
    .unwrap();
    for ev in snap.iter().skip(1) {
        let ev = match decode(&encode(&ev.clone().into())).unwrap() {
            Record::Event(ev) => ev,
            other => panic!("{other:?}"),
        };
        again.apply(&ev, &Limits::none()).unwrap();
    }
    assert_eq!(again.links, s.links);
    assert_eq!(again.links.items().len(), 1);
    assert_eq!(again.links.items()[0].id, kept);
    let i = again.qa.item(item).unwrap();
    assert_eq!(i.status, QaStatus::Hidden);
    assert_eq!(i.translations.get("fr").unwrap(), "Et le budget ?");
    assert_eq!(again.snapshot_events(), snap);
}
