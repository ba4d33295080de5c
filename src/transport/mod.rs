//! Everything that faces the network: the accept loop with its deadlines,
//! the HTTP routes, the websocket connection, the pages and QR codes.

pub mod http;
pub mod pages;
pub mod qr;
pub mod scope;
pub mod serve;
pub mod ws;
