//! What every HR emulator shares: the running emulator itself (server, employees, fault knobs,
//! configuration), the fault knobs that make the API throttle or fail on demand, Basic-auth
//! parsing, and delivering a signed webhook.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, AtomicU32, AtomicU64, Ordering};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::common::clock;
use crate::common::knobs::{self, Knobs};
use crate::common::server::{ServerHandle, Severer};
use crate::hr::directory::{DemoPeople, Directory, IdStyle, seed_demo};

/// Binds `127.0.0.1:0`, serves `router`, and returns the handle and the origin URL.
pub(crate) async fn serve(router: Router) -> io::Result<(ServerHandle, String)> {
    let listener = ServerHandle::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await?;
    let server = ServerHandle::serve(listener, router)?;
    let base = format!("http://{}", server.addr());
    Ok((server, base))
}

/// A running HR emulator: its loopback server, the employees it serves, its fault knobs, the
/// vendor's configuration `C` and whatever else the vendor keeps (`X`: issued tokens, webhook
/// subscriptions). Each vendor module names it (`HiBobEmulator = HrEmulator<HiBobConfig>`) and
/// adds its own accessors. Derefs to its [`Directory`] for the state API (`seed`, `terminate`,
/// `rescind`, `move_termination`). Dropping it stops the server.
#[derive(Debug)]
pub struct HrEmulator<C, X = ()> {
    server: ServerHandle,
    pub(crate) origin: String,
    pub(crate) config: Arc<C>,
    pub(crate) directory: Arc<Directory>,
    faults: Arc<Faults>,
    pub(crate) extra: X,
}

/// What a vendor's routes are built from.
pub(crate) struct Parts<C, X> {
    pub directory: Arc<Directory>,
    pub config: Arc<C>,
    pub extra: X,
    /// `http://127.0.0.1:<port>`, known before the routes are (some answers quote it).
    pub origin: String,
    /// Layer [`fault_gate`] with these inside the vendor's authentication gate.
    pub faults: Arc<Faults>,
}

impl<C, X: Clone> HrEmulator<C, X> {
    /// Binds a free loopback port and serves the vendor's `routes` over a fresh directory whose
    /// ids look like the vendor's (`ids`, seeded with `seed`); injected faults render with
    /// `render`.
    pub(crate) async fn serve(
        config: C,
        ids: IdStyle,
        seed: u64,
        render: ErrorRenderer,
        extra: X,
        routes: impl FnOnce(Parts<C, X>) -> Router,
    ) -> io::Result<Self> {
        let listener = ServerHandle::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await?;
        let origin = format!("http://{}", listener.local_addr()?);
        let directory = Arc::new(Directory::new(ids, seed));
        let faults = Arc::new(Faults::new(render));
        let config = Arc::new(config);
        let router = routes(Parts {
            directory: Arc::clone(&directory),
            config: Arc::clone(&config),
            extra: extra.clone(),
            origin: origin.clone(),
            faults: Arc::clone(&faults),
        });
        let server = ServerHandle::serve(listener, router)?;
        Ok(Self {
            server,
            origin,
            config,
            directory,
            faults,
            extra,
        })
    }
}

impl<C, X> HrEmulator<C, X> {
    /// The emulator with the demo company seeded (see [`seed_demo`]).
    pub(crate) fn seeded(self) -> (Self, DemoPeople) {
        let demo = seed_demo(&self.directory);
        (self, demo)
    }

    pub fn directory(&self) -> &Directory {
        &self.directory
    }

    /// Fault injection (429 with `Retry-After`, 5xx).
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// Stops the server, letting in-flight requests finish.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}

impl<C, X> std::ops::Deref for HrEmulator<C, X> {
    type Target = Directory;
    fn deref(&self) -> &Directory {
        &self.directory
    }
}

/// Renders a vendor's error body for a status (429, 5xx) the fault knobs inject.
pub(crate) type ErrorRenderer = fn(StatusCode) -> Response;

/// Fault controls for one HR emulator. Order on each API request: latency (drawn from
/// [`Knobs`]' distribution), authentication (done by the vendor's own gate), then a forced
/// 429, then a storm (429 with a `Retry-After` naming its end), then a forced failure status,
/// then random 5xx from [`Knobs`], then the handler, then lost responses (for requests that
/// change something). A rejected request never reaches the handler.
#[derive(Debug)]
pub struct Faults {
    knobs: Knobs,
    fail_status: AtomicU16,
    fail_count: AtomicU32,
    retry_after_secs: AtomicU64,
    requests: AtomicU64,
    render: ErrorRenderer,
}

impl Faults {
    pub(crate) fn new(render: ErrorRenderer) -> Self {
        Self {
            knobs: Knobs::new(6_000),
            fail_status: AtomicU16::new(500),
            fail_count: AtomicU32::new(0),
            retry_after_secs: AtomicU64::new(1),
            requests: AtomicU64::new(0),
            render,
        }
    }

    /// Latency, random 5xx rate, forced 429 bursts, storms and lost responses, shared with the
    /// other emulators.
    pub fn knobs(&self) -> &Knobs {
        &self.knobs
    }

    /// The next `n` authenticated API requests answer 429 with `Retry-After`.
    pub fn throttle_next(&self, n: u32) {
        self.knobs.burst_429(n);
    }

    /// The `Retry-After` seconds sent with injected 429s (default 1).
    pub fn set_retry_after(&self, secs: u64) {
        self.retry_after_secs.store(secs, Ordering::Relaxed);
    }

    /// The next `n` authenticated API requests answer `status` (e.g. 500, 503).
    pub fn fail_next(&self, status: u16, n: u32) {
        self.fail_status.store(status, Ordering::Relaxed);
        self.fail_count.store(n, Ordering::Relaxed);
    }

    /// API requests that reached the fault gate (authenticated ones).
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Clears every injected fault.
    pub fn reset(&self) {
        self.knobs.reset();
        self.fail_count.store(0, Ordering::Relaxed);
    }

    fn take_failure(&self) -> Option<StatusCode> {
        self.fail_count
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
            .ok()
            .and_then(|_| StatusCode::from_u16(self.fail_status.load(Ordering::Relaxed)).ok())
    }
}

/// The fault middleware; layer it inside the vendor's authentication gate.
pub(crate) async fn fault_gate(
    State(faults): State<Arc<Faults>>,
    req: Request,
    next: Next,
) -> Response {
    faults.knobs.delay().await;
    faults.requests.fetch_add(1, Ordering::Relaxed);
    if faults.knobs.take_burst_429() {
        let secs = faults.retry_after_secs.load(Ordering::Relaxed);
        return throttled(&faults, secs);
    }
    let now_ms = faults.knobs.timeline().epoch_millis();
    if let Some(until_ms) = faults.knobs.storm_until(now_ms) {
        let secs = clock::ceil_secs(until_ms.saturating_sub(now_ms)).max(1);
        return throttled(&faults, secs);
    }
    if let Some(status) = faults.take_failure() {
        return (faults.render)(status);
    }
    if let Some(code) = faults.knobs.roll_5xx()
        && let Ok(status) = StatusCode::from_u16(code)
    {
        return (faults.render)(status);
    }
    let mutating = !matches!(*req.method(), Method::GET | Method::HEAD);
    let severer = req.extensions().get::<Severer>().cloned();
    let response = next.run(req).await;
    if mutating
        && response.status().is_success()
        && let Some(lost) = faults.knobs.take_lost_response()
    {
        let render = faults.render;
        return knobs::lose(lost, severer, |s| {
            render(StatusCode::from_u16(s).unwrap_or(StatusCode::BAD_GATEWAY))
        })
        .await;
    }
    response
}

/// The vendor's 429 with `Retry-After: secs`.
fn throttled(faults: &Faults, secs: u64) -> Response {
    let mut response = (faults.render)(StatusCode::TOO_MANY_REQUESTS);
    if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, v);
    }
    response
}

/// The `user:password` pair of an `Authorization: Basic` header.
pub(crate) fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

/// The token of an `Authorization: Bearer` header.
pub(crate) fn bearer_token(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

/// Constant-time-enough comparison for emulator credentials (length leaks are irrelevant here,
/// but a plain `==` would teach the wrong habit).
pub(crate) fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// POSTs a webhook body with the given headers, as the vendor's delivery service would
/// (`Content-Type: application/json` unless `headers` name one).
pub(crate) async fn deliver(
    url: &str,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
) -> reqwest::Result<reqwest::Response> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let mut request = client.post(url).body(body);
    // JSON unless the vendor's delivery names another content type.
    if !headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("content-type"))
    {
        request = request.header(header::CONTENT_TYPE, "application/json");
    }
    for (name, value) in headers {
        request = request.header(name, value);
    }
    request.send().await
}

/// Today's date in UTC: the emulators decide "has the termination taken effect" on it.
pub(crate) fn today() -> jiff::civil::Date {
    jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date()
}
