//! The session under load, through the HTTP API: created with one `single`
//! question, opened, revealed and presented; its results read at the end.

use serde_json::{json, Value};

use crate::target::Target;

/// The session under load: its code, the moderator token and the question.
pub struct Setup {
    pub code: String,
    pub token: String,
    pub question_id: String,
}

/// Creates the session with `options` options, then opens, reveals and
/// presents its question.
pub async fn set_up(target: &Target, options: u8) -> Result<Setup, String> {
    let labels: Vec<String> = (0..options)
        .map(|i| format!("Option {}", (b'A' + i) as char))
        .collect();
    let body = json!({
        "title": "Load test",
        "questions": [{"kind": "single", "prompt": "Which one?", "options": labels}],
    });
    let created = target
        .expect("POST", "/api/sessions", None, Some(&body), 201)
        .await?;
    let code = created["code"]
        .as_str()
        .ok_or("no code in the answer")?
        .to_owned();
    let token = created["moderator_token"]
        .as_str()
        .ok_or("no moderator_token in the answer")?
        .to_owned();
    let view = target
        .expect(
            "GET",
            &format!("/api/sessions/{code}"),
            Some(&token),
            None,
            200,
        )
        .await?;
    let question_id = view["questions"][0]["id"]
        .as_str()
        .ok_or("the session has no question")?
        .to_owned();
    for action in ["open", "reveal"] {
        target
            .expect(
                "POST",
                &format!("/api/sessions/{code}/questions/{question_id}/{action}"),
                Some(&token),
                Some(&json!({})),
                200,
            )
            .await?;
    }
    target
        .expect(
            "POST",
            &format!("/api/sessions/{code}/present"),
            Some(&token),
            Some(&json!({ "question_id": question_id })),
            200,
        )
        .await?;
    Ok(Setup {
        code,
        token,
        question_id,
    })
}

/// The server's counts of the question, as `results` gives them.
pub async fn server_counts(target: &Target, s: &Setup) -> Result<(Vec<u64>, u64), String> {
    let v: Value = target
        .expect(
            "GET",
            &format!("/api/sessions/{}/results", s.code),
            Some(&s.token),
            None,
            200,
        )
        .await?;
    let tally = &v["questions"][0]["tally"];
    let counts = tally["counts"]
        .as_array()
        .ok_or("results carry no counts")?
        .iter()
        .map(|c| c.as_u64().unwrap_or(u64::MAX))
        .collect();
    Ok((counts, tally["voters"].as_u64().unwrap_or(u64::MAX)))
}
