//! The command line: `serve`, `demo` and `verify` (of a journal, or with
//! `verify_redis` of a session in Redis), the links printed at start and
//! the deck read at start.

pub mod deck;
pub mod demo;
pub mod links;
pub mod serve;
pub mod verify;
pub mod verify_redis;

use crate::config::{Cli, Command};
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

/// Runs the parsed command line; the exit code says how it went.
pub async fn main(cli: Cli) -> std::process::ExitCode {
    let (config, demo) = match cli.command {
        Command::Serve(c) => (c, false),
        Command::Demo(c) => (c, true),
        Command::Verify {
            data_dir,
            redis: Some(url),
        } => return verify_redis::verify(&url, &data_dir.to_string_lossy()).await,
        Command::Verify { data_dir, .. } => return verify::verify(&data_dir),
    };
    init_tracing(config.log_json);
    match serve::serve(config, demo).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("handsup: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
