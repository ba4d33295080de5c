//! Results by group: segment questions, breakdowns, and the anonymity floor
//! on every route that shows counts.

use crate::support::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// A suppressed group carries its option and `suppressed`, nothing else.
fn assert_no_counts_in_suppressed(groups: &Value) {
    for g in groups.as_array().expect("groups are a list") {
        if g["suppressed"] == true {
            let keys: Vec<&String> = g.as_object().unwrap().keys().collect();
            assert_eq!(keys.len(), 2, "a suppressed group leaks: {g}");
        }
    }
}

fn voters(groups: &Value) -> Vec<Option<u64>> {
    groups
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["voters"].as_u64())
        .collect()
}

/// A forum's room: 6 from governments, 7 from civil society and 2 from the
/// private sector answer the segment, a yes/no question and a scale.
async fn forum(app: &TestApp) -> (Session, Ws, Vec<String>, Vec<Ws>) {
    let s = app
        .create_session(
            json!({"title": "Forum", "settings": {"public_summary": true}, "questions": [
                {"kind": "single", "prompt": "Which group are you?", "segment": true,
                 "options": ["Government", "Civil society", "Private sector"]},
                {"kind": "single", "prompt": "Support the text?", "options": ["Yes", "No"]},
                {"kind": "scale", "prompt": "How urgent?", "min": 1, "max": 5}
            ]}),
        )
        .await;
    let (mut moderator, w) = app.join(&s.code, "moderator", Some(&s.token)).await;
    let ids: Vec<String> = (0..3).map(|i| s.qid(&w["session"], i)).collect();
    assert_eq!(w["session"]["questions"][0]["segment"], true);
    assert_eq!(w["session"]["questions"][1]["by"], Value::Null);
    for id in &ids {
        assert_eq!(moderator.act("open", id).await["type"], "ack");
    }
    let mut phones = Vec::new();
    for (group, n, yes, urgency) in [(0, 6, 0, 5), (1, 7, 1, 1), (2, 2, 0, 3)] {
        for _ in 0..n {
            let (mut phone, _) = app.join(&s.code, "audience", None).await;
            assert_eq!(phone.vote(&ids[0], json!(group)).await["type"], "ack");
            assert_eq!(phone.vote(&ids[1], json!(yes)).await["type"], "ack");
            assert_eq!(phone.vote(&ids[2], json!(urgency)).await["type"], "ack");
            phones.push(phone);
        }
    }
    (s, moderator, ids, phones)
}

#[tokio::test]
async fn no_route_shows_a_group_under_the_floor_not_even_by_subtraction() {
    let app = spawn_app();
    let (s, mut moderator, ids, mut phones) = forum(&app).await;
    let (seg, q) = (&ids[0], &ids[1]);

    // The moderator sees every breakdown, whatever the projector shows.
    let t = moderator
        .tally_where(q, |t| t["voters"] == 15 && !t["groups_by"][seg].is_null())
        .await;
    let groups = &t["groups_by"][seg];
    assert_no_counts_in_suppressed(groups);
    // Private sector (2) is under the floor of 5; alone it would be found by
    // subtracting the others from the totals, so the smallest group shown
    // (Government, 6) goes too.
    assert_eq!(voters(groups), [None, Some(7), None]);
    assert_eq!(groups[1]["counts"], json!([0, 7]));
    // The totals less the groups shown leave 8 voters, never fewer than 5.
    let shown: u64 = voters(groups).iter().flatten().sum();
    assert!(t["voters"].as_u64().unwrap() - shown >= 5);
    assert!(t["groups"].is_null(), "no breakdown chosen yet");

    // The moderator puts the breakdown on the projector and reveals it.
    let ack = moderator
        .call(json!({"type": "breakdown", "question_id": q, "by": seg}))
        .await;
    assert_eq!(ack["type"], "ack", "{ack}");
    let view = moderator
        .recv_until("the question with its breakdown", |v| {
            v["type"] == "question" && v["question"]["id"] == q.as_str()
        })
        .await;
    assert_eq!(view["question"]["by"], seg.as_str());
    assert_eq!(moderator.act("reveal", q).await["type"], "ack");

    let (mut projector, _) = app.join(&s.code, "projector", None).await;
    let tally = projector.tally_where(q, |t| !t["groups"].is_null()).await;
    assert_eq!(voters(&tally["groups"]), [None, Some(7), None]);
    assert!(
        tally["groups_by"].is_null(),
        "the projector sees the chosen one only"
    );
    assert_no_counts_in_suppressed(&tally["groups"]);

    // A phone sees it after the reveal, and a new segment answer moves every
    // ballot of its participant at once.
    let phone = &mut phones[14];
    let t = phone.tally_where(q, |t| !t["groups"].is_null()).await;
    assert_eq!(voters(&t["groups"]), [None, Some(7), None]);
    assert!(t["groups_by"].is_null());
    let r = app
        .patch_session(
            &s.code,
            Some(&s.token),
            json!({"settings": {"min_group": 1}}),
        )
        .await;
    assert_eq!(r.0, StatusCode::OK, "{:?}", r.1);
    assert_eq!(r.1["settings"]["min_group"], 1);
    assert_eq!(phone.vote(seg, json!(1)).await["type"], "ack");
    let t = projector
        .tally_where(q, |t| voters(&t["groups"]) == [Some(6), Some(8), Some(1)])
        .await;
    assert_eq!(t["groups"][1]["counts"], json!([1, 7]));
    assert_eq!(t["groups"][2]["counts"], json!([1, 0]));
    let r = app
        .patch_session(
            &s.code,
            Some(&s.token),
            json!({"settings": {"min_group": 5}}),
        )
        .await;
    assert_eq!(r.0, StatusCode::OK);

    // Results: every breakdown of every question, the floor applied.
    let results = app
        .results_until(&s, |r| {
            voters(&r["questions"][1]["tally"]["groups_by"][seg]) == [None, Some(8), None]
        })
        .await;
    for i in 0..3 {
        let by = &results["questions"][i]["tally"]["groups_by"];
        if i == 0 {
            assert!(by.is_null(), "a segment is not broken down by itself");
            continue;
        }
        assert_no_counts_in_suppressed(&by[seg]);
    }
    // The private sector's one voter, and so Government too, stay hidden.
    let scale = &results["questions"][2]["tally"]["groups_by"][seg];
    assert_eq!(voters(scale), [None, Some(8), None]);
    assert_eq!(scale[1]["mean"], json!((7.0 + 3.0) / 8.0));

    // The CSV: the suppressed group is one row with no number at all.
    let csv = app
        .export_csv(&s.code, Some(&s.token))
        .await
        .text()
        .await
        .unwrap();
    let mut reader = csv::Reader::from_reader(csv.trim_start_matches('\u{feff}').as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    let of = |question: &str, group: &str| -> Vec<&csv::StringRecord> {
        rows.iter()
            .filter(|r| &r[0] == question && &r[11] == "1" && &r[12] == group)
            .collect()
    };
    let private = of("2", "Private sector");
    assert_eq!(private.len(), 1);
    assert!(
        private[0][5].is_empty() && private[0][8].is_empty(),
        "{:?}",
        private[0]
    );
    assert!(private[0][7].starts_with("suppressed"));
    let civil = of("2", "Civil society");
    assert_eq!(civil.len(), 2);
    assert_eq!((&civil[0][5], &civil[0][8], &civil[1][8]), ("8", "1", "7"));

    // The report draws the groups shown and names the others, with no number.
    let report = app
        .report_html(&s.code, Some(&s.token))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        report.contains("Civil society \u{b7} n = 8"),
        "the group's size"
    );
    assert!(!report.contains("n = 6") && !report.contains("n = 1<"));
    assert!(report.contains("Not shown (anonymity floor of 5 voters)."));
    assert!(report
        .contains("nor the next smallest group where the totals would give a smaller one away"));

    // The public summary: the closed, revealed questions only.
    let summary = |app: &TestApp| {
        let url = app.url(&format!("/api/sessions/{}/summary", s.code));
        let http = app.http.clone();
        async move {
            let r = http.get(url).send().await.unwrap();
            (r.status(), r.json::<Value>().await.unwrap())
        }
    };
    let (status, body) = summary(&app).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["questions"], json!([]), "nothing is closed yet");
    assert_eq!(body["segments"], json!([]), "no breakdown to name");
    assert_eq!(moderator.act("close", q).await["type"], "ack");
    let (_, body) = summary(&app).await;
    assert_eq!(body["title"], "Forum");
    let questions = body["questions"].as_array().unwrap();
    assert_eq!(questions.len(), 1);
    assert_eq!(questions[0]["id"], q.as_str());
    assert_eq!(
        voters(&questions[0]["tally"]["groups"]),
        [None, Some(8), None]
    );
    assert!(questions[0]["tally"]["groups_by"].is_null());
    // The segment question the breakdown is by names its groups, though its
    // own results are not published.
    let segments = body["segments"].as_array().unwrap();
    assert_eq!(segments.len(), 1);
    assert_eq!(segments[0]["id"], seg.as_str());
    assert_eq!(segments[0]["options"][1], "Civil society");
    assert!(segments[0]["tally"].is_null());
    let r = app
        .patch_session(
            &s.code,
            Some(&s.token),
            json!({"settings": {"public_summary": false}}),
        )
        .await;
    assert_eq!(r.0, StatusCode::OK);
    let (status, body) = summary(&app).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"]["code"], "forbidden");
}

#[tokio::test]
async fn what_cannot_be_broken_down_is_refused_clearly() {
    let app = spawn_app();
    let s = app
        .create_session(json!({"title": "Forum", "questions": [
            {"kind": "single", "prompt": "Which group are you?", "segment": true, "options": ["A", "B"]},
            {"kind": "single", "prompt": "Yes?", "options": ["Yes", "No"]},
            {"kind": "wordcloud", "prompt": "One word"}
        ]}))
        .await;
    let (mut moderator, w) = app.join(&s.code, "moderator", Some(&s.token)).await;
    let ids: Vec<String> = (0..3).map(|i| s.qid(&w["session"], i)).collect();
    let refused = |v: &Value, code: &str| {
        assert_eq!(v["type"], "error", "{v}");
        assert_eq!(v["code"], code, "{v}");
    };
    // By a question that is not a segment, by itself, a wordcloud.
    let by = |q: &str, by: &str| json!({"type": "breakdown", "question_id": q, "by": by});
    refused(&moderator.call(by(&ids[0], &ids[1])).await, "bad_request");
    refused(&moderator.call(by(&ids[0], &ids[0])).await, "bad_request");
    refused(&moderator.call(by(&ids[2], &ids[0])).await, "bad_request");
    // Only the moderator chooses.
    let (mut phone, _) = app.join(&s.code, "audience", None).await;
    refused(&phone.call(by(&ids[1], &ids[0])).await, "forbidden");
    // Over HTTP: by is required, null ends the breakdown.
    let path = format!("/api/sessions/{}/questions/{}/breakdown", s.code, ids[1]);
    let (status, body) = app
        .json(Method::POST, &path, Some(&s.token), Some(json!({})))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = app
        .json(
            Method::POST,
            &path,
            Some(&s.token),
            Some(json!({"by": ids[0]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["by"], ids[0].as_str());
    let (status, body) = app
        .json(
            Method::POST,
            &path,
            Some(&s.token),
            Some(json!({"by": null})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["by"], Value::Null);
    let (status, _) = app
        .json(Method::POST, &path, None, Some(json!({"by": null})))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // A segment must be a single choice; the floor is from 1.
    let r = app
        .add_question(&s, json!({"kind": "multiple", "prompt": "Groups?", "segment": true, "options": ["A", "B"]}))
        .await;
    assert_eq!(r.0, StatusCode::BAD_REQUEST, "{:?}", r.1);
    for bad in [json!(0), json!(-1), json!("5"), json!(100000)] {
        let r = app
            .patch_session(
                &s.code,
                Some(&s.token),
                json!({"settings": {"min_group": bad}}),
            )
            .await;
        assert_eq!(r.0, StatusCode::BAD_REQUEST, "{bad}: {:?}", r.1);
    }
    let r = app
        .try_create_session(json!({"title": "T", "settings": {"min_group": 0}}), None)
        .await;
    assert_eq!(r.0, StatusCode::BAD_REQUEST);
    // No summary unless the moderator publishes one.
    let r = app
        .http
        .get(app.url(&format!("/api/sessions/{}/summary", s.code)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}
