//! Real Redis for the cluster tests: one `redis-server`, or a Redis
//! Cluster of three shards, on free loopback ports, each in its own folder;
//! and cluster nodes (the real binary) sharing sessions through them.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::support::{spawn_process, temp_dir, TestApp};

/// Starts a node in cluster mode, sharing sessions through `redis`.
pub fn spawn_node(redis: &Redis, args: &[&str]) -> TestApp {
    spawn_process(&[&["--redis", &redis.url()], args].concat())
}

/// A real `redis-server` on a free loopback port, in its own folder, with
/// the append-only file fsynced at every write, so a restart keeps every
/// acknowledged write. Stopped when dropped.
pub struct Redis {
    pub port: u16,
    dir: std::path::PathBuf,
    child: Option<Child>,
    extra: Vec<String>,
}

impl Redis {
    pub fn start() -> Redis {
        Redis::start_with(&[])
    }

    /// With extra `redis-server` arguments.
    pub fn start_with(extra: &[&str]) -> Redis {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut r = Redis {
            port,
            dir: temp_dir(),
            child: None,
            extra: extra.iter().map(|a| a.to_string()).collect(),
        };
        r.run();
        r
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn run(&mut self) {
        let bin = std::env::var("REDIS_SERVER").unwrap_or_else(|_| "redis-server".into());
        let child = Command::new(&bin)
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--dir", self.dir.to_str().unwrap()])
            .args(["--appendonly", "yes", "--appendfsync", "always", "--save", ""])
            .args(&self.extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start {bin} ({e}); install Redis (scripts/deps does) or set REDIS_SERVER")
            });
        self.child = Some(child);
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("redis-server did not start on port {}", self.port);
    }

    /// Stops Redis (SIGTERM: it finishes writing its files).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &c.id().to_string()])
                .status();
            let _ = c.wait();
        }
    }

    /// Starts Redis again on the same port with the same files.
    pub fn restart(&mut self) {
        self.stop();
        self.run();
    }

    /// Freezes Redis (SIGSTOP): its connections stay open and nothing is
    /// answered, as with a server that hangs. `resume` thaws it.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, sig: &str) {
        let c = self.child.as_ref().expect("redis is running");
        let ok = Command::new("kill")
            .args([sig, &c.id().to_string()])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "kill {sig} redis");
    }

    /// Kills Redis with SIGKILL: no chance to write anything more.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts Redis again on the same port with the same files (after
    /// `kill9`), and waits until it has loaded them and answers PING.
    pub fn start_again(&mut self) {
        self.run();
        for _ in 0..400 {
            if self.cli(&["PING"]).trim() == "PONG" {
                return;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("redis-server did not load its files on port {}", self.port);
    }

    /// Runs one command with `redis-cli` (each argument as is, no shell);
    /// its output, trimmed of the last newline.
    pub fn cli(&self, args: &[&str]) -> String {
        let cli = std::env::var("REDIS_CLI").unwrap_or_else(|_| "redis-cli".into());
        let out = Command::new(&cli)
            .args(["-p", &self.port.to_string()])
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {cli} ({e})"));
        let text = String::from_utf8_lossy(&out.stdout);
        text.strip_suffix('\n').unwrap_or(&text).to_owned()
    }

    /// The hash tags of a session's ballots and counts: `{CODE}`, or one
    /// per slot when it was created with `--redis-slots` over 1 (as when
    /// the tests run with `HANDSUP_REDIS_SLOTS` set), found by the slots'
    /// states (written once a question has been opened).
    pub fn ballot_tags(&self, code: &str) -> Vec<String> {
        let keys = self.cli(&["KEYS", &format!("{{{code}.*}}:gen")]);
        let mut tags: Vec<String> = keys
            .lines()
            .filter_map(|k| k.strip_suffix(":gen"))
            .map(str::to_owned)
            .collect();
        if tags.is_empty() {
            tags.push(format!("{{{code}}}"));
        }
        tags
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A real Redis Cluster of three primaries (no replicas) on free loopback
/// ports, made with `redis-cli --cluster create`. Stopped when dropped.
pub struct RedisShards {
    pub shards: Vec<Redis>,
}

impl RedisShards {
    pub fn start() -> RedisShards {
        let shards: Vec<Redis> = (0..3)
            .map(|_| Redis::start_with(&["--cluster-enabled", "yes"]))
            .collect();
        let addrs: Vec<String> = shards
            .iter()
            .map(|r| format!("127.0.0.1:{}", r.port))
            .collect();
        let cli = std::env::var("REDIS_CLI").unwrap_or_else(|_| "redis-cli".into());
        let out = Command::new(&cli)
            .args(["--cluster", "create"])
            .args(&addrs)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .output()
            .unwrap_or_else(|e| panic!("cannot run {cli} ({e})"));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        // Wait until every shard agrees the cluster is up.
        for r in &shards {
            let mut ok = false;
            for _ in 0..200 {
                let info = Command::new(&cli)
                    .args(["-p", &r.port.to_string(), "cluster", "info"])
                    .output()
                    .unwrap();
                if String::from_utf8_lossy(&info.stdout).contains("cluster_state:ok") {
                    ok = true;
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            assert!(ok, "the Redis Cluster did not come up");
        }
        RedisShards { shards }
    }

    /// `--redis` with every shard, comma-separated.
    pub fn urls(&self) -> String {
        self.shards
            .iter()
            .map(|r| r.url())
            .collect::<Vec<_>>()
            .join(",")
    }
}
