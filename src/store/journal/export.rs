//! One session's records, gathered for download
//! (`GET /api/sessions/{code}/journal`): every sound frame of that session
//! in the data directory's segments, in order, framed as in a segment and
//! byte for byte as on disk, so that the file reads as one segment and
//! `handsup verify FILE` recomputes its chain and tallies offline.
//!
//! A session's history starts at its creation, or at its snapshot when a
//! compaction has deleted the segments before it. Records of an earlier
//! session that had the same code (ended or expired, its code given out
//! again) are left out: a creation or an end of the code starts over.

use std::io;
use std::path::Path;

use super::segments::{encode, read_segment, segments};
use crate::store::records::V1;

/// The records of session `code` found in the segments of `dir`, framed as
/// in a segment. Reads without changing anything; a damaged frame ends the
/// reading of its segment, as replay does.
pub fn session_journal(dir: &Path, code: &str) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    for (_, path) in segments(dir)? {
        let frames = match read_segment(&path) {
            Ok((frames, _damage)) => frames,
            // Deleted by a compaction since it was listed: what it held is
            // in the snapshots of a later segment.
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        for frame in frames {
            // A record that does not read belongs to no session we can name.
            let Ok(record) = V1::parse(&frame.json) else {
                continue;
            };
            if record.code() != Some(code) {
                continue;
            }
            if matches!(record, V1::Created { .. }) {
                out.clear();
            }
            if matches!(record, V1::Ended { .. }) {
                out.clear();
                continue;
            }
            out.extend_from_slice(&encode(&frame.hash, &frame.json));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::fs::{self, OpenOptions};
    use std::io::Write;

    use uuid::Uuid;

    use super::*;
    use crate::domain::Event;
    use crate::store::journal::{chain, hex, verify, Hash};
    use crate::store::records::{self, Record};

    fn created(code: &str, title: &str) -> Record {
        Event::Created {
            id: Uuid::new_v4(),
            code: code.into(),
            title: title.into(),
            token: "t".into(),
            qa_moderation: false,
            at: 1,
        }
        .into()
    }

    fn joined(code: &str) -> Record {
        Event::Joined {
            code: code.into(),
            p: Uuid::new_v4(),
            token: Uuid::new_v4().to_string(),
            at: 2,
        }
        .into()
    }

    /// Appends records to segment `n` of `dir`, each chained to its
    /// session's last link in `chains`.
    fn append(dir: &Path, n: u64, recs: &[Record], chains: &mut Vec<(String, Hash)>) {
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join(format!("journal-{n:08}.log")))
            .unwrap();
        for rec in recs {
            let json = records::encode(rec);
            let code = V1::parse(&json).unwrap().code().unwrap_or("").to_owned();
            let at = match chains.iter().position(|(c, _)| *c == code) {
                Some(i) => i,
                None => {
                    chains.push((code, [0; 32]));
                    chains.len() - 1
                }
            };
            chains[at].1 = chain(&chains[at].1, &json);
            f.write_all(&encode(&chains[at].1, &json)).unwrap();
        }
    }

    #[test]
    fn a_session_is_gathered_alone_across_segments_and_verifies() {
        let dir = std::env::temp_dir().join(format!("handsup-export-{}", Uuid::new_v4()));
        fs::create_dir_all(&dir).unwrap();
        let mut chains = Vec::new();
        // An earlier session that had the same code, ended: not part of it.
        append(
            &dir,
            1,
            &[
                created("111111", "Old"),
                joined("111111"),
                Event::Ended {
                    code: "111111".into(),
                }
                .into(),
            ],
            &mut chains,
        );
        chains.clear();
        append(
            &dir,
            1,
            &[created("111111", "New"), created("222222", "Other")],
            &mut chains,
        );
        append(
            &dir,
            2,
            &[joined("222222"), joined("111111"), joined("111111")],
            &mut chains,
        );
        let bytes = session_journal(&dir, "111111").unwrap();
        let file = dir.join("one.journal");
        fs::write(&file, &bytes).unwrap();

        let (frames, damage) = read_segment(&file).unwrap();
        assert!(damage.is_empty());
        assert_eq!(frames.len(), 3, "the creation and two joins");
        let v = verify(&file).unwrap();
        assert!(
            v.sound,
            "{:?} {:?}",
            v.replay.problems, v.replay.broken_links
        );
        assert_eq!(v.replay.sessions.len(), 1);
        let r = &v.replay.sessions["111111"];
        assert_eq!(r.session.title, "New");
        assert_eq!(r.session.participants().len(), 2);
        let head = chains.iter().find(|(c, _)| c == "111111").unwrap().1;
        assert_eq!(hex(&r.chain), hex(&head), "the digest the server has");

        // A record changed and framed again (a sound frame, its CRC right):
        // the chain no longer follows.
        let mut tampered = Vec::new();
        for (i, f) in frames.iter().enumerate() {
            let json = if i == 2 {
                String::from_utf8(f.json.clone())
                    .unwrap()
                    .replace("\"at\":2", "\"at\":3")
                    .into_bytes()
            } else {
                f.json.clone()
            };
            tampered.extend_from_slice(&encode(&f.hash, &json));
        }
        fs::write(&file, &tampered).unwrap();
        let v = verify(&file).unwrap();
        assert!(!v.sound);
        assert_eq!(
            v.replay.broken_links.len(),
            1,
            "{:?}",
            v.replay.broken_links
        );
        assert!(v.replay.broken_links[0].contains("111111"));
        fs::remove_dir_all(&dir).unwrap();
    }
}
