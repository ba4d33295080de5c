//! The `handsup` binary: parse the command line and run it (see `cli`).

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    handsup::cli::main(handsup::config::Cli::parse()).await
}
