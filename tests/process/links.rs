//! Links and translations across a process's end: a link made before a
//! kill -9 still opens the console after the restart, a revoked one stays
//! revoked, and an interpreter's translation is still there.

use crate::support::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

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

#[tokio::test]
async fn links_and_translations_survive_a_restart_and_revoked_links_stay_revoked() {
    let dir = temp_dir();
    let mut app = spawn_durable(&dir, &[]);
    let (s, qid) = app.session_with_open_question(&["Yes", "No"]).await;
    let links = format!("/api/sessions/{}/links", s.code);
    let mint = |role: &'static str, lang: Option<&'static str>| {
        let (app, links, token) = (&app, links.clone(), s.token.clone());
        async move {
            let (status, v) = call(
                app,
                Method::POST,
                &links,
                &token,
                Some(json!({"role": role, "lang": lang})),
            )
            .await;
            assert_eq!(status, StatusCode::CREATED, "{v}");
            v
        }
    };
    let presenter = mint("presenter", None).await;
    let revoked = mint("cohost", None).await;
    let interpreter = mint("interpreter", Some("fr")).await;
    let (mut phone, _) = app.join(&s.code, "audience", None).await;
    assert_eq!(
        phone
            .call(json!({"type": "ask", "text": "Who pays?"}))
            .await["type"],
        "ack"
    );
    let item = phone.recv_type("qa_item").await["item"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (mut booth, _) = app
        .join(&s.code, "moderator", interpreter["token"].as_str())
        .await;
    let ack = booth
        .call(json!({"type": "qa_translate", "item_id": item, "text": "Qui paie ?"}))
        .await;
    assert_eq!(ack["type"], "ack", "{ack}");
    let gone = format!("{links}/{}", revoked["id"].as_str().unwrap());
    assert_eq!(
        call(&app, Method::DELETE, &gone, &s.token, None).await.0,
        StatusCode::NO_CONTENT
    );
    app.kill9();

    let app = spawn_durable(&dir, &[]);
    let (status, list) = call(&app, Method::GET, &links, &s.token, None).await;
    assert_eq!(status, StatusCode::OK);
    let ids: Vec<&Value> = list["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| &l["id"])
        .collect();
    assert_eq!(ids, vec![&presenter["id"], &interpreter["id"]]);
    assert_eq!(list["links"][1]["lang"], "fr");
    // The presenter's token still runs the polls, and only them.
    let token = presenter["token"].as_str().unwrap();
    let (status, v) = app
        .question_action_as(&s.code, &qid, "close", Some(token), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_error(
        app.add_question_as(&s.code, Some(token), single("New?", &["a", "b"]))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    let (_, w) = app.join(&s.code, "moderator", Some(token)).await;
    assert_eq!(w["scope"], "presenter");
    // The revoked token works nowhere.
    let old = revoked["token"].as_str().unwrap();
    assert_error(
        app.question_action_as(&s.code, &qid, "open", Some(old), None)
            .await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
    // The translation is still on the item.
    let (_, page) = app.qa_page(&s.code, None, "").await;
    assert_eq!(
        page["items"][0]["translations"],
        json!({"fr": "Qui paie ?"})
    );
}
