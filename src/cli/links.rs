//! The links a moderator needs, printed at start: console, audience (with a
//! QR code for the terminal) and projector.

use crate::error::Result;
use crate::live::registry::Hub;
use crate::live::session::LiveSession;

/// Prints a session's moderator, projector and audience links and the
/// audience QR code, for the room: `label` names the session.
pub fn print_links(hub: &Hub, live: &LiveSession, label: &str) -> Result<()> {
    let base = hub.base_url(None);
    let (token, title) = live.secrets();
    let urls = crate::transport::http::urls(&base, &live.code, &token);
    let audience = urls["audience"].as_str().unwrap_or_default();
    println!();
    println!("{label} {} \u{2014} {title}", live.code);
    println!(
        "  moderator: {}",
        urls["moderator"].as_str().unwrap_or_default()
    );
    println!(
        "  projector: {}",
        urls["projector"].as_str().unwrap_or_default()
    );
    println!("  audience:  {audience}");
    println!();
    println!("{}", crate::transport::qr::terminal(audience)?);
    println!("phones join at {base} with code {}", live.code);
    Ok(())
}
