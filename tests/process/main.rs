//! What needs the real binary as a process: kill -9 and restarts
//! (durability), SIGTERM, the cluster with real Redis, the start-up output
//! of `serve --deck` and `demo`, the `verify` command (of a journal, and of
//! a session in Redis) and the load smoke test. Everything else is in
//! `tests/api`, in process.

#[path = "../support/mod.rs"]
mod support;

mod redis;

mod cluster;
mod durability;
mod events;
mod groups;
mod links;
mod load_smoke;
mod qa;
mod records;
mod redis_crash;
mod shutdown;
mod slots;
mod startup;
mod ttl;
mod verify_redis;
