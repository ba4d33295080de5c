//! What needs the real binary as a process: kill -9 and restarts
//! (durability), SIGTERM, the cluster with real Redis, the start-up output
//! of `serve --deck` and `demo`, the `verify` command and the load smoke
//! test. Everything else is in `tests/api`, in process.

#[path = "../support/mod.rs"]
mod support;

mod redis;

mod cluster;
mod durability;
mod load_smoke;
mod qa;
mod records;
mod shutdown;
mod startup;
mod ttl;
