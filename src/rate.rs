//! Rate limits: a token bucket per connection (messages) and per client
//! address (new connections, new participants).
//!
//! The per-address limits are generous by default: a whole room behind one
//! venue NAT joins, or rejoins after the Wi-Fi drops, within the burst.

use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;
use dashmap::DashMap;
use tokio::time::Instant;

/// A token bucket that may run into debt: a message finding no token is
/// refused, and a debt past twice the burst is sustained flooding.
pub struct Bucket {
    tokens: f64,
    rate: f64,
    burst: f64,
    at: Instant,
}

pub enum Take {
    Ok,
    Limited,
    Flood,
}

impl Bucket {
    pub fn new(rate: u32, burst: u32) -> Bucket {
        Bucket {
            tokens: burst as f64,
            rate: rate as f64,
            burst: burst as f64,
            at: Instant::now(),
        }
    }

    fn refill(&mut self) {
        let now = Instant::now();
        let refill = now.duration_since(self.at).as_secs_f64() * self.rate;
        self.at = now;
        self.tokens = (self.tokens + refill).min(self.burst);
    }

    /// Takes a token, going into debt when there is none.
    pub fn take(&mut self) -> Take {
        self.refill();
        self.tokens -= 1.0;
        if self.tokens >= 0.0 {
            Take::Ok
        } else if self.tokens < -2.0 * self.burst {
            Take::Flood
        } else {
            Take::Limited
        }
    }

    /// Takes a token if there is one; no debt.
    pub fn try_take(&mut self) -> bool {
        self.refill();
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    fn is_full(&mut self) -> bool {
        self.refill();
        self.tokens >= self.burst
    }
}

/// One bucket per client address.
pub struct PerIp {
    buckets: DashMap<IpAddr, Bucket>,
    rate: u32,
    burst: u32,
}

/// Addresses tracked before the idle ones (full buckets) are forgotten.
const TRACKED: usize = 10_000;

impl PerIp {
    pub fn new(rate: u32, burst: u32) -> PerIp {
        PerIp {
            buckets: DashMap::new(),
            rate,
            burst,
        }
    }

    /// True if `ip` may do one more.
    pub fn allow(&self, ip: IpAddr) -> bool {
        if self.buckets.len() > TRACKED {
            self.buckets.retain(|_, b| !b.is_full());
        }
        self.buckets
            .entry(ip)
            .or_insert_with(|| Bucket::new(self.rate, self.burst))
            .try_take()
    }
}

/// The client's address: the peer's, unless the peer is a trusted proxy,
/// in which case the nearest address in `X-Forwarded-For` that is not one.
pub fn client_ip(peer: SocketAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    let mut ip = peer.ip();
    if !trusted.contains(&ip) {
        return ip;
    }
    let forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|a| a.trim().parse::<IpAddr>().ok())
        .collect::<Vec<_>>();
    for hop in forwarded.into_iter().rev() {
        ip = hop;
        if !trusted.contains(&hop) {
            break;
        }
    }
    ip
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_addresses_count_only_behind_a_trusted_proxy() {
        let proxy: IpAddr = "10.0.0.2".parse().unwrap();
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", "203.0.113.9, 10.0.0.3".parse().unwrap());
        let peer = SocketAddr::new(proxy, 4000);
        assert_eq!(
            client_ip(peer, &h, &[]),
            proxy,
            "untrusted: the header is ignored"
        );
        let trusted = ["10.0.0.2".parse().unwrap(), "10.0.0.3".parse().unwrap()];
        assert_eq!(
            client_ip(peer, &h, &trusted),
            "203.0.113.9".parse::<IpAddr>().unwrap()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_bucket_refuses_past_its_burst_and_refills() {
        let limits = PerIp::new(2, 3);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        assert!((0..3).all(|_| limits.allow(ip)));
        assert!(!limits.allow(ip));
        assert!(
            limits.allow("192.0.2.2".parse().unwrap()),
            "other addresses are not affected"
        );
        tokio::time::advance(std::time::Duration::from_millis(500)).await;
        assert!(limits.allow(ip));
        assert!(!limits.allow(ip));
    }
}
