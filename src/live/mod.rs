//! The live layer: the sessions being run, in memory, and what keeps them
//! moving (commands, connections and their welcome, fan-out of boards and
//! tallies, timers, the cluster follower).

pub mod events;
pub mod outbox;
pub mod registry;
pub mod secrets;
pub mod session;
pub mod shared;
