//! Results, CSV and the report, downloadable by the moderator at any moment.

use crate::support::*;
use reqwest::StatusCode;
use serde_json::json;

async fn get_text(resp: reqwest::Response) -> (StatusCode, String, String) {
    let status = resp.status();
    let ctype = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, ctype, resp.text().await.unwrap())
}

#[tokio::test]
async fn the_csv_parses_back_to_the_same_counts() {
    let app = spawn_app();
    let s = app
        .create_session(json!({"title": "Panel, \"2018\"", "questions": [
            {"kind": "single", "prompt": "Best approach, honestly?", "options": ["Peer-to-peer", "=SUM(A1)", "Études \"terrain\""]},
            {"kind": "scale", "prompt": "Ready?", "min": 1, "max": 3},
            {"kind": "wordcloud", "prompt": "One word", "max_words": 2}
        ]}))
        .await;
    let (mut moderator, w) = app.join(&s.code, "moderator", Some(&s.token)).await;
    let ids: Vec<String> = (0..3)
        .map(|i| {
            w["session"]["questions"][i]["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    for id in &ids {
        moderator.act("open", id).await;
    }
    let votes = [
        (0, 2, ["Trust", "Ownership"]),
        (2, 3, ["trust", "time"]),
        (2, 3, ["trust ", "time"]),
    ];
    for (single, scale, words) in votes {
        let (mut phone, _) = app.join(&s.code, "audience", None).await;
        phone.vote(&ids[0], json!(single)).await;
        phone.vote(&ids[1], json!(scale)).await;
        phone.vote(&ids[2], json!(words)).await;
    }
    let (status, ctype, body) = get_text(app.export_csv(&s.code, Some(&s.token)).await).await;
    assert_eq!(status, StatusCode::OK);
    assert!(ctype.starts_with("text/csv"), "{ctype}");
    assert!(body.starts_with('\u{feff}'), "UTF-8 with a byte-order mark");
    let mut reader = csv::Reader::from_reader(body.trim_start_matches('\u{feff}').as_bytes());
    let headers = reader.headers().unwrap().clone();
    assert_eq!(&headers[0], "question");
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    let count = |q: &str, label: &str| -> String {
        rows.iter()
            .find(|r| &r[0] == q && &r[7] == label)
            .map(|r| r[8].to_owned())
            .unwrap_or_else(|| panic!("no row {q} {label}: {rows:?}"))
    };
    assert_eq!(count("1", "Peer-to-peer"), "1");
    assert_eq!(count("1", "'=SUM(A1)"), "0", "formulas are defused");
    assert_eq!(count("1", "Études \"terrain\""), "2");
    let scale: Vec<String> = rows
        .iter()
        .filter(|r| &r[0] == "2" && &r[6] != "mean")
        .map(|r| r[8].to_owned())
        .collect();
    assert_eq!(scale, ["0", "1", "2"]);
    let mean = rows
        .iter()
        .find(|r| &r[0] == "2" && &r[6] == "mean")
        .unwrap();
    assert_eq!(&mean[8], "2.67");
    assert_eq!(
        count("3", "trust"),
        "3",
        "words counted under their normalised form, shown in the most frequent spelling"
    );
    assert_eq!(count("3", "time"), "2");
    let pct = rows
        .iter()
        .find(|r| &r[0] == "1" && &r[7] == "Peer-to-peer")
        .unwrap();
    assert_eq!(&pct[9], "33.3");
}

#[tokio::test]
async fn the_report_has_every_question_and_escapes_a_hostile_title() {
    let app = spawn_app();
    let hostile = "<script>alert(1)</script><img src=x onerror=alert(2)>";
    let s = app
        .create_session(json!({"title": hostile, "questions": [
            single("First <b>question</b>", &["Yes", "No"]),
            {"kind": "ranking", "prompt": "Rank them", "options": ["Ownership", "Trust", "Funding"]},
            {"kind": "open", "prompt": "Anything else?"}
        ]}))
        .await;
    let (mut moderator, w) = app.join(&s.code, "moderator", Some(&s.token)).await;
    let open_q = w["session"]["questions"][2]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    moderator.act("open", &open_q).await;
    let (mut phone, _) = app.join(&s.code, "audience", None).await;
    phone.vote(&open_q, json!("<svg onload=alert(3)>")).await;
    let digest = app.results(&s).await["session"]["digest"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, ctype, html) = get_text(app.report_html(&s.code, Some(&s.token)).await).await;
    assert_eq!(status, StatusCode::OK);
    assert!(ctype.starts_with("text/html"));
    for needle in [
        "First &lt;b&gt;question&lt;/b&gt;",
        "Rank them",
        "Anything else?",
        "&lt;svg onload=alert(3)&gt;",
    ] {
        assert!(html.contains(needle), "missing {needle}");
    }
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!html.contains("<script"), "no script at all in the report");
    assert!(!html.contains("<img"));
    assert!(html.contains("<svg"), "charts are inline SVG");
    assert_eq!(digest.len(), 64);
    assert!(
        !html.contains("http://") || html.contains("xmlns=\"http://www.w3.org/2000/svg\""),
        "nothing external"
    );

    // Moderator only.
    let (status, _, _) = get_text(app.report_html(&s.code, Some("wrong")).await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let status = app.export_csv(&s.code, None).await.status();
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// Numbers stay numbers: a scale from -2 to 2 keeps its negative values and
/// mean; a prompt or label that starts like a formula is still defused.
#[tokio::test]
async fn the_csv_keeps_negative_numbers_and_defuses_text() {
    let app = spawn_app();
    let s = app
        .create_session(json!({"title": "Mood", "questions": [
            {"kind": "scale", "prompt": "-How was the day?", "min": -2, "max": 2,
             "min_label": "-awful", "max_label": "+great"}
        ]}))
        .await;
    let (mut moderator, w) = app.join(&s.code, "moderator", Some(&s.token)).await;
    let id = w["session"]["questions"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    moderator.act("open", &id).await;
    for value in [-2, -2, -1] {
        let (mut phone, _) = app.join(&s.code, "audience", None).await;
        phone.vote(&id, json!(value)).await;
    }
    let (status, _, body) = get_text(app.export_csv(&s.code, Some(&s.token)).await).await;
    assert_eq!(status, StatusCode::OK);
    let mut reader = csv::Reader::from_reader(body.trim_start_matches('\u{feff}').as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    let items: Vec<(&str, &str, &str)> = rows.iter().map(|r| (&r[6], &r[7], &r[8])).collect();
    assert_eq!(
        items,
        [
            ("-2", "'-awful", "2"),
            ("-1", "", "1"),
            ("0", "", "0"),
            ("1", "", "0"),
            ("2", "'+great", "0"),
            ("mean", "", "-1.67"),
        ],
        "scale values and the mean are numbers; labels are defused text"
    );
    assert!(
        rows.iter().all(|r| &r[3] == "'-How was the day?"),
        "the prompt is defused"
    );
    assert!(rows.iter().all(|r| &r[5] == "3"), "voters");
}

#[tokio::test]
async fn the_moderator_downloads_the_session_journal_and_it_verifies_alone() {
    let dir = temp_dir();
    let app = spawn_app_durable(&dir);
    let (s, qid) = app.session_with_open_question(&["Peer", "Training"]).await;
    // Another session's records share the segments but not the download.
    let (other, other_q) = app.session_with_open_question(&["X", "Y"]).await;
    let mut phone_token = String::new();
    for c in [0, 1, 1] {
        let (mut phone, w) = app.join(&s.code, "audience", None).await;
        assert_eq!(phone.vote(&qid, json!(c)).await["type"], "ack");
        let (mut elsewhere, _) = app.join(&other.code, "audience", None).await;
        assert_eq!(elsewhere.vote(&other_q, json!(0)).await["type"], "ack");
        phone_token = w["participant_token"].as_str().unwrap().to_owned();
    }
    let digest = app.results(&s).await["session"]["digest"]
        .as_str()
        .unwrap()
        .to_owned();

    let resp = app.journal(&s.code, Some(&s.token)).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    assert_eq!(header("content-type"), "application/octet-stream");
    assert_eq!(
        header("content-disposition"),
        format!("attachment; filename=\"handsup-{}.journal\"", s.code)
    );
    let bytes = resp.bytes().await.unwrap();
    let file = dir.join("download.journal");
    std::fs::write(&file, &bytes).unwrap();

    let v = handsup::store::journal::verify(&file).unwrap();
    assert!(
        v.sound,
        "{:?} {:?}",
        v.replay.problems, v.replay.broken_links
    );
    let codes: Vec<&String> = v.replay.sessions.keys().collect();
    assert_eq!(codes, [&s.code], "only this session's records");
    let restored = &v.replay.sessions[&s.code];
    assert_eq!(handsup::store::journal::hex(&restored.chain), digest);
    assert_eq!(restored.session.participants().len(), 3);

    let (status, _, body) = get_text(app.journal(&s.code, None).await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(body.contains("\"unauthorized\""), "{body}");
    let (status, _, body) = get_text(app.journal(&s.code, Some(&phone_token)).await).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, _, body) = get_text(app.journal(&s.code, Some(&other.token)).await).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "another session's token: {body}"
    );
}

#[tokio::test]
async fn in_memory_there_is_no_journal_to_download() {
    let app = spawn_app();
    let (s, _) = app.session_with_open_question(&["A", "B"]).await;
    let (status, _, body) = get_text(app.journal(&s.code, Some(&s.token)).await).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["error"]["code"], "not_found");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("in memory"),
        "{body}"
    );
    // Still the moderator's route: without the token, 401 first.
    let (status, _, _) = get_text(app.journal(&s.code, None).await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
