//! Configuration: one typed `Config`, from command-line flags or `HANDSUP_*`
//! environment variables. Every default lives here.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::domain::Limits;

#[derive(Debug, Parser)]
#[command(
    name = "handsup",
    version,
    about = "Live audience polling: phones vote, the projector shows the room's answer"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server.
    Serve(Config),
    /// Run the server with a demo session and print its links and QR code.
    Demo(Config),
    /// Check a data directory, or one session's downloaded journal file:
    /// recompute every session's hash chain and every tally from its
    /// ballots, and print each session's digest. With `--redis URL CODE`:
    /// the same for one session held in Redis.
    Verify {
        /// The data directory to check, or a file read as one segment
        /// (`GET /api/sessions/{code}/journal`); with `--redis`, the
        /// session's code.
        data_dir: PathBuf,
        /// Check the session CODE held in this Redis (cluster mode) instead.
        #[arg(long, value_name = "URL")]
        redis: Option<String>,
    },
}

/// Everything a server needs to know at start.
#[derive(Clone, Debug, Args)]
pub struct Config {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "HANDSUP_ADDR", default_value = "0.0.0.0:8080")]
    pub addr: SocketAddr,

    /// Where the durable journal lives.
    #[arg(long, env = "HANDSUP_DATA_DIR", default_value = "./handsup-data")]
    pub data_dir: PathBuf,

    /// A journal segment grows to this many MiB before it is compacted.
    #[arg(long, env = "HANDSUP_JOURNAL_SEGMENT_MB", default_value_t = 64)]
    pub journal_segment_mb: u64,

    /// Keep nothing on disk: a restart forgets every session.
    #[arg(long, env = "HANDSUP_IN_MEMORY")]
    pub in_memory: bool,

    /// Cluster mode: keep sessions in this Redis (e.g. `redis://10.0.0.5:6379`)
    /// and share them with every node started with the same URL. The node
    /// then keeps no journal of its own. With `--redis-cluster`, the URLs
    /// (comma-separated) of some nodes of a Redis Cluster.
    #[arg(
        long = "redis",
        env = "HANDSUP_REDIS_URL",
        hide_env_values = true,
        value_delimiter = ','
    )]
    pub redis_urls: Vec<String>,

    /// The `--redis` URLs are nodes of a Redis Cluster: each session lives on
    /// the shard of its code's hash tag.
    #[arg(long, env = "HANDSUP_REDIS_CLUSTER", requires = "redis_urls")]
    pub redis_cluster: bool,

    /// Cluster mode: a node lets go of its copy of a session that has had no
    /// socket on it for this many seconds (it is read again from Redis when
    /// needed), so a node serving many events keeps only the live ones.
    #[arg(long, env = "HANDSUP_UNLOAD_IDLE_AFTER_S", default_value_t = 600)]
    pub unload_idle_after_s: u64,

    /// Cluster mode: a session's log in Redis is compacted (a snapshot, then
    /// the entries after it) each time it grows by this many entries, so a
    /// node that loads the session late reads a bounded amount.
    #[arg(long, env = "HANDSUP_REDIS_COMPACT_EVERY", default_value_t = 10_000)]
    pub redis_compact_every: u64,

    /// Cluster mode: a session created on this node spreads its ballots and
    /// counts over this many hash slots, by participant, so that with
    /// `--redis-cluster` one large session's votes divide over the shards
    /// (1: every key of a session on its code's slot). A session keeps the
    /// number it was created with.
    #[arg(
        long,
        env = "HANDSUP_REDIS_SLOTS",
        default_value_t = 1,
        value_parser = clap::value_parser!(u32).range(1..=1024)
    )]
    pub redis_slots: u32,

    /// The address phones use to reach this server, for links and QR codes
    /// (e.g. `https://vote.example.org`). Without it, links use the address the
    /// browser used, or the machine's LAN address when that was loopback.
    #[arg(long, env = "HANDSUP_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// When set, creating a session needs `Authorization: Bearer <token>`.
    #[arg(long, env = "HANDSUP_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,

    /// Other origins whose pages may open sockets here (comma-separated,
    /// e.g. `https://intranet.example.org`; `*` allows any). The server's own
    /// origin is always allowed.
    #[arg(long, env = "HANDSUP_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Vec<String>,

    /// New websockets one client address may open a second, sustained.
    #[arg(long, env = "HANDSUP_IP_CONNECTIONS_PER_SEC", default_value_t = 50)]
    pub ip_connections_per_sec: u32,

    /// New websockets one client address may open at once: a plenary of
    /// 2,000 phones behind one venue NAT, and their reconnects after the
    /// Wi-Fi drops.
    #[arg(long, env = "HANDSUP_IP_CONNECTIONS_BURST", default_value_t = 3000)]
    pub ip_connections_burst: u32,

    /// New participants one client address may create a second, sustained.
    #[arg(long, env = "HANDSUP_IP_PARTICIPANTS_PER_SEC", default_value_t = 20)]
    pub ip_participants_per_sec: u32,

    /// New participants one client address may create at once: a plenary
    /// of 2,000 phones behind one venue NAT joins without waiting.
    #[arg(long, env = "HANDSUP_IP_PARTICIPANTS_BURST", default_value_t = 2000)]
    pub ip_participants_burst: u32,

    /// Reverse proxies whose `X-Forwarded-For` names the client (comma-separated
    /// addresses); without them the peer address is the client's.
    #[arg(long, env = "HANDSUP_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<std::net::IpAddr>,

    /// Other origins whose pages may embed these pages in a frame
    /// (comma-separated, e.g. `https://stream.example.org`).
    #[arg(long, env = "HANDSUP_FRAME_ANCESTORS", value_delimiter = ',')]
    pub frame_ancestors: Vec<String>,

    /// Serve the pages from this folder instead of the copies built into the
    /// binary (for working on the pages).
    #[arg(long, env = "HANDSUP_WEB_DIR")]
    pub web_dir: Option<PathBuf>,

    /// Create a session from this deck file at start and print its links
    /// (see `decks/README.md`). A session with the same title and questions
    /// that the journal already holds is taken up again instead. A deck of
    /// an event (`event = "..."` and `[[session]]` tables) starts the event
    /// and every room, and prints the organiser's link too.
    #[arg(long, env = "HANDSUP_DECK")]
    pub deck: Option<PathBuf>,

    /// Log as JSON lines instead of text.
    #[arg(long, env = "HANDSUP_LOG_JSON")]
    pub log_json: bool,

    /// Largest websocket frame, in bytes; larger ones close the socket with 1009.
    #[arg(long, env = "HANDSUP_MAX_FRAME_BYTES", default_value_t = 16 * 1024)]
    pub max_frame_bytes: usize,

    /// Largest HTTP request body, in bytes.
    #[arg(long, env = "HANDSUP_MAX_BODY_BYTES", default_value_t = 64 * 1024)]
    pub max_body_bytes: usize,

    /// Messages a second one connection may send, sustained.
    #[arg(long, env = "HANDSUP_RATE_PER_SEC", default_value_t = 20)]
    pub rate_per_sec: u32,

    /// Messages one connection may send in a burst.
    #[arg(long, env = "HANDSUP_RATE_BURST", default_value_t = 40)]
    pub rate_burst: u32,

    /// Seconds a new socket has to send its hello.
    #[arg(long, env = "HANDSUP_HELLO_TIMEOUT_S", default_value_t = 10)]
    pub hello_timeout_s: u64,

    /// Seconds between server pings.
    #[arg(long, env = "HANDSUP_PING_INTERVAL_S", default_value_t = 20)]
    pub ping_interval_s: u64,

    /// A socket silent (no pong, no message) this many seconds is closed.
    #[arg(long, env = "HANDSUP_PONG_TIMEOUT_S", default_value_t = 60)]
    pub pong_timeout_s: u64,

    /// Least time between two tallies of one question to a moderator or projector.
    #[arg(long, env = "HANDSUP_STAFF_TALLY_MS", default_value_t = 100)]
    pub staff_tally_ms: u64,

    /// Least time between two tallies of one question to a phone.
    #[arg(long, env = "HANDSUP_AUDIENCE_TALLY_MS", default_value_t = 1000)]
    pub audience_tally_ms: u64,

    /// Messages waiting for one slow connection before it is dropped (it
    /// reconnects and catches up from the current state).
    #[arg(long, env = "HANDSUP_MAX_QUEUED", default_value_t = 512)]
    pub max_queued: usize,

    /// Open websockets this server holds at most; more are refused with 503.
    #[arg(long, env = "HANDSUP_MAX_CONNECTIONS", default_value_t = 100_000)]
    pub max_connections: usize,

    /// Characters of a session title.
    #[arg(long, env = "HANDSUP_MAX_TITLE_CHARS", default_value_t = 200)]
    pub max_title_chars: usize,

    /// Questions in one session.
    #[arg(long, env = "HANDSUP_MAX_QUESTIONS", default_value_t = 100)]
    pub max_questions: usize,

    /// Participants in one session.
    #[arg(long, env = "HANDSUP_MAX_PARTICIPANTS", default_value_t = 100_000)]
    pub max_participants: usize,

    /// Q&A items in one session.
    #[arg(long, env = "HANDSUP_MAX_QA_ITEMS", default_value_t = 5_000)]
    pub max_qa_items: usize,

    // ---- v1.1 bounds: what grows with the audience, and what waits --------
    /// Q&A items one participant may hold in a session; past it `ask` gets
    /// `limit_reached`.
    #[arg(long, env = "HANDSUP_MAX_QA_PER_PARTICIPANT", default_value_t = 20)]
    pub max_qa_per_participant: usize,

    /// Sessions this server holds at most; creating one more gets
    /// `limit_reached`.
    #[arg(long, env = "HANDSUP_MAX_SESSIONS", default_value_t = 10_000)]
    pub max_sessions: usize,

    /// A session with no connection and no change for this many days is
    /// deleted with its records; 0 keeps sessions forever.
    #[arg(long, env = "HANDSUP_SESSION_TTL_DAYS", default_value_t = 30)]
    pub session_ttl_days: u64,

    /// New sessions one client address may create a minute, sustained
    /// (the admin token is exempt).
    #[arg(long, env = "HANDSUP_IP_SESSIONS_PER_MIN", default_value_t = 10)]
    pub ip_sessions_per_min: u32,

    /// New sessions one client address may create at once.
    #[arg(long, env = "HANDSUP_IP_SESSIONS_BURST", default_value_t = 20)]
    pub ip_sessions_burst: u32,

    /// Lookups of codes that do not exist one client address may make a
    /// second, sustained (a failed admin token counts too).
    #[arg(long, env = "HANDSUP_IP_MISSES_PER_SEC", default_value_t = 5)]
    pub ip_misses_per_sec: u32,

    /// Lookups of codes that do not exist one client address may make at once.
    #[arg(long, env = "HANDSUP_IP_MISSES_BURST", default_value_t = 50)]
    pub ip_misses_burst: u32,

    /// Websockets one client address may hold open at once.
    #[arg(long, env = "HANDSUP_IP_MAX_SOCKETS", default_value_t = 5_000)]
    pub ip_max_sockets: usize,

    /// A socket whose writes make no progress for this many seconds is
    /// closed with 1013 (the phone reconnects and catches up).
    #[arg(long, env = "HANDSUP_WRITE_TIMEOUT_S", default_value_t = 10)]
    pub write_timeout_s: u64,

    /// Seconds an HTTP request head may take to arrive.
    #[arg(long, env = "HANDSUP_HEADER_TIMEOUT_S", default_value_t = 10)]
    pub header_timeout_s: u64,

    /// Seconds an HTTP request body may take to arrive.
    #[arg(long, env = "HANDSUP_BODY_TIMEOUT_S", default_value_t = 30)]
    pub body_timeout_s: u64,

    /// Seconds an idle keep-alive HTTP connection is kept open.
    #[arg(long, env = "HANDSUP_IDLE_TIMEOUT_S", default_value_t = 60)]
    pub idle_timeout_s: u64,

    /// Seconds the server takes at most to stop after SIGTERM, whatever
    /// clients do.
    #[arg(long, env = "HANDSUP_SHUTDOWN_TIMEOUT_S", default_value_t = 10)]
    pub shutdown_timeout_s: u64,

    /// Tests: the session time-to-live in seconds, instead of days.
    #[arg(long, env = "HANDSUP_SESSION_TTL_S", hide = true)]
    pub session_ttl_s: Option<u64>,
}

impl Config {
    /// The defaults, as if run with no flags: for tests and embedding.
    pub fn defaults() -> Config {
        #[derive(Parser)]
        struct Wrap {
            #[command(flatten)]
            config: Config,
        }
        Wrap::parse_from(["handsup"]).config
    }

    pub fn limits(&self) -> Limits {
        Limits {
            max_title_chars: self.max_title_chars,
            max_questions: self.max_questions,
            max_participants: self.max_participants,
            max_qa_items: self.max_qa_items,
            max_qa_per_participant: self.max_qa_per_participant,
            ..Limits::default()
        }
    }

    pub fn hello_timeout(&self) -> Duration {
        Duration::from_secs(self.hello_timeout_s)
    }
    pub fn ping_interval(&self) -> Duration {
        Duration::from_secs(self.ping_interval_s.max(1))
    }
    pub fn pong_timeout(&self) -> Duration {
        Duration::from_secs(self.pong_timeout_s.max(1))
    }
    pub fn staff_tally_interval(&self) -> Duration {
        Duration::from_millis(self.staff_tally_ms)
    }
    pub fn audience_tally_interval(&self) -> Duration {
        Duration::from_millis(self.audience_tally_ms)
    }
    pub fn write_timeout(&self) -> Duration {
        Duration::from_secs(self.write_timeout_s.max(1))
    }
    pub fn header_timeout(&self) -> Duration {
        Duration::from_secs(self.header_timeout_s.max(1))
    }
    pub fn body_timeout(&self) -> Duration {
        Duration::from_secs(self.body_timeout_s.max(1))
    }
    pub fn idle_timeout(&self) -> Duration {
        Duration::from_secs(self.idle_timeout_s.max(1))
    }
    pub fn shutdown_timeout(&self) -> Duration {
        Duration::from_secs(self.shutdown_timeout_s.max(1))
    }
    /// How long a session may go without activity before it is deleted;
    /// None keeps sessions forever.
    pub fn session_ttl(&self) -> Option<Duration> {
        let secs = self
            .session_ttl_s
            .unwrap_or(self.session_ttl_days.saturating_mul(86_400));
        (secs > 0).then(|| Duration::from_secs(secs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_contract() {
        let c = Config::defaults();
        assert_eq!(c.addr.port(), 8080);
        assert_eq!(c.max_frame_bytes, 16 * 1024);
        assert_eq!(c.max_body_bytes, 64 * 1024);
        assert_eq!((c.rate_per_sec, c.rate_burst), (20, 40));
        assert_eq!(c.hello_timeout(), Duration::from_secs(10));
        assert_eq!(c.limits(), Limits::default());
    }
}
