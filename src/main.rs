//! The `handsup` binary: parse the command line, start logging, serve.

use clap::Parser;
use handsup::config::{Cli, Command, Config};
use handsup::hub::Hub;
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

fn init_tracing(json: bool) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("handsup=info,tower_http=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let (config, demo) = match cli.command {
        Command::Serve(c) => (c, false),
        Command::Demo(c) => (c, true),
        Command::Verify { data_dir } => return verify(&data_dir),
    };
    init_tracing(config.log_json);
    match serve(config, demo).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("handsup: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

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

async fn serve(mut config: Config, demo: bool) -> Result<(), Box<dyn std::error::Error>> {
    // A deck with a mistake stops the start, before anything listens.
    let deck = match &config.deck {
        Some(path) => Some(handsup::deck::load(path, &config.limits())?),
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
        for lan in handsup::hub::lan_addresses() {
            println!(
                "phones on this network can reach http://{lan}:{}",
                local.port()
            );
        }
    }
    if let Some(deck) = deck {
        handsup::deck::start(&hub, deck, demo).await?;
    } else if demo {
        handsup::demo::create(&hub).await?;
    }
    handsup::run(listener, hub.clone(), handsup::shutdown_signal()).await?;
    if let Some(j) = &hub.shared.journal {
        j.close();
        tracing::info!("journal flushed");
    }
    tracing::info!("stopped");
    Ok(())
}

fn verify(dir: &std::path::Path) -> std::process::ExitCode {
    if !dir.is_dir() {
        eprintln!("handsup verify: {} is not a directory", dir.display());
        return std::process::ExitCode::from(2);
    }
    match handsup::journal::verify(dir, &Config::defaults().limits()) {
        Ok(v) => {
            print!("{}", v.report);
            if v.sound {
                std::process::ExitCode::SUCCESS
            } else {
                std::process::ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("handsup verify: {e}");
            std::process::ExitCode::from(2)
        }
    }
}
