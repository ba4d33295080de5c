//! The journal's files: segments `journal-NNNNNNNN.log`, each a run of
//! frames `len: u32 LE | crc32: u32 LE | hash: [u8; 32] | record JSON`, and
//! the hash chain. The CRC covers hash and JSON and finds torn or corrupt
//! frames. The hash chains the records of one session:
//! `hash = SHA-256(previous hash of that session || JSON)`, so a session's
//! last hash is a digest of its whole history.

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

pub type Hash = [u8; 32];

pub fn hex(h: &[u8]) -> String {
    h.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn unhex(s: &str) -> Option<Hash> {
    let mut out = [0u8; 32];
    if s.len() != 64 {
        return None;
    }
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// The next link of a session's chain.
pub fn chain(prev: &Hash, json: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update(prev);
    h.update(json);
    h.finalize().into()
}

const HEADER: usize = 4 + 4 + 32;
/// A record larger than this is taken for corruption; the writer never
/// writes one (snapshots are written in parts far smaller).
pub const MAX_RECORD: u32 = 64 * 1024 * 1024;

/// Frames one record's JSON.
pub fn encode(hash: &Hash, json: &[u8]) -> Vec<u8> {
    let len = (32 + json.len()) as u32;
    let mut crc = crc32fast::Hasher::new();
    crc.update(hash);
    crc.update(json);
    let mut out = Vec::with_capacity(HEADER + json.len());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&crc.finalize().to_le_bytes());
    out.extend_from_slice(hash);
    out.extend_from_slice(json);
    out
}

/// One frame read back.
pub struct Frame {
    pub offset: u64,
    pub hash: Hash,
    pub json: Vec<u8>,
}

/// What was wrong in a segment.
#[derive(Debug)]
pub struct Damage {
    pub offset: u64,
    pub what: String,
    /// An incomplete last record (or zeros to the end), as a crash in the
    /// middle of a write leaves: never acknowledged, safe to cut. Anything
    /// else (a complete record whose checksum fails, an impossible length)
    /// is damage, kept for a person to look at.
    pub torn: bool,
    /// The session the damaged record seems to belong to, when its text
    /// still tells.
    pub code: Option<String>,
    /// Whether reading stopped there (the rest of the segment is not read);
    /// else only this record was skipped.
    pub stopped: bool,
}

/// The session code a record's JSON names, read loosely: it may be
/// damaged.
fn code_in(json: &[u8]) -> Option<String> {
    let key = br#""code":""#;
    let at = json.windows(key.len()).position(|w| w == key)? + key.len();
    let code: Vec<u8> = json[at..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .copied()
        .collect();
    (code.len() == 6).then(|| String::from_utf8_lossy(&code).into_owned())
}

/// Reads every sound record of a segment. A record whose checksum fails is
/// skipped (its length still says where the next one starts); an
/// impossible length or a record cut short ends the reading.
pub fn read_segment(path: &Path) -> io::Result<(Vec<Frame>, Vec<Damage>)> {
    let mut bytes = Vec::new();
    File::open(path)?.read_to_end(&mut bytes)?;
    let mut out = Vec::new();
    let mut damages = Vec::new();
    let mut at = 0usize;
    while at < bytes.len() {
        // Zeros to the end: a file extended by a write that never landed.
        let zeros = bytes[at..].iter().all(|b| *b == 0);
        let stop = |what: &str, torn: bool| Damage {
            offset: at as u64,
            what: what.to_owned(),
            torn: torn || zeros,
            code: None,
            stopped: true,
        };
        if bytes.len() - at < HEADER {
            damages.push(stop("a torn record header", true));
            break;
        }
        let len = u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
        let crc = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().expect("4 bytes"));
        if !(32..=MAX_RECORD).contains(&len) {
            damages.push(stop("an impossible record length", false));
            break;
        }
        let end = at + 8 + len as usize;
        if end > bytes.len() {
            damages.push(stop("a torn record", true));
            break;
        }
        let body = &bytes[at + 8..end];
        if crc32fast::hash(body) != crc {
            if zeros {
                damages.push(stop("a torn record", true));
                break;
            }
            damages.push(Damage {
                offset: at as u64,
                what: "a record whose checksum does not match".to_owned(),
                torn: false,
                code: code_in(&body[32..]),
                stopped: false,
            });
            at = end;
            continue;
        }
        out.push(Frame {
            offset: at as u64,
            hash: body[..32].try_into().expect("32 bytes"),
            json: body[32..].to_vec(),
        });
        at = end;
    }
    Ok((out, damages))
}

pub(crate) fn segment_path(dir: &Path, n: u64) -> PathBuf {
    dir.join(format!("journal-{n:08}.log"))
}

/// The segments in `dir`, oldest first.
pub fn segments(dir: &Path) -> io::Result<Vec<(u64, PathBuf)>> {
    let mut out = Vec::new();
    if !dir.exists() {
        return Ok(out);
    }
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if let Some(n) = name
            .strip_prefix("journal-")
            .and_then(|r| r.strip_suffix(".log"))
            .and_then(|n| n.parse().ok())
        {
            out.push((n, path));
        }
    }
    out.sort();
    Ok(out)
}
