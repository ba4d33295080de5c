//! `handsup verify PATH`: checks a journal offline (a data directory, or a
//! session's records as downloaded) and prints the report.

use std::path::Path;

use serde_json::Value;

use crate::store::journal;

pub fn verify(path: &Path) -> std::process::ExitCode {
    if !path.exists() {
        eprintln!("handsup verify: {} does not exist", path.display());
        return std::process::ExitCode::from(2);
    }
    match report(path) {
        Ok((report, sound)) => {
            print!("{report}");
            if sound {
                std::process::ExitCode::SUCCESS
            } else {
                std::process::ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("handsup verify: {e}");
            std::process::ExitCode::from(2)
        }
    }
}

/// The report on the journal at `path`: each session's digest and
/// recounted tallies, the problems found; and whether the journal is sound.
pub fn report(path: &Path) -> std::io::Result<(String, bool)> {
    use std::fmt::Write as _;
    let v = journal::verify(path)?;
    let r = &v.replay;
    let mut out = String::new();
    let _ = writeln!(out, "{} records, {} sessions", r.records, r.sessions.len());
    for (code, restored) in &r.sessions {
        let s = &restored.session;
        let _ = writeln!(
            out,
            "\nsession {code}  {}\n  digest {}",
            s.title,
            journal::hex(&restored.chain)
        );
        let recounts = v.recounts.get(code).map(Vec::as_slice).unwrap_or_default();
        for (q, (fresh, agrees)) in s.questions().iter().zip(recounts) {
            let _ = writeln!(
                out,
                "  [{}] {} ({}): {}{}",
                q.state.as_str(),
                q.spec.prompt,
                q.spec.kind.name().as_str(),
                recounted(q, fresh),
                if *agrees {
                    ""
                } else {
                    "  MISMATCH: the running tally differs from the ballots"
                }
            );
        }
    }
    for n in &r.notes {
        let _ = writeln!(out, "\nnote: {n}");
    }
    for p in r.problems.iter().chain(&r.broken_links) {
        let _ = writeln!(out, "\nPROBLEM: {p}");
    }
    let _ = writeln!(
        out,
        "\n{}",
        if v.sound {
            "journal sound"
        } else {
            "journal DAMAGED"
        }
    );
    Ok((out, v.sound))
}

/// A question's recounted tally as the reports print it: the tally's JSON
/// without its question id and sequence number.
pub(super) fn recounted(q: &crate::domain::Question, fresh: &crate::domain::Tally) -> Value {
    let mut body =
        serde_json::to_value(crate::protocol::TallyOut::new(q.id, 0, fresh)).unwrap_or_default();
    if let Some(o) = body.as_object_mut() {
        o.remove("question_id");
        o.remove("seq");
    }
    body
}
