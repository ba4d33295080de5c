//! The `handsup` binary: parse the command line, start logging, serve.

use clap::Parser;
use handsup::config::{Cli, Command, Config};
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

async fn serve(config: Config, demo: bool) -> Result<(), Box<dyn std::error::Error>> {
    // A deck with a mistake stops the start, before anything listens.
    let deck = match &config.deck {
        Some(path) => Some(handsup::deck::load(path, &config.limits())?),
        None => None,
    };
    let bound = handsup::bind(config).await?;
    let local = bound.addr;
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
        handsup::deck::start(&bound.hub, deck, demo).await?;
    } else if demo {
        handsup::demo::create(&bound.hub).await?;
    }
    bound
        .serve()
        .serve_until(handsup::shutdown_signal())
        .await?;
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
