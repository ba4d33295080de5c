//! What every live session of this server shares: the configuration, the
//! limits, the counters, the clock, the storage, the per-address limits and
//! the shutdown signal.

use std::net::IpAddr;
use std::sync::atomic::AtomicUsize;

use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::domain::Limits;
use crate::metrics::Metrics;
use crate::rate::PerIp;
use crate::store::Storage;

/// Wall-clock milliseconds that advance with tokio's clock, so that timers
/// and the times they compare against agree (and tests can pause time).
#[derive(Clone, Debug)]
pub struct Clock {
    wall_at_start: i64,
    start: tokio::time::Instant,
}

impl Clock {
    pub fn new() -> Clock {
        let wall = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        Clock {
            wall_at_start: wall,
            start: tokio::time::Instant::now(),
        }
    }

    pub fn now_ms(&self) -> i64 {
        self.wall_at_start + self.start.elapsed().as_millis() as i64
    }

    /// The tokio instant at which `now_ms()` reaches `ms`.
    pub fn instant_at(&self, ms: i64) -> tokio::time::Instant {
        let offset = (ms - self.wall_at_start).max(0) as u64;
        self.start + std::time::Duration::from_millis(offset)
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::new()
    }
}

/// What every session of this server shares.
pub struct Shared {
    pub config: Config,
    pub limits: Limits,
    pub metrics: Metrics,
    pub clock: Clock,
    /// Cancelled when the server stops; each session's token is a child.
    pub shutdown: CancellationToken,
    /// The machine's LAN address, for links phones in the room can open.
    pub lan_addr: Option<IpAddr>,
    /// Websockets open now, against `config.max_connections`.
    pub open_sockets: AtomicUsize,
    /// Websockets open now by client address, against `config.ip_max_sockets`.
    pub socket_places: crate::rate::SocketPlaces,
    /// Where sessions are kept: in memory, in the journal, or in Redis.
    pub storage: Storage,
    /// The events and the codes of their sessions (standalone mode).
    pub events: crate::live::events::Events,
    /// New sockets per client address.
    pub ip_connections: PerIp,
    /// New participants per client address.
    pub ip_participants: PerIp,
    /// New sessions per client address (without the admin token).
    pub ip_sessions: PerIp,
    /// Lookups of codes that do not exist (and wrong admin tokens) per
    /// client address.
    pub ip_misses: PerIp,
}

/// Gives the memory freed after a compaction back to the system. A snapshot
/// of a big session is tens of megabytes of short-lived text and events;
/// the C allocator keeps what they freed in its heaps, where it would count
/// against every phone's share for the rest of the server's life.
pub fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free pages of the allocator's own
    // heaps; it touches no live allocation.
    unsafe {
        libc::malloc_trim(0);
    }
}
