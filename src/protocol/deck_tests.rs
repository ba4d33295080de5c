//! The deck format's tests: reading, errors that name the question and
//! field, and the round trip through `to_toml`.

use super::*;
use crate::domain::{Kind, OptionItem};
use crate::error::ErrorCode;
use crate::protocol::parse_question_spec;
use uuid::Uuid;

const EXAMPLE: &str = include_str!("../../decks/capacity-building.toml");

fn err(text: &str) -> Error {
    parse(text).unwrap_err()
}

fn session_of(deck: &Deck) -> Session {
    let limits = Limits::default();
    let mut s = Session::new(
        Uuid::new_v4(),
        "123456".into(),
        deck.title.clone(),
        "token".into(),
        deck.settings.clone(),
        0,
        &limits,
    )
    .unwrap();
    for spec in &deck.questions {
        s.add_question(Uuid::new_v4(), spec.clone(), &limits)
            .unwrap();
    }
    s
}

#[test]
fn the_example_deck_reads() {
    let deck = parse(EXAMPLE).unwrap();
    assert!(deck.title.starts_with("What role for capacity building"));
    assert!(deck.questions.len() >= 5);
    let first = &deck.questions[0];
    assert_eq!(first.prompt, "Where do you work on migration?");
    assert!(first.translations.contains_key("fr"));
    assert!(deck.questions.iter().any(|q| q.kind.correct().is_some()));
}

#[test]
fn the_brief_form_reads() {
    let deck = parse(
        r##"
title = "Morning panel"
qa_moderation = true

[[question]]
kind = "single"
prompt = "Where do you work on migration?"
options = ["National government", "Local government", "Civil society"]
correct = [2]
colours = ["#0072b2", "#e69f00", "#009e73"]

[question.translations.fr]
prompt = "Où travaillez-vous sur les migrations ?"
options = ["Gouvernement national", "Gouvernement local", "Société civile"]

[[question]]
kind = "scale"
prompt = "How ready are you?"
"##,
    )
    .unwrap();
    assert_eq!(deck.title, "Morning panel");
    assert!(deck.settings.qa_moderation);
    assert_eq!(deck.questions.len(), 2);
    match &deck.questions[0].kind {
        Kind::Single { options, correct } => {
            assert_eq!(options.len(), 3);
            assert_eq!(options[0].colour.as_deref(), Some("#0072b2"));
            assert_eq!(correct.as_deref(), Some(&[2u8][..]));
        }
        k => panic!("{k:?}"),
    }
    assert_eq!(
        deck.questions[1].kind,
        Kind::Scale {
            min: 1,
            max: 5,
            min_label: None,
            max_label: None
        }
    );
}

#[test]
fn a_session_round_trips_through_its_deck() {
    let mut deck = parse(EXAMPLE).unwrap();
    // Every kind and every setting, colours on some options only.
    deck.questions.push(QuestionSpec {
        prompt: "Pick \"one\"\nor two".into(),
        kind: Kind::Multiple {
            options: vec![
                OptionItem {
                    label: "Peer-to-peer".into(),
                    colour: None,
                },
                OptionItem {
                    label: "Triangular".into(),
                    colour: Some("#0072b2".into()),
                },
                OptionItem {
                    label: "Study visits".into(),
                    colour: None,
                },
            ],
            max_choices: 2,
            correct: Some(vec![0, 2]),
        },
        translations: Default::default(),
        segment: false,
    });
    deck.questions.push(
        parse_question_spec(&serde_json::json!({
            "kind": "scale", "prompt": "Ready?", "min": 0, "max": 10,
            "min_label": "Not at all", "max_label": "Fully",
            "translations": {"pt-BR": {"prompt": "Pronto?"}}
        }))
        .unwrap(),
    );
    deck.settings.qa_moderation = true;
    deck.settings.show_digest = true;
    let session = session_of(&deck);
    let text = to_toml(&session);
    let back = parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(back, deck, "{text}");
    // The export is the same again when read and written once more.
    assert_eq!(to_toml(&session_of(&back)), text);
}

#[test]
fn a_syntax_error_names_its_line() {
    let e = err("title = \"Panel\"\n\n[[question]]\nkind = single\n");
    assert_eq!(e.code, ErrorCode::BadRequest);
    assert!(e.message.contains("line 4"), "{}", e.message);
    assert!(!e.message.contains('\n'), "{}", e.message);
}

#[test]
fn a_bad_question_names_its_number_and_field() {
    let e = err(r#"
title = "Panel"
[[question]]
kind = "open"
prompt = "Anything?"
[[question]]
kind = "open"
prompt = "More?"
[[question]]
kind = "single"
prompt = "Only one?"
options = ["Yes"]
"#);
    assert_eq!(e.code, ErrorCode::BadRequest);
    assert!(
        e.message
            .starts_with("question 3: options: a question needs at least 2 options"),
        "{}",
        e.message
    );
}

#[test]
fn errors_keep_the_domain_codes() {
    let long = "x".repeat(501);
    let e = err(&format!(
        "title = \"Panel\"\n[[question]]\nkind = \"open\"\nprompt = \"{long}\"\n"
    ));
    assert_eq!(e.code, ErrorCode::TooLarge);
    assert!(e.message.starts_with("question 1: prompt"), "{}", e.message);

    let e = err("title = \"Panel\"\n[[question]]\nkind = \"poll\"\nprompt = \"x\"\n");
    assert!(
        e.message.starts_with("question 1: kind: unknown kind"),
        "{}",
        e.message
    );

    let e = err(
        "title = \"Panel\"\n[[question]]\nkind = \"scale\"\nprompt = \"x\"\nmin = 5\nmax = 3\n",
    );
    assert!(e.message.starts_with("question 1: max: "), "{}", e.message);

    let e = err("title = \"Panel\"\n[[question]]\nkind = \"open\"\n");
    assert_eq!(e.message, "question 1: prompt is required");

    let limits = Limits {
        max_questions: 1,
        ..Limits::default()
    };
    let two = "title = \"P\"\n[[question]]\nkind = \"open\"\nprompt = \"a\"\n[[question]]\nkind = \"open\"\nprompt = \"b\"\n";
    assert_eq!(
        parse_with(two, &limits).unwrap_err().code,
        ErrorCode::LimitReached
    );
}

#[test]
fn unknown_fields_are_typos() {
    let e = err("title = \"P\"\n[[questions]]\nkind = \"open\"\nprompt = \"a\"\n");
    assert!(e.message.contains("\"questions\""), "{}", e.message);
    assert!(e.message.contains("[[question]]"), "{}", e.message);

    let e = err("title = \"P\"\n[[question]]\nkind = \"single\"\nprompt = \"a\"\noptions = [\"x\", \"y\"]\ncorect = [1]\n");
    assert!(
        e.message
            .starts_with("question 1: unknown field \"corect\""),
        "{}",
        e.message
    );

    let e = err("title = \"P\"\n[[question]]\nkind = \"open\"\nprompt = \"a\"\n[question.translations.fr]\npromt = \"b\"\n");
    assert!(
        e.message
            .starts_with("question 1: translations.fr: unknown field \"promt\""),
        "{}",
        e.message
    );
}

#[test]
fn the_title_is_required_and_checked() {
    assert!(err("[[question]]\nkind = \"open\"\nprompt = \"a\"\n")
        .message
        .starts_with("title is required"));
    assert_eq!(err("title = \"  \"").message, "title must not be empty");
    assert_eq!(
        err(&format!("title = \"{}\"", "t".repeat(201))).code,
        ErrorCode::TooLarge
    );
    assert_eq!(err("title = 3").message, "title must be a text");
    assert_eq!(
        err("title = \"P\"\nqa_moderation = \"yes\"").message,
        "qa_moderation must be true or false"
    );
    assert_eq!(
        err("title = \"P\"\nshow_digest = 1").message,
        "show_digest must be true or false"
    );
}

#[test]
fn dates_and_odd_shapes_are_refused() {
    let e = err("title = \"P\"\n[[question]]\nkind = \"open\"\nprompt = 1979-05-27\n");
    assert!(
        e.message
            .starts_with("question 1: prompt: 1979-05-27 is a date"),
        "{}",
        e.message
    );
    let e = err("title = \"P\"\n[[question]]\nkind = \"scale\"\nprompt = \"x\"\nmax = nan\n");
    assert!(
        e.message
            .starts_with("question 1: max: NaN is not a number"),
        "{}",
        e.message
    );
    let e = err("title = \"P\"\nquestion = 3\n");
    assert_eq!(e.code, ErrorCode::BadRequest);
    let e = err("title = \"P\"\nquestion = [1]\n");
    assert!(e.message.starts_with("question 1: "), "{}", e.message);
}

#[test]
fn deep_nesting_is_refused_without_a_crash() {
    let deep = format!(
        "title = \"P\"\n[[question]]\nkind = \"open\"\nprompt = {}{}\n",
        "[".repeat(30_000),
        "]".repeat(30_000)
    );
    assert_eq!(err(&deep).code, ErrorCode::BadRequest);
    // A dotted header nests tables as deep as a 64 KiB body allows.
    let dotted = format!(
        "title = \"P\"\n[[question]]\nkind = \"open\"\nprompt = \"x\"\n[question.options{}]\n",
        ".a".repeat(32_000)
    );
    let e = err(&dotted);
    assert_eq!(e.code, ErrorCode::BadRequest);
    assert!(e.message.contains("line 5"), "{}", e.message);
}

#[test]
fn a_byte_order_mark_and_no_questions_are_fine() {
    let deck = parse("\u{feff}title = \"Just a Q&A\"\nqa_moderation = true\n").unwrap();
    assert!(deck.questions.is_empty());
    assert!(deck.settings.qa_moderation);
    assert!(!deck.settings.show_digest, "off unless the deck says so");
    let deck = parse("title = \"Audit\"\nshow_digest = true\n").unwrap();
    assert!(deck.settings.show_digest);
    assert!(!deck.settings.qa_moderation);
}

#[test]
fn a_deck_matches_its_own_session_only() {
    let deck = parse(EXAMPLE).unwrap();
    let s = session_of(&deck);
    assert!(deck.matches(&s));
    let mut other = deck.clone();
    other.questions.pop();
    assert!(!other.matches(&s));
    other = deck.clone();
    other.title.push('!');
    assert!(!other.matches(&s));
}

const EVENT_EXAMPLE: &str = include_str!("../../decks/side-events.toml");

#[test]
fn an_event_deck_holds_its_sessions_in_order() {
    assert!(is_event(EVENT_EXAMPLE));
    assert!(!is_event(EXAMPLE));
    let e = parse_event_with(EVENT_EXAMPLE, &Limits::default()).unwrap();
    assert_eq!(e.title, "Forum side events, Tuesday afternoon");
    let titles: Vec<&str> = e.sessions.iter().map(|d| d.title.as_str()).collect();
    assert_eq!(
        titles,
        [
            "Oceans and climate finance",
            "Digital rights in public services",
            "Health workforce"
        ]
    );
    assert!(e.sessions[0].settings.qa_moderation);
    assert!(e.sessions[0].questions[0].segment);
    assert_eq!(e.sessions[1].questions.len(), 2);
    assert!(e.sessions[1].questions[1].translations.contains_key("fr"));
}

#[test]
fn an_event_deck_names_the_session_of_a_mistake() {
    let limits = Limits::default();
    let e = |text: &str| parse_event_with(text, &limits).unwrap_err().message;
    assert!(e("[[session]]\ntitle = \"A\"\n").contains("event is required"));
    assert!(e("event = \"F\"\n").contains("[[session]]"));
    assert!(e("event = \"F\"\n[[question]]\nkind = \"open\"\nprompt = \"x\"\n[[session]]\ntitle = \"A\"\n")
        .contains("[[session.question]]"));
    let m = e("event = \"F\"\n[[session]]\ntitle = \"A\"\n[[session]]\ntitle = \"B\"\n[[session.question]]\nkind = \"scale\"\nprompt = \"x\"\nmin = 3\nmax = 1\n");
    assert!(m.starts_with("session 2 (\"B\"): question 1"), "{m}");
    let m = e("event = \"F\"\n[[session]]\nqa_moderation = true\n");
    assert!(m.starts_with("session 1: title is required"), "{m}");
    let m =
        e("event = \"F\"\n[[session]]\ntitle = \"A\"\n[[session.questions]]\nkind = \"open\"\n");
    assert!(m.contains("unknown field \"questions\""), "{m}");
}
