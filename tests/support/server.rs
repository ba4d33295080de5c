//! Starting a server for a test. `spawn_app` runs it in this process, on
//! port 0, on a runtime of its own (two worker threads), so the deadlines
//! it keeps do not depend on what the test's own runtime is doing; the
//! command-line flags are parsed by the binary's own parser, so they mean
//! the same. `spawn_process` starts the real binary, for what needs a
//! process: kill -9, SIGTERM, start-up output, cluster nodes.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use clap::Parser;
use handsup::config::{Cli, Command as Sub, Config};

use super::app::TestApp;

/// What runs the server behind a `TestApp`.
pub enum Server {
    /// In this process; dropping the sender stops it.
    InProcess(Option<tokio::sync::oneshot::Sender<()>>),
    /// The real binary.
    Process(Child),
}

impl Drop for Server {
    fn drop(&mut self) {
        match self {
            Server::InProcess(stop) => {
                if let Some(stop) = stop.take() {
                    let _ = stop.send(());
                }
            }
            Server::Process(child) => {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

/// The `Config` that `handsup serve --addr 127.0.0.1:0 ARGS` would run with.
pub fn serve_config(args: &[&str]) -> Config {
    let argv = [&["handsup", "serve", "--addr", "127.0.0.1:0"], args].concat();
    match Cli::try_parse_from(argv) {
        Ok(Cli {
            command: Sub::Serve(config),
        }) => config,
        Ok(_) => unreachable!("serve parses as serve"),
        Err(e) => panic!("bad test flags {args:?}: {e}"),
    }
}

fn init_log() {
    if std::env::var_os("TEST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("handsup=debug"))
            .with_test_writer()
            .try_init();
    }
}

/// Starts the server in this process, in memory.
pub fn spawn_app() -> TestApp {
    spawn_app_with(&[])
}

/// Starts the server in this process, in memory, with the given extra flags.
pub fn spawn_app_with(args: &[&str]) -> TestApp {
    spawn_config(serve_config(&[&["--in-memory"], args].concat()))
}

/// Starts the server in this process with its journal in `dir`.
pub fn spawn_app_durable(dir: &std::path::Path) -> TestApp {
    spawn_config(serve_config(&["--data-dir", dir.to_str().unwrap()]))
}

fn spawn_config(config: Config) -> TestApp {
    init_log();
    let (started, addr) = std::sync::mpsc::channel();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    std::thread::Builder::new()
        .name("handsup-app".into())
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("a runtime for the server");
            rt.block_on(async move {
                match handsup::start(config).await {
                    Ok(running) => {
                        let _ = started.send(Ok(running.addr));
                        let _ = running
                            .serve_until(async {
                                let _ = stopped.await;
                            })
                            .await;
                    }
                    Err(e) => {
                        let _ = started.send(Err(e));
                    }
                }
            });
        })
        .expect("a thread for the server");
    let addr = addr
        .recv()
        .expect("the server thread answers")
        .expect("the server starts");
    TestApp::new(addr.port(), Server::InProcess(Some(stop)))
}

/// Starts the real binary in memory with the given extra flags.
pub fn spawn_process_with(args: &[&str]) -> TestApp {
    spawn_process(&[&["--in-memory"], args].concat())
}

/// Starts the real binary with its journal in `dir`.
pub fn spawn_durable(dir: &std::path::Path, args: &[&str]) -> TestApp {
    spawn_process(&[&["--data-dir", dir.to_str().unwrap()], args].concat())
}

/// Starts the real binary (`serve --addr 127.0.0.1:0`) with exactly these
/// extra flags, and reads the port from its first line.
pub fn spawn_process(args: &[&str]) -> TestApp {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_handsup"));
    cmd.args(["serve", "--addr", "127.0.0.1:0"])
        .args(args)
        .stdout(Stdio::piped())
        .stdin(Stdio::null());
    if std::env::var_os("TEST_LOG").is_none() {
        cmd.stderr(Stdio::null());
    }
    let mut child = cmd.spawn().expect("start handsup");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read the listening line");
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    let port = base.rsplit(':').next().unwrap().parse().unwrap();
    TestApp::new(port, Server::Process(child))
}

/// A fresh data directory under the system's temporary folder.
pub fn temp_dir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!(
        "handsup-test-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}
