//! Links for every role: the moderator mints, lists and revokes them; each
//! role's token does what its scope allows, over HTTP and the socket, and
//! gets `forbidden` for the rest; a revoked link is closed out at once.
//! Across a restart and in cluster mode: `tests/process/records.rs`,
//! `tests/process/cluster.rs`.

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::support::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const ROLES: [&str; 5] = [
    "cohost",
    "presenter",
    "qa_moderator",
    "interpreter",
    "results",
];

async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> Reply {
    let mut req = app.http.request(method, app.url(path)).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status();
    let text = resp.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// Mints a link as the owner; the 201 body.
async fn mint(app: &TestApp, s: &Session, body: Value) -> Value {
    let (status, v) = call(
        app,
        Method::POST,
        &format!("/api/sessions/{}/links", s.code),
        &s.token,
        Some(body),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    v
}

/// A link of `role` (French for an interpreter); its token.
async fn token_of(app: &TestApp, s: &Session, role: &str) -> String {
    let body = if role == "interpreter" {
        json!({"role": role, "lang": "fr"})
    } else {
        json!({"role": role, "label": format!("The {role}")})
    };
    mint(app, s, body).await["token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A session moderating its Q&A, with an open question and a draft.
async fn panel(app: &TestApp) -> (Session, String, String) {
    let s = app
        .create_session(json!({
            "title": "Panel",
            "settings": {"qa_moderation": true},
            "questions": [single("Which?", &["A", "B"]), single("Draft", &["C", "D"])],
        }))
        .await;
    let q1 = app.question_id(&s, 0).await;
    let q2 = app.question_id(&s, 1).await;
    app.question_action(&s, &q1, "open").await;
    (s, q1, q2)
}

/// A phone asks (a text of its own each time); the owner approves it (or
/// not); the item's id.
async fn asked(app: &TestApp, s: &Session, phone: &mut Ws, approve: bool) -> String {
    static ASKED: AtomicUsize = AtomicUsize::new(0);
    let text = format!(
        "What about the budget, part {}?",
        ASKED.fetch_add(1, Ordering::Relaxed)
    );
    assert_eq!(
        phone.call(json!({"type": "ask", "text": text})).await["type"],
        "ack"
    );
    let item = phone
        .recv_until("the item asked", |v| {
            v["type"] == "qa_item" && v["item"]["text"] == text
        })
        .await;
    let id = item["item"]["id"].as_str().unwrap().to_owned();
    if approve {
        let (mut owner, _) = app.join(&s.code, "moderator", Some(&s.token)).await;
        let ack = owner
            .call(json!({"type": "qa_status", "item_id": id, "status": "approved"}))
            .await;
        assert_eq!(ack["type"], "ack", "{ack}");
    }
    id
}

/// A question made for a call that deletes one.
async fn spare(app: &TestApp, s: &Session, action: &str) -> String {
    if action != "delete question" {
        return String::new();
    }
    let (status, q) = app.add_question(s, single("Spare", &["1", "2"])).await;
    assert_eq!(status, StatusCode::CREATED, "{q}");
    q["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_owner_mints_lists_and_revokes_links_and_no_one_else_does() {
    let app = spawn_app();
    let (s, _, _) = panel(&app).await;
    let links = format!("/api/sessions/{}/links", s.code);
    let presenter = mint(&app, &s, json!({"role": "presenter", "label": "Chair"})).await;
    assert_eq!(presenter["role"], "presenter");
    assert_eq!(presenter["label"], "Chair");
    assert!(presenter.get("lang").is_none());
    let token = presenter["token"].as_str().unwrap();
    assert!(token.len() >= 22 && token != s.token);
    assert_eq!(
        presenter["url"],
        format!("{}/{}/moderate#token={token}", app.base, s.code)
    );
    let interpreter = mint(&app, &s, json!({"role": "interpreter", "lang": "fr"})).await;
    assert_eq!(interpreter["lang"], "fr");

    let refused = |body: Value| {
        let (app, links, token) = (&app, links.clone(), s.token.clone());
        async move { call(app, Method::POST, &links, &token, Some(body)).await }
    };
    assert_error(
        refused(json!({"role": "owner"})).await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    );
    assert_error(
        refused(json!({"role": "moderator"})).await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    );
    assert_error(
        refused(json!({"role": "interpreter"})).await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    );
    assert_error(
        refused(json!({"role": "interpreter", "lang": "not a tag"})).await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    );
    assert_error(
        refused(json!({})).await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    );

    let (status, list) = call(&app, Method::GET, &links, &s.token, None).await;
    assert_eq!(status, StatusCode::OK);
    let ids: Vec<&Value> = list["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| &l["id"])
        .collect();
    assert_eq!(ids, vec![&presenter["id"], &interpreter["id"]]);
    assert_eq!(list["links"][0]["token"], presenter["token"]);

    // The QR code of a link is the owner's to fetch, with the bearer token.
    let qr = format!("{links}/{}/qr.svg", presenter["id"].as_str().unwrap());
    let resp = app
        .http
        .get(app.url(&qr))
        .bearer_auth(&s.token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "image/svg+xml");
    assert!(resp.text().await.unwrap().contains("<svg"));
    assert_error(
        call(&app, Method::GET, &qr, "wrong", None).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );

    // No link, not even a cohost's, makes, lists or revokes links.
    let cohost = token_of(&app, &s, "cohost").await;
    for role_token in [cohost.as_str(), token] {
        assert_error(
            call(&app, Method::GET, &links, role_token, None).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        );
        assert_error(
            call(
                &app,
                Method::POST,
                &links,
                role_token,
                Some(json!({"role": "results"})),
            )
            .await,
            StatusCode::FORBIDDEN,
            "forbidden",
        );
        assert_error(
            call(&app, Method::GET, &qr, role_token, None).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        );
    }
    let revoke = format!("{links}/{}", presenter["id"].as_str().unwrap());
    assert_error(
        call(&app, Method::DELETE, &revoke, &cohost, None).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    assert_eq!(
        call(&app, Method::DELETE, &revoke, &s.token, None).await.0,
        StatusCode::NO_CONTENT
    );
    assert_error(
        call(&app, Method::DELETE, &revoke, &s.token, None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    let (_, list) = call(&app, Method::GET, &links, &s.token, None).await;
    assert_eq!(list["links"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_session_holds_at_most_fifty_links() {
    let app = spawn_app();
    let s = app.create_session(json!({"title": "Big"})).await;
    for _ in 0..50 {
        mint(&app, &s, json!({"role": "results"})).await;
    }
    let links = format!("/api/sessions/{}/links", s.code);
    assert_error(
        call(
            &app,
            Method::POST,
            &links,
            &s.token,
            Some(json!({"role": "results"})),
        )
        .await,
        StatusCode::CONFLICT,
        "limit_reached",
    );
}

/// Every moderated HTTP route, as (name, method, path, body); `{q1}` is the
/// open question, `{q2}` the draft, `{new}` a question made for the call,
/// `{item}` a Q&A item.
fn http_actions() -> Vec<(&'static str, Method, &'static str, Option<Value>)> {
    vec![
        (
            "add",
            Method::POST,
            "/questions",
            Some(single("More?", &["Y", "N"])),
        ),
        (
            "edit",
            Method::PUT,
            "/questions/{q2}",
            Some(single("Draft again", &["C", "D"])),
        ),
        ("open", Method::POST, "/questions/{q1}/open", None),
        ("close", Method::POST, "/questions/{q1}/close", None),
        ("reveal", Method::POST, "/questions/{q1}/reveal", None),
        ("hide", Method::POST, "/questions/{q1}/hide", None),
        ("reset", Method::POST, "/questions/{q1}/reset", None),
        (
            "move",
            Method::POST,
            "/questions/{q2}/move",
            Some(json!({"index": 0})),
        ),
        ("delete question", Method::DELETE, "/questions/{new}", None),
        (
            "present",
            Method::POST,
            "/present",
            Some(json!({"question_id": "{q1}"})),
        ),
        (
            "title",
            Method::PATCH,
            "",
            Some(json!({"title": "Renamed"})),
        ),
        (
            "qa_moderation",
            Method::PATCH,
            "",
            Some(json!({"settings": {"qa_moderation": true}})),
        ),
        (
            "show_digest",
            Method::PATCH,
            "",
            Some(json!({"settings": {"show_digest": false}})),
        ),
        ("hide author", Method::POST, "/qa/{item}/hide-author", None),
        ("results", Method::GET, "/results", None),
        ("csv", Method::GET, "/export.csv", None),
        ("report", Method::GET, "/report.html", None),
        ("deck", Method::GET, "/deck.toml", None),
        ("journal", Method::GET, "/journal", None),
        ("links", Method::GET, "/links", None),
        ("delete session", Method::DELETE, "", None),
    ]
}

fn http_allowed(role: &str, action: &str) -> bool {
    match role {
        // The journal holds the moderator token.
        "cohost" => !matches!(action, "links" | "delete session" | "journal"),
        "presenter" => matches!(action, "open" | "close" | "reveal" | "hide" | "present"),
        "qa_moderator" => matches!(action, "qa_moderation" | "hide author"),
        "interpreter" => false,
        "results" => matches!(action, "results" | "csv" | "report"),
        _ => unreachable!(),
    }
}

#[tokio::test]
async fn every_role_does_over_http_what_its_scope_allows_and_nothing_else() {
    let app = spawn_app();
    let (s, q1, q2) = panel(&app).await;
    let (mut phone, _) = app.join(&s.code, "audience", None).await;
    for role in ROLES {
        let token = token_of(&app, &s, role).await;
        let item = asked(&app, &s, &mut phone, true).await;
        for (name, method, path, body) in http_actions() {
            let new = spare(&app, &s, name).await;
            let fill = |t: &str| {
                t.replace("{q1}", &q1)
                    .replace("{q2}", &q2)
                    .replace("{new}", &new)
                    .replace("{item}", &item)
            };
            let path = format!("/api/sessions/{}{}", s.code, fill(path));
            let body = body.map(|b| serde_json::from_str(&fill(&b.to_string())).unwrap());
            let (status, v) = call(&app, method, &path, &token, body).await;
            if http_allowed(role, name) {
                assert!(status.is_success(), "{role} {name}: {status} {v}");
            } else {
                assert_eq!(
                    (status, v["error"]["code"].as_str()),
                    (StatusCode::FORBIDDEN, Some("forbidden")),
                    "{role} {name}: {v}"
                );
            }
        }
        // The public view, or the staff's for the scopes that see the polls.
        let (_, view) = app.session_view(&s.code, Some(&token)).await;
        let drafts = view["questions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|q| q["id"] == q2);
        assert_eq!(drafts, matches!(role, "cohost" | "presenter"), "{role}");
        // The Q&A pages: pending items for those who moderate them.
        asked(&app, &s, &mut phone, false).await;
        let (status, page) = app.qa_page(&s.code, Some(&token), "").await;
        assert_eq!(status, StatusCode::OK);
        let pending = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["status"] == "pending");
        assert_eq!(pending, matches!(role, "cohost" | "qa_moderator"), "{role}");
    }
    // Only the owner deletes the session.
    assert_eq!(
        app.delete_session(&s.code, Some(&s.token)).await.0,
        StatusCode::NO_CONTENT
    );
}

/// Every staff socket message, as (name, message); the placeholders as in
/// `http_actions`.
fn ws_actions() -> Vec<(&'static str, Value)> {
    vec![
        (
            "add",
            json!({"type": "add_question", "question": single("More?", &["Y", "N"])}),
        ),
        (
            "edit",
            json!({"type": "update_question", "question_id": "{q2}", "question": single("Draft again", &["C", "D"])}),
        ),
        (
            "move",
            json!({"type": "move_question", "question_id": "{q2}", "index": 0}),
        ),
        ("open", json!({"type": "open", "question_id": "{q1}"})),
        ("close", json!({"type": "close", "question_id": "{q1}"})),
        ("reveal", json!({"type": "reveal", "question_id": "{q1}"})),
        ("hide", json!({"type": "hide", "question_id": "{q1}"})),
        ("reset", json!({"type": "reset", "question_id": "{q1}"})),
        (
            "delete question",
            json!({"type": "delete_question", "question_id": "{new}"}),
        ),
        ("present", json!({"type": "present", "question_id": "{q1}"})),
        (
            "qa_moderation",
            json!({"type": "settings", "qa_moderation": true}),
        ),
        (
            "show_digest",
            json!({"type": "settings", "show_digest": false}),
        ),
        (
            "qa_status",
            json!({"type": "qa_status", "item_id": "{item}", "status": "approved"}),
        ),
        (
            "translate",
            json!({"type": "qa_translate", "item_id": "{item}", "text": "Et le budget ?", "lang": "fr"}),
        ),
        (
            "hide author",
            json!({"type": "qa_hide_author", "item_id": "{item}"}),
        ),
        (
            "vote",
            json!({"type": "vote", "question_id": "{q1}", "choice": 0}),
        ),
    ]
}

fn ws_allowed(role: &str, action: &str) -> bool {
    match role {
        "cohost" => action != "vote",
        "presenter" => matches!(action, "open" | "close" | "reveal" | "hide" | "present"),
        "qa_moderator" => matches!(action, "qa_moderation" | "qa_status" | "hide author"),
        "interpreter" => action == "translate",
        _ => unreachable!(),
    }
}

#[tokio::test]
async fn every_role_does_over_the_socket_what_its_scope_allows_and_nothing_else() {
    let app = spawn_app();
    let (s, q1, q2) = panel(&app).await;
    let (mut phone, _) = app.join(&s.code, "audience", None).await;
    let (_, owner) = app.join(&s.code, "moderator", Some(&s.token)).await;
    assert_eq!(owner["scope"], "moderator");
    for role in ["cohost", "presenter", "qa_moderator", "interpreter"] {
        let token = token_of(&app, &s, role).await;
        let pending = asked(&app, &s, &mut phone, false).await;
        let (mut ws, welcome) = app.join(&s.code, "moderator", Some(&token)).await;
        assert_eq!(welcome["role"], "moderator");
        assert_eq!(welcome["scope"], role);
        assert_eq!(welcome.get("lang").is_some(), role == "interpreter");
        // The welcome shows what the role may see, and no more.
        let has = |list: &str, id: &str| {
            welcome["session"][list]
                .as_array()
                .unwrap()
                .iter()
                .any(|x| x["id"] == id)
        };
        assert_eq!(
            has("questions", &q2),
            matches!(role, "cohost" | "presenter"),
            "{role}: drafts"
        );
        assert_eq!(
            has("qa", &pending),
            matches!(role, "cohost" | "qa_moderator"),
            "{role}: pending"
        );
        // The item the messages act on: approved, so translatable.
        let item = asked(&app, &s, &mut phone, true).await;
        for (name, msg) in ws_actions() {
            let new = spare(&app, &s, name).await;
            let text = msg
                .to_string()
                .replace("{q1}", &q1)
                .replace("{q2}", &q2)
                .replace("{new}", &new)
                .replace("{item}", &item);
            let answer = ws.call(serde_json::from_str(&text).unwrap()).await;
            if ws_allowed(role, name) {
                assert_eq!(answer["type"], "ack", "{role} {name}: {answer}");
            } else {
                assert_eq!(
                    (answer["type"].as_str(), answer["code"].as_str()),
                    (Some("error"), Some("forbidden")),
                    "{role} {name}: {answer}"
                );
            }
        }
        // Refused messages keep the connection: one more allowed call works.
        let again = match role {
            "interpreter" => json!({"type": "qa_translate", "item_id": item, "text": "Budget ?"}),
            "qa_moderator" | "cohost" => json!({"type": "settings", "qa_moderation": true}),
            _ => json!({"type": "present", "question_id": null}),
        };
        let answer = ws.call(again).await;
        assert_eq!(answer["type"], "ack", "{role}: {answer}");
    }
}

#[tokio::test]
async fn a_results_link_reads_results_but_opens_no_socket() {
    let app = spawn_app();
    let (s, _, _) = panel(&app).await;
    let token = token_of(&app, &s, "results").await;
    let (status, results) = app.results_as(&s.code, Some(&token)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(results["questions"].as_array().unwrap().len(), 2);
    assert_eq!(
        app.export_csv(&s.code, Some(&token)).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.report_html(&s.code, Some(&token)).await.status(),
        StatusCode::OK
    );
    let mut ws = app.ws(&s.code).await;
    ws.hello("moderator", Some(&token)).await;
    let refusal = ws.recv_type("error").await;
    assert_eq!(refusal["code"], "forbidden");
    assert_eq!(ws.closed().await, Some(4403));
}

#[tokio::test]
async fn revoking_a_link_closes_its_sockets_at_once_and_its_token_stops_working() {
    let app = spawn_app();
    let (s, q1, _) = panel(&app).await;
    let link = mint(&app, &s, json!({"role": "presenter"})).await;
    let token = link["token"].as_str().unwrap();
    let other = token_of(&app, &s, "presenter").await;
    let (mut ws, _) = app.join(&s.code, "moderator", Some(token)).await;
    let (mut kept, _) = app.join(&s.code, "moderator", Some(&other)).await;
    assert_eq!(ws.act("close", &q1).await["type"], "ack");
    let path = format!(
        "/api/sessions/{}/links/{}",
        s.code,
        link["id"].as_str().unwrap()
    );
    assert_eq!(
        call(&app, Method::DELETE, &path, &s.token, None).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(ws.closed().await, Some(4401));
    // The token works nowhere any more; the other link still does.
    assert_error(
        app.question_action_as(&s.code, &q1, "open", Some(token), None)
            .await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
    let mut again = app.ws(&s.code).await;
    again.hello("moderator", Some(token)).await;
    assert_eq!(again.recv_type("error").await["code"], "unauthorized");
    assert_eq!(again.closed().await, Some(4401));
    assert_eq!(kept.act("open", &q1).await["type"], "ack");
}

#[tokio::test]
async fn an_interpreters_translation_reaches_every_view_of_the_item() {
    let app = spawn_app();
    let (s, _, _) = panel(&app).await;
    let (mut phone, _) = app.join(&s.code, "audience", None).await;
    let (mut projector, _) = app.join(&s.code, "projector", None).await;
    let pending = asked(&app, &s, &mut phone, false).await;
    let token = token_of(&app, &s, "interpreter").await;
    let (mut booth, welcome) = app.join(&s.code, "moderator", Some(&token)).await;
    assert_eq!(welcome["lang"], "fr");
    // A pending item is not the interpreter's to see, nor to translate.
    let answer = booth
        .call(json!({"type": "qa_translate", "item_id": pending, "text": "Et le budget ?"}))
        .await;
    assert_eq!(answer["code"], "not_found", "{answer}");
    let item = asked(&app, &s, &mut phone, true).await;
    let wrong_lang = booth
        .call(json!({"type": "qa_translate", "item_id": item, "text": "¿Y?", "lang": "es"}))
        .await;
    assert_eq!(wrong_lang["code"], "forbidden");
    let empty = booth
        .call(json!({"type": "qa_translate", "item_id": item, "text": "  "}))
        .await;
    assert_eq!(empty["code"], "bad_request");
    let long = booth
        .call(json!({"type": "qa_translate", "item_id": item, "text": "x".repeat(501)}))
        .await;
    assert_eq!(long["code"], "too_large");
    let ok = booth
        .call(json!({"type": "qa_translate", "item_id": item, "text": " Et le budget ? "}))
        .await;
    assert_eq!(ok["type"], "ack", "{ok}");
    for ws in [&mut phone, &mut projector] {
        let seen = ws
            .recv_until("the translation", |v| {
                v["type"] == "qa_item"
                    && v["item"]["id"] == item
                    && v["item"].get("translations").is_some()
            })
            .await;
        assert_eq!(
            seen["item"]["translations"],
            json!({"fr": "Et le budget ?"})
        );
        assert!(seen["item"]["text"]
            .as_str()
            .unwrap()
            .starts_with("What about the budget"));
    }
    // A late phone gets it in its welcome and in the pages.
    let (_, w) = app.join(&s.code, "audience", None).await;
    let late = w["session"]["qa"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == item)
        .unwrap()
        .clone();
    assert_eq!(late["translations"]["fr"], "Et le budget ?");
    let (_, page) = app.qa_page(&s.code, None, "").await;
    assert_eq!(page["items"][0]["translations"]["fr"], "Et le budget ?");
    // The moderator may translate too, naming the language.
    let (mut owner, _) = app.join(&s.code, "moderator", Some(&s.token)).await;
    let no_lang = owner
        .call(json!({"type": "qa_translate", "item_id": item, "text": "¿Y?"}))
        .await;
    assert_eq!(no_lang["code"], "bad_request");
    let es = owner
        .call(json!({"type": "qa_translate", "item_id": item, "text": "¿Y el presupuesto?", "lang": "es"}))
        .await;
    assert_eq!(es["type"], "ack");
    let results = app.results(&s).await;
    let r = results["qa"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == item)
        .unwrap()
        .clone();
    assert_eq!(
        r["translations"],
        json!({"es": "¿Y el presupuesto?", "fr": "Et le budget ?"})
    );
}
