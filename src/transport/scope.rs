//! What each HTTP route and socket message asks of a staff caller, as the
//! `Action`s of `domain::links`: the extractors and the socket reader check
//! them against the caller's scope before anything runs.

use axum::http::Method;
use serde_json::{Map, Value};

use crate::domain::links::Action;
use crate::protocol::ClientMsg;

/// The action of a moderated route under `/api/sessions/{code}`, from its
/// method and the path's segments after the code. A route this table does
/// not name is `Other`: the moderator's and cohosts' alone.
pub fn route_action(method: &Method, rest: &[&str]) -> Action {
    use Action::*;
    match (method.as_str(), rest) {
        ("DELETE", []) => DeleteSession,
        ("PATCH", []) => Settings,
        ("GET", []) => SeePolls,
        ("POST", ["questions"]) => AddQuestion,
        ("PUT", ["questions", _]) => EditQuestion,
        ("DELETE", ["questions", _]) => DeleteQuestion,
        ("POST", ["questions", _, action]) => match *action {
            "open" => Open,
            "close" => Close,
            "reveal" => Reveal,
            "hide" => Hide,
            "reset" => Reset,
            "move" => MoveQuestion,
            "breakdown" => Breakdown,
            _ => Other,
        },
        ("POST", ["present"]) => Present,
        ("POST", ["qa", _, "hide-author"]) => QaHideAuthor,
        ("GET", ["results" | "export.csv" | "report.html"]) => ReadResults,
        ("GET", ["deck.toml"]) => ReadContent,
        ("GET", ["journal"]) => ReadJournal,
        (_, ["links", ..]) => ManageLinks,
        _ => Other,
    }
}

/// The actions of a change of title and settings, by the fields it names
/// (a `PATCH` body, `settings` object included, or a `settings` message):
/// `qa_moderation` is the Q&A moderators' too, any other field is not.
pub fn settings_actions(fields: &Map<String, Value>) -> Vec<Action> {
    let mut out = Vec::new();
    for (k, v) in fields {
        match (k.as_str(), v) {
            ("type" | "ref", _) => {}
            ("qa_moderation", _) => out.push(Action::QaModeration),
            ("settings", Value::Object(inner)) => out.extend(settings_actions(inner)),
            _ => out.push(Action::Settings),
        }
    }
    out
}

/// The actions a socket message asks for; `text` is the frame, read again
/// for the fields of a `settings` message.
pub fn message_actions(msg: &ClientMsg, text: &str) -> Vec<Action> {
    use Action::*;
    let one = |a| vec![a];
    match msg {
        ClientMsg::Hello {}
        | ClientMsg::Vote { .. }
        | ClientMsg::Retract { .. }
        | ClientMsg::Ask { .. }
        | ClientMsg::Upvote { .. }
        | ClientMsg::Unupvote { .. } => Vec::new(),
        ClientMsg::AddQuestion { .. } => one(AddQuestion),
        ClientMsg::UpdateQuestion { .. } => one(EditQuestion),
        ClientMsg::MoveQuestion { .. } => one(MoveQuestion),
        ClientMsg::Open { .. } => one(Open),
        ClientMsg::Close { .. } => one(Close),
        ClientMsg::Reveal { .. } => one(Reveal),
        ClientMsg::Hide { .. } => one(Hide),
        ClientMsg::Reset { .. } => one(Reset),
        ClientMsg::DeleteQuestion { .. } => one(DeleteQuestion),
        ClientMsg::Present { .. } => one(Present),
        ClientMsg::Breakdown { .. } => one(Breakdown),
        ClientMsg::Settings { .. } => match serde_json::from_str::<Map<String, Value>>(text) {
            Ok(fields) => settings_actions(&fields),
            Err(_) => one(Settings),
        },
        ClientMsg::HideEntry { .. } => one(HideEntry),
        ClientMsg::QaStatus { .. } => one(QaStatus),
        ClientMsg::QaHideAuthor { .. } => one(QaHideAuthor),
        ClientMsg::QaTranslate { .. } => one(QaTranslate),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::parse_client;

    #[test]
    fn routes_name_their_actions() {
        let post = Method::POST;
        assert_eq!(
            route_action(&post, &["questions", "x", "open"]),
            Action::Open
        );
        assert_eq!(
            route_action(&post, &["questions", "x", "dance"]),
            Action::Other
        );
        assert_eq!(route_action(&post, &["questions"]), Action::AddQuestion);
        assert_eq!(route_action(&Method::DELETE, &[]), Action::DeleteSession);
        assert_eq!(
            route_action(&Method::GET, &["export.csv"]),
            Action::ReadResults
        );
        assert_eq!(
            route_action(&Method::DELETE, &["links", "x"]),
            Action::ManageLinks
        );
        assert_eq!(route_action(&Method::GET, &["unknown"]), Action::Other);
    }

    #[test]
    fn a_settings_change_asks_for_what_it_names() {
        let text = r#"{"type":"settings","ref":"1","qa_moderation":true}"#;
        let msg = parse_client(text).1.unwrap();
        assert_eq!(message_actions(&msg, text), vec![Action::QaModeration]);
        let text = r#"{"type":"settings","qa_moderation":true,"show_digest":true}"#;
        let msg = parse_client(text).1.unwrap();
        assert!(message_actions(&msg, text).contains(&Action::Settings));
        let body: Map<String, Value> =
            serde_json::from_str(r#"{"title":"T","settings":{"qa_moderation":false}}"#).unwrap();
        let actions = settings_actions(&body);
        assert_eq!(actions.len(), 2);
        assert!(actions.contains(&Action::Settings) && actions.contains(&Action::QaModeration));
    }
}
