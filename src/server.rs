//! The HTTP/1.1 server under the router: hyper's connection builder with the timeouts of the
//! contract, and a per-address cap on open connections.
//!
//! `axum::serve` offers no settings (no header-read timeout, no idle timeout, no limit), so
//! connections are served here with hyper's own `http1::Builder`, as `axum::serve` does inside:
//!
//! - **Request heads**: hyper's `header_read_timeout` ([`Timeouts::head`], 10 s): a connection
//!   that has not sent a complete request head that long after it was accepted is closed.
//! - **Idle keep-alive**: hyper starts that same timer again as soon as a response is written, so
//!   alone it would close an idle keep-alive connection after 10 s. The timer given to hyper
//!   ([`HeadTimer`]) waits instead up to [`Timeouts::idle`] (75 s) for the next request's first
//!   byte, and from that byte on [`Timeouts::head`] for the rest of its head. An upgraded
//!   WebSocket has left hyper's connection and is not subject to either.
//! - **Bodies**: read whole within 10 s or answered 408 (see `crate::app`'s body layer).
//! - **Per address**: the TCP peer (proxies in `TRUSTED_PROXIES` exempt) holds at most
//!   `MAX_CONNECTIONS_PER_ADDRESS` open connections; one more is closed as soon as it is
//!   accepted. The count is held by the connection's IO object, which an upgraded WebSocket takes
//!   over, so it lasts as long as the socket does.
//! - **Accept errors** (EMFILE and the like) back off instead of spinning, and are logged at most
//!   once a minute.
//! - **Graceful shutdown** as `axum::serve`'s: no new connections, in-flight requests finish, idle
//!   connections close. (hyper-util's `GracefulShutdown` is not used: it does not take an HTTP/1
//!   connection with upgrades unless hyper-util's HTTP/2 is compiled in.)
use std::{
    collections::HashMap,
    future::Future,
    io,
    net::IpAddr,
    pin::Pin,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    task::{Context, Poll},
    time::{Duration, Instant},
};

use axum::{Router, body::Body, extract::ConnectInfo, http::Request};
use hyper::body::Incoming;
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    service::TowerToHyperService,
};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::watch,
};
use tower::ServiceExt as _;

use crate::net::IpNet;

/// How long a request head may take, and how long a keep-alive connection may wait idle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// A connection's first request head must be complete this long after it was accepted; a
    /// later one, this long after its first byte.
    pub head: Duration,
    /// A keep-alive connection waiting for its next request is closed after this long.
    pub idle: Duration,
}

impl Default for Timeouts {
    /// 10 s for a head, 75 s idle (the contract's "Connections").
    fn default() -> Self {
        Self { head: Duration::from_secs(10), idle: Duration::from_secs(75) }
    }
}

/// What [`serve`] enforces besides the timeouts.
#[derive(Clone, Debug)]
pub struct Settings {
    pub timeouts: Timeouts,
    /// Open connections one client address may hold.
    pub max_connections_per_address: u32,
    /// Peers not counted (`TRUSTED_PROXIES`: their clients are many).
    pub trusted_proxies: Vec<IpNet>,
}

/// How long accepting pauses after an error that is not one connection's (EMFILE, ENOMEM…).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
/// At most one log line per this long about accept errors.
const ACCEPT_ERROR_LOG_EVERY: Duration = Duration::from_secs(60);

/// Serves `router` on `listener` until `shutdown` completes, then stops accepting and waits for
/// the connections' in-flight requests to finish. Handlers can extract `ConnectInfo<SocketAddr>`
/// (the TCP peer). Never fails: accept errors are retried after a pause.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    settings: Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let counts = Arc::new(Counts::default());
    // `true` once shutting down; each connection task watches it.
    let (stop_tx, stop_rx) = watch::channel(false);
    // Each connection task holds a receiver; when all are dropped, every connection has ended.
    let (ended_tx, ended_rx) = watch::channel(());
    let mut shutdown = std::pin::pin!(shutdown);
    let mut errors = AcceptErrors::default();
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    if !is_connection_error(&e) {
                        errors.note(&e);
                        tokio::time::sleep(ACCEPT_BACKOFF).await;
                    }
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let ip = peer.ip().to_canonical();
        let slot = if settings.trusted_proxies.iter().any(|n| n.contains(ip)) {
            None
        } else {
            match counts.take(ip, settings.max_connections_per_address) {
                Some(slot) => Some(slot),
                // Over the limit: closed at once (the stream is dropped here).
                None => continue,
            }
        };
        let reads = Arc::new(AtomicU64::new(0));
        let io = TokioIo::new(Counted { stream, reads: reads.clone(), _slot: slot });
        let service = router.clone().map_request(move |mut req: Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            req.map(Body::new)
        });
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .timer(HeadTimer { reads, first: Arc::new(AtomicBool::new(true)), timeouts: settings.timeouts })
            .header_read_timeout(settings.timeouts.head)
            .keep_alive(true);
        let mut stop = stop_rx.clone();
        let ended = ended_rx.clone();
        tokio::spawn(async move {
            let conn = builder.serve_connection(io, TowerToHyperService::new(service)).with_upgrades();
            let mut conn = std::pin::pin!(conn);
            tokio::select! {
                result = conn.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!(reason = %e, "connection ended with an error");
                    }
                }
                // Only ever changed to `true` (or dropped): shutting down.
                _ = stop.changed() => {
                    conn.as_mut().graceful_shutdown();
                    if let Err(e) = conn.as_mut().await {
                        tracing::debug!(reason = %e, "connection ended with an error");
                    }
                }
            }
            drop(ended);
        });
    }
    let _ = stop_tx.send(true);
    drop(stop_rx);
    drop(ended_rx);
    drop(listener);
    ended_tx.closed().await;
}

/// Errors of one connection that the kernel reports on accept: the next accept is fine.
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset
    )
}

/// Accept errors seen, logged at most once per [`ACCEPT_ERROR_LOG_EVERY`].
#[derive(Default)]
struct AcceptErrors {
    logged_at: Option<Instant>,
    unlogged: u64,
}

impl AcceptErrors {
    fn note(&mut self, e: &io::Error) {
        self.unlogged += 1;
        if self.logged_at.is_none_or(|at| at.elapsed() >= ACCEPT_ERROR_LOG_EVERY) {
            tracing::warn!(reason = %e, errors = self.unlogged, "cannot accept connections; retrying");
            self.logged_at = Some(Instant::now());
            self.unlogged = 0;
        }
    }
}

/// Open connections per client address (only addresses that hold some).
#[derive(Default)]
struct Counts(Mutex<HashMap<IpAddr, u32>>);

impl Counts {
    /// One more connection of `ip`, or `None` when it holds `limit` already.
    fn take(self: &Arc<Self>, ip: IpAddr, limit: u32) -> Option<Slot> {
        let mut counts = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let n = counts.entry(ip).or_insert(0);
        if *n >= limit {
            return None;
        }
        *n += 1;
        Some(Slot { counts: self.clone(), ip })
    }
}

/// One counted connection; dropped with the connection's IO (after an upgrade, with the socket).
struct Slot {
    counts: Arc<Counts>,
    ip: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut counts = self.counts.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = counts.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                counts.remove(&self.ip);
            }
        }
    }
}

/// A TCP connection that holds its address's [`Slot`] and counts the reads that brought bytes
/// (which [`HeadTimer`] watches).
struct Counted {
    stream: TcpStream,
    reads: Arc<AtomicU64>,
    _slot: Option<Slot>,
}

impl AsyncRead for Counted {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.stream).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.reads.fetch_add(1, Ordering::Relaxed);
        }
        polled
    }
}

impl AsyncWrite for Counted {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

/// hyper's timer for one connection. hyper asks it for one thing only: the deadline of the
/// request head it is waiting for (`header_read_timeout`). The connection's first head gets that
/// deadline as asked (counted from the accept). A later head is waited for from the moment the
/// previous response was written, and that wait is the keep-alive idle time: it may last
/// [`Timeouts::idle`], and once the next request's first byte arrives, the rest of the head has
/// [`Timeouts::head`].
#[derive(Clone)]
struct HeadTimer {
    reads: Arc<AtomicU64>,
    first: Arc<AtomicBool>,
    timeouts: Timeouts,
}

impl hyper::rt::Timer for HeadTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        TokioTimer::new().sleep(duration)
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        if self.first.swap(false, Ordering::Relaxed) {
            return TokioTimer::new().sleep_until(deadline);
        }
        Box::pin(NextHead {
            reads: self.reads.clone(),
            reads_when_idle: self.reads.load(Ordering::Relaxed),
            head: self.timeouts.head,
            begun: false,
            sleep: Box::pin(tokio::time::sleep(self.timeouts.idle)),
        })
    }
}

/// The deadline of a keep-alive connection's next request head: [`Timeouts::idle`] while no
/// byte of it came, then [`Timeouts::head`] from the poll that saw its first byte (hyper polls
/// this right after each read that left the head incomplete).
struct NextHead {
    reads: Arc<AtomicU64>,
    reads_when_idle: u64,
    head: Duration,
    begun: bool,
    sleep: Pin<Box<tokio::time::Sleep>>,
}

impl Future for NextHead {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if !this.begun && this.reads.load(Ordering::Relaxed) != this.reads_when_idle {
            this.begun = true;
            this.sleep.as_mut().reset(tokio::time::Instant::now() + this.head);
        }
        this.sleep.as_mut().poll(cx)
    }
}

impl hyper::rt::Sleep for NextHead {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_holds_at_most_its_limit_and_a_dropped_slot_frees_one() {
        let counts = Arc::new(Counts::default());
        let ip: IpAddr = [192, 0, 2, 1].into();
        let other: IpAddr = [192, 0, 2, 2].into();
        let held: Vec<Slot> = (0..3).filter_map(|_| counts.take(ip, 3)).collect();
        assert_eq!(held.len(), 3);
        assert!(counts.take(ip, 3).is_none(), "a fourth is refused");
        assert!(counts.take(other, 3).is_some(), "another address is not");
        drop(held);
        assert!(counts.0.lock().map(|c| c.is_empty()).unwrap_or(false), "no entry left behind");
        assert!(counts.take(ip, 3).is_some());
    }
}
