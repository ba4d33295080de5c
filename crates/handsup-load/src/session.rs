//! The session under load, through the HTTP API: created with one `single`
//! question (and with `--segment`, a segment question it is broken down
//! by), opened, revealed and presented; its results read at the end.

use serde_json::{json, Value};

use crate::target::Target;

/// The session under load: its code, the moderator token and the question.
pub struct Setup {
    pub code: String,
    pub token: String,
    pub question_id: String,
    /// With `--segment`: the segment question, open.
    pub segment_id: Option<String>,
}

/// Options of the segment question.
pub const GROUPS: usize = 3;

/// The segment option phone `global` (numbered across the run) answers.
pub fn group_of(global: usize) -> u8 {
    (global % GROUPS) as u8
}

/// Creates the session with `options` options, then opens, reveals and
/// presents its question; with `segment`, opens the segment question too
/// and breaks the question down by it.
pub async fn set_up(target: &Target, options: u8, segment: bool) -> Result<Setup, String> {
    let labels: Vec<String> = (0..options)
        .map(|i| format!("Option {}", (b'A' + i) as char))
        .collect();
    let mut questions = vec![json!({"kind": "single", "prompt": "Which one?", "options": labels})];
    if segment {
        questions.push(json!({
            "kind": "single", "prompt": "Which group are you?", "segment": true,
            "options": ["Government", "Civil society", "Private sector"],
        }));
    }
    let mut body = json!({"title": "Load test", "questions": questions});
    if segment {
        // Every group shown, however few answer: the check at the end
        // compares every group.
        body["settings"] = json!({"min_group": 1});
    }
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
    let segment_id = match segment {
        true => Some(
            view["questions"][1]["id"]
                .as_str()
                .ok_or("the session has no segment question")?
                .to_owned(),
        ),
        false => None,
    };
    if let Some(seg) = &segment_id {
        let q = |action: &str| format!("/api/sessions/{code}/questions/{seg}/{action}");
        target
            .expect("POST", &q("open"), Some(&token), Some(&json!({})), 200)
            .await?;
        target
            .expect(
                "POST",
                &format!("/api/sessions/{code}/questions/{question_id}/breakdown"),
                Some(&token),
                Some(&json!({ "by": seg })),
                200,
            )
            .await?;
    }
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
        segment_id,
    })
}

/// The server's counts of the question, as `results` gives them, and its
/// counts by group (with a segment question): each group's counts, or
/// None for a group suppressed.
pub async fn server_counts(target: &Target, s: &Setup) -> Result<ServerCounts, String> {
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
    let groups = s
        .segment_id
        .as_ref()
        .map(|seg| groups_of(&tally["groups_by"][seg]));
    Ok((counts, tally["voters"].as_u64().unwrap_or(u64::MAX), groups))
}

/// The results' counts, voters and groups.
pub type ServerCounts = (Vec<u64>, u64, Option<Vec<Option<Vec<u64>>>>);

/// The counts of each group of a tally's `groups` (None: suppressed).
pub fn groups_of(groups: &Value) -> Vec<Option<Vec<u64>>> {
    groups
        .as_array()
        .map(|gs| {
            gs.iter()
                .map(|g| {
                    g["counts"]
                        .as_array()
                        .map(|c| c.iter().map(|n| n.as_u64().unwrap_or(u64::MAX)).collect())
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The counts of each group the acked ballots make (`ballots[i]`: phone
/// `first + i`'s latest acked choice, or `NO_BALLOT`).
pub fn expected_groups(
    ballots: impl Iterator<Item = u8>,
    first: usize,
    options: u8,
) -> Vec<Option<Vec<u64>>> {
    let mut out = vec![vec![0u64; options as usize]; GROUPS];
    for (i, b) in ballots.enumerate() {
        if let Some(n) = out[group_of(first + i) as usize].get_mut(b as usize) {
            *n += 1;
        }
    }
    out.into_iter().map(Some).collect()
}
