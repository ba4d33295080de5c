//! Rate limits: a token bucket per connection or participant (messages)
//! and per client address (new connections, new participants, new
//! sessions, lookups of codes that do not exist); and the sockets each
//! address holds open (`SocketPlaces`).
//!
//! The per-address limits are generous by default: a whole room behind one
//! venue NAT joins, or rejoins after the Wi-Fi drops, within the burst.
//! IPv6 addresses count by their /64 (one subscriber's network), and idle
//! buckets are swept on a timer, never while answering a request.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

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
        Bucket::with_rate(rate as f64, burst)
    }

    /// A bucket refilled by `rate` tokens a second (fractions allowed).
    pub fn with_rate(rate: f64, burst: u32) -> Bucket {
        Bucket {
            tokens: burst as f64,
            rate,
            burst: burst as f64,
            at: Instant::now(),
        }
    }

    /// Whole seconds until the next token (at least 1): a `Retry-After`.
    pub fn retry_after(&self) -> u64 {
        let missing = (1.0 - self.tokens).max(0.0);
        if self.rate <= 0.0 {
            return 3600;
        }
        ((missing / self.rate).ceil() as u64).clamp(1, 3600)
    }

    /// Is there a token now (without taking it)?
    pub fn has_token(&mut self) -> bool {
        self.refill();
        self.tokens >= 1.0
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

    pub fn is_full(&mut self) -> bool {
        self.refill();
        self.tokens >= self.burst
    }
}

/// One bucket per client address (IPv6 by /64).
pub struct PerIp {
    buckets: DashMap<IpAddr, Bucket>,
    rate: f64,
    burst: u32,
}

/// The key an address counts under: an IPv4 address as itself (also when
/// written as IPv4-mapped IPv6), an IPv6 address by its /64, since one
/// subscriber usually holds a whole /64 and could change address at will.
pub fn ip_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

impl PerIp {
    pub fn new(rate: u32, burst: u32) -> PerIp {
        PerIp::with_rate(rate as f64, burst)
    }

    /// Refilled by `rate` a second (fractions allowed: 10 a minute is 1/6).
    pub fn with_rate(rate: f64, burst: u32) -> PerIp {
        PerIp {
            buckets: DashMap::new(),
            rate,
            burst,
        }
    }

    /// True if `ip` may do one more.
    pub fn allow(&self, ip: IpAddr) -> bool {
        self.take(ip).is_ok()
    }

    /// Takes one for `ip`; when there is none, the seconds until there is.
    pub fn take(&self, ip: IpAddr) -> Result<(), u64> {
        let mut b = self
            .buckets
            .entry(ip_key(ip))
            .or_insert_with(|| Bucket::with_rate(self.rate, self.burst));
        if b.try_take() {
            Ok(())
        } else {
            Err(b.retry_after())
        }
    }

    /// Whether `ip` has one left, without taking it: Err with the seconds
    /// until it has. An address never seen has its whole burst.
    pub fn check(&self, ip: IpAddr) -> Result<(), u64> {
        match self.buckets.get_mut(&ip_key(ip)) {
            Some(mut b) => {
                if b.has_token() {
                    Ok(())
                } else {
                    Err(b.retry_after())
                }
            }
            None => Ok(()),
        }
    }

    /// Forgets the addresses whose bucket is full again: they are as if
    /// never seen. Run on a timer, so no request pays for a scan.
    pub fn sweep(&self) {
        self.buckets.retain(|_, b| !b.is_full());
    }

    /// Addresses tracked now.
    pub fn tracked(&self) -> usize {
        self.buckets.len()
    }
}

/// Open sockets by client address, against `--ip-max-sockets`. Addresses
/// are counted as given: the caller passes the key (`ip_key`). An address
/// holding none has no entry.
#[derive(Default)]
pub struct SocketPlaces {
    by_ip: DashMap<IpAddr, usize>,
}

impl SocketPlaces {
    /// Sockets `ip` holds now.
    pub fn held(&self, ip: IpAddr) -> usize {
        self.by_ip.get(&ip).map_or(0, |n| *n)
    }

    /// Takes a place for `ip` if it holds fewer than `max`; true if taken.
    pub fn take(&self, ip: IpAddr, max: usize) -> bool {
        {
            let mut n = self.by_ip.entry(ip).or_insert(0);
            if *n < max {
                *n += 1;
                return true;
            }
        }
        self.by_ip.remove_if(&ip, |_, n| *n == 0);
        false
    }

    /// Gives back a place `ip` took.
    pub fn give_back(&self, ip: IpAddr) {
        if let Some(mut n) = self.by_ip.get_mut(&ip) {
            *n = n.saturating_sub(1);
        }
        self.by_ip.remove_if(&ip, |_, n| *n == 0);
    }

    /// Addresses holding a place now.
    pub fn addresses(&self) -> usize {
        self.by_ip.len()
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

    #[tokio::test(start_paused = true)]
    async fn ipv6_counts_by_its_64_and_mapped_ipv4_as_ipv4() {
        let limits = PerIp::new(1, 2);
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff:1:2:3".parse().unwrap();
        assert!(limits.allow(a));
        assert!(limits.allow(b));
        assert!(
            !limits.allow("2001:db8:1:2::99".parse().unwrap()),
            "a new address in the same /64 shares its bucket"
        );
        assert!(
            limits.allow("2001:db8:1:3::1".parse().unwrap()),
            "the next /64 is another client"
        );
        let v4: IpAddr = "192.0.2.7".parse().unwrap();
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(ip_key(mapped), v4);
        assert!(limits.allow(v4));
        assert!(limits.allow(mapped));
        assert!(!limits.allow(v4), "the mapped form is the same client");
        assert_eq!(limits.take(v4), Err(1), "the next token is a second away");
    }

    #[tokio::test(start_paused = true)]
    async fn idle_addresses_are_swept_on_the_timer_not_per_call() {
        let limits = PerIp::new(10, 5);
        for i in 0..20_000u32 {
            limits.allow(IpAddr::V4(i.into()));
        }
        assert_eq!(limits.tracked(), 20_000, "no call scans or drops the map");
        let busy: IpAddr = "198.51.100.1".parse().unwrap();
        tokio::time::advance(std::time::Duration::from_secs(1)).await;
        for _ in 0..5 {
            limits.allow(busy);
        }
        limits.sweep();
        assert_eq!(
            limits.tracked(),
            1,
            "only the address still in debt is kept"
        );
        assert!(!limits.allow(busy), "and its debt is kept");
    }

    /// 2,000 phones behind one venue NAT, each opening a socket and joining
    /// as a new participant, a fifth of them reconnecting once, spread over
    /// 30 s: with the default limits every one gets in. An address creating
    /// participants without end is still cut.
    #[tokio::test(start_paused = true)]
    async fn the_default_limits_let_a_plenary_behind_one_nat_join_within_30_s() {
        let c = crate::config::Config::defaults();
        let sockets = PerIp::new(c.ip_connections_per_sec, c.ip_connections_burst);
        let joins = PerIp::new(c.ip_participants_per_sec, c.ip_participants_burst);
        let nat: IpAddr = "203.0.113.50".parse().unwrap();
        let step = std::time::Duration::from_millis(15);
        for phone in 0..2_000 {
            assert!(sockets.allow(nat), "phone {phone}: socket refused");
            assert!(joins.allow(nat), "phone {phone}: join refused");
            if phone % 5 == 0 {
                assert!(sockets.allow(nat), "phone {phone}: reconnect refused");
            }
            tokio::time::advance(step).await;
        }
        // A script creating participants as fast as it can, for a minute more.
        let mut made = 0u64;
        for _ in 0..60_000 {
            if joins.allow(nat) {
                made += 1;
            }
            tokio::time::advance(std::time::Duration::from_millis(1)).await;
        }
        // At most what the burst still held, and the rate.
        let bound = c.ip_participants_burst as u64 + c.ip_participants_per_sec as u64 * 60;
        assert!(
            made <= bound,
            "{made} participants in a minute, over {bound}"
        );
        assert!(made < 60_000, "an endless stream is cut");
    }
}
