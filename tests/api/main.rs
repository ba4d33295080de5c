//! The HTTP and websocket API, story by story, against a server started in
//! this process (`spawn_app`, port 0) and driven through the typed client
//! of `support`. What needs a real process is in `tests/process`.

#[path = "../support/mod.rs"]
mod support;

mod decks;
mod errors;
mod events;
mod exports;
mod fuzz;
mod groups;
mod hardening;
mod http_timeouts;
mod kinds;
mod limits;
mod live;
mod qa;
mod roles;
mod server;
mod sessions;
mod sockets;
mod timer;
