//! Serving a router on a TCP listener in a background task, with a handle
//! that stops it. Emulators bind to loopback port 0 by default so tests can
//! run in parallel without port clashes.
//!
//! Every connection can be severed from inside a request ([`Severer`]): a
//! provider that applied a change and then lost the connection answers
//! nothing at all, and no middleware can express that with a response.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, Request, connect_info::Connected};
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How long a graceful shutdown may wait for in-flight requests before the
/// server task is aborted.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// A running server. Dropping the handle also asks the server to stop.
#[derive(Debug)]
pub struct ServerHandle {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<io::Result<()>>>,
}

impl ServerHandle {
    /// Binds a listener. Kept separate from [`ServerHandle::serve`] because
    /// emulators need the bound port to build absolute URLs before they can
    /// build their router.
    pub async fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
        TcpListener::bind(addr).await
    }

    /// Serves `router` on `listener` in a background task until shutdown.
    pub fn serve(listener: TcpListener, router: Router) -> io::Result<Self> {
        let addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let service = router
            .layer(axum::middleware::map_request(expose_peer))
            .into_make_service_with_connect_info::<Peer>();
        let task = tokio::spawn(async move {
            axum::serve(SeverableListener(listener), service)
                .with_graceful_shutdown(async move {
                    // A dropped sender also means "stop".
                    let _ = stopped.await;
                })
                .await
        });
        Ok(Self {
            addr,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// The address actually bound (with the real port when 0 was asked for).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting connections, lets in-flight requests finish (up to a
    /// few seconds), then returns.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(SHUTDOWN_GRACE, &mut task)
                .await
                .is_err()
        {
            task.abort();
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Closes one connection from inside a request handled on it: whatever the
/// handler answers is never written, and the client sees the connection end
/// with no response. Found in every request's extensions.
#[derive(Clone, Debug, Default)]
pub struct Severer(Arc<AtomicBool>);

impl Severer {
    /// Marks the connection severed: the next write or read on it fails.
    pub fn sever(&self) {
        self.0.store(true, Ordering::Release);
    }

    fn is_severed(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// The peer of a connection and its severer, as the server hands them to the router.
#[derive(Clone, Debug)]
struct Peer {
    addr: SocketAddr,
    severer: Severer,
}

impl Connected<IncomingStream<'_, SeverableListener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, SeverableListener>) -> Self {
        stream.remote_addr().clone()
    }
}

/// Hands handlers the peer address (as `ConnectInfo<SocketAddr>`, what the
/// emulators read) and the connection's [`Severer`].
async fn expose_peer(mut req: Request) -> Request {
    if let Some(ConnectInfo(peer)) = req.extensions().get::<ConnectInfo<Peer>>().cloned() {
        req.extensions_mut().insert(ConnectInfo(peer.addr));
        req.extensions_mut().insert(peer.severer);
    }
    req
}

/// A TCP listener whose connections can be severed.
struct SeverableListener(TcpListener);

impl Listener for SeverableListener {
    type Io = SeverableStream;
    type Addr = Peer;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (stream, addr) = Listener::accept(&mut self.0).await;
        let severer = Severer::default();
        let io = SeverableStream {
            inner: stream,
            severer: severer.clone(),
        };
        (io, Peer { addr, severer })
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(Peer {
            addr: self.0.local_addr()?,
            severer: Severer::default(),
        })
    }
}

/// A TCP stream that fails every read and write once severed, so the HTTP
/// server drops the connection without writing the pending response.
struct SeverableStream {
    inner: TcpStream,
    severer: Severer,
}

fn severed() -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionAborted, "connection severed")
}

impl AsyncRead for SeverableStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.severer.is_severed() {
            return Poll::Ready(Err(severed()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for SeverableStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.severer.is_severed() {
            return Poll::Ready(Err(severed()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.severer.is_severed() {
            return Poll::Ready(Err(severed()));
        }
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
