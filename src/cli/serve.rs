//! `handsup serve` and `handsup demo`: listen, open the store, create the
//! deck's or the demo's session, print the links, serve until a signal.

use crate::config::Config;

pub async fn serve(config: Config, demo: bool) -> Result<(), Box<dyn std::error::Error>> {
    // A deck with a mistake stops the start, before anything listens.
    let deck = match &config.deck {
        Some(path) => Some(crate::cli::deck::load(path, &config.limits())?),
        None => None,
    };
    let bound = crate::bind(config).await?;
    // Before the first line: a script may stop the server once it reads it.
    let stop = crate::shutdown_signal();
    let local = bound.addr;
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
        match deck {
            crate::cli::deck::Loaded::Session(deck) => {
                crate::cli::deck::start(&bound.hub, deck, demo).await?;
            }
            crate::cli::deck::Loaded::Event(deck) => {
                crate::cli::deck::start_event(&bound.hub, deck, demo).await?;
            }
        }
    } else if demo {
        crate::cli::demo::create(&bound.hub).await?;
    }
    bound.serve().serve_until(stop).await?;
    tracing::info!("stopped");
    Ok(())
}
