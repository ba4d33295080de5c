//! Where sessions are kept: the on-disk journal (one binary, no other
//! service) or Redis (several nodes sharing sessions).

pub mod journal;
pub mod redis;
