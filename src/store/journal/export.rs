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
