//! `handsup serve` and `handsup demo`: listen, open the store, create the
//! deck's or the demo's session, print the links, serve until a signal.

use crate::config::Config;
use crate::live::registry::Hub;
use tokio::net::TcpListener;

/// Binds with a deep accept queue: when a whole room joins at once (or
/// reconnects after the Wi-Fi drops), a short queue overflows and each
/// overflow costs a phone a one-second SYN retry.
fn listen(addr: std::net::SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(4096)
}

pub async fn serve(mut config: Config, demo: bool) -> Result<(), Box<dyn std::error::Error>> {
    // A deck with a mistake stops the start, before anything listens.
    let deck = match &config.deck {
        Some(path) => Some(crate::cli::deck::load(path, &config.limits())?),
        None => None,
    };
    let listener =
        listen(config.addr).map_err(|e| format!("cannot listen on {}: {e}", config.addr))?;
    let local = listener.local_addr()?;
    // With port 0 the links must carry the port actually bound.
    config.addr = local;
    if config.in_memory {
        tracing::warn!("running in memory: sessions and votes are lost when the server stops");
    }
    // Each phone is a socket, and each socket a file descriptor.
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) => tracing::info!(
            open_files = n,
            "open-file limit raised: about {} connections fit",
            n.saturating_sub(64)
        ),
        Err(e) => tracing::warn!(error = %e, "could not raise the open-file limit"),
    }
    let hub = Hub::open(config)
        .await
        .map_err(|e| format!("cannot open the journal: {e}"))?;
    // Tests and scripts read this first line to find the port.
    println!("listening on http://{local}");
    if local.ip().is_unspecified() {
        for lan in crate::live::registry::lan_addresses() {
            println!(
                "phones on this network can reach http://{lan}:{}",
                local.port()
            );
        }
    }
    if let Some(deck) = deck {
        crate::cli::deck::start(&hub, deck, demo).await?;
    } else if demo {
        crate::cli::demo::create(&hub).await?;
    }
    crate::run(listener, hub.clone(), crate::shutdown_signal()).await?;
    hub.shared.storage.close();
    tracing::info!("stopped");
    Ok(())
}
