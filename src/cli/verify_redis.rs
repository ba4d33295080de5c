//! `handsup verify --redis URL CODE`: checks one session held in Redis
//! (cluster mode) offline, with only the Redis connection, and prints the
//! report. The check itself is `store::redis::verify`.

use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::Instant;

use super::verify::recounted;

use crate::domain::Limits;
use crate::store::journal;
use crate::store::redis::verify::{verify as check, Verification};
use crate::store::redis::Redis;

/// Runs the check; exit 0 when sound, 1 when damaged, 2 when it cannot run
/// (Redis out of reach, no such session).
pub async fn verify(url: &str, code: &str) -> ExitCode {
    let cannot = |why: String| {
        eprintln!("handsup verify: {why}");
        ExitCode::from(2)
    };
    if code.is_empty() || code.len() > 32 || !code.chars().all(|c| c.is_ascii_alphanumeric()) {
        return cannot(format!("{code:?} is not a session code"));
    }
    let redis = match Redis::connect(&[url.to_owned()], false, 2, 1) {
        Ok(r) => r,
        Err(e) => return cannot(format!("not a Redis URL: {e}")),
    };
    let started = Instant::now();
    // No admission limits: the nodes may have run with other limits than
    // the defaults, and what they accepted stays accepted.
    match check(&redis, code, &Limits::none()).await {
        Ok(Some(v)) => {
            let ms = started.elapsed().as_millis();
            print!("{}", report(&v, ms));
            if v.sound() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Ok(None) => cannot(format!("Redis holds no session {code}")),
        Err(e) => cannot(format!("cannot read Redis: {}", e.message)),
    }
}

/// The report: the session, its log, its digest, each question's tally
/// recounted from the ballots, the problems found, and the verdict.
pub fn report(v: &Verification, ms: u128) -> String {
    let mut out = String::new();
    let title = v.session.as_ref().map_or("", |s| s.title.as_str());
    let _ = writeln!(out, "session {}  {title}", v.code);
    let mut log = format!("  log: entries {} to {}", v.base + 1, v.last);
    if let Some(at) = v.snapshot {
        let _ = write!(log, ", snapshot at entry {at}");
    }
    let _ = writeln!(
        out,
        "{log}; {} applied, {} refused as every node refuses them; read and checked in {ms} ms",
        v.applied, v.refused
    );
    if let Some(s) = &v.session {
        let _ = writeln!(
            out,
            "  {} participants\n  digest {}",
            s.participants().len(),
            journal::hex(&v.chain)
        );
        for (q, (fresh, ballots, agrees)) in s.questions().iter().zip(&v.recounts) {
            let _ = writeln!(
                out,
                "  [{}] {} ({}, {ballots} ballots): {}{}",
                q.state.as_str(),
                q.spec.prompt,
                q.spec.kind.name().as_str(),
                recounted(q, fresh),
                if *agrees {
                    ""
                } else {
                    "  MISMATCH: the counts in Redis differ from the ballots"
                }
            );
        }
    }
    for p in &v.problems {
        let _ = writeln!(out, "\nPROBLEM: {p}");
    }
    let _ = writeln!(
        out,
        "\nsession {} {}",
        v.code,
        if v.sound() { "sound" } else { "DAMAGED" }
    );
    out
}
