//! A minimal SMTP server (RFC 5321) on loopback that keeps every message it accepts, so a
//! test can check that a reminder really reached an inbox: envelope sender and recipients,
//! the raw message and its `Subject`.
//!
//! It speaks enough of the protocol for a real client library: EHLO/HELO, AUTH PLAIN and
//! LOGIN (RFC 4954), MAIL FROM, RCPT TO, DATA with dot-unstuffing, RSET, NOOP and QUIT, and
//! answers out-of-order commands with 503 as a relay would. Knobs make it reject one
//! recipient with 550, refuse service with 421 (an outage), or demand credentials.
//!
//! [`SmtpSink::start_tls`] protects the sessions as a real relay does: STARTTLS (RFC 3207,
//! required before MAIL, as submission on port 587 is set up) or TLS from the first byte
//! (port 465), with a server certificate for `localhost` issued by a CA made for that sink.

use crate::common::lock;
use std::collections::HashSet;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Longest command line accepted (RFC 5321 §4.5.3.1.4 allows 512 octets; extensions more).
const MAX_COMMAND_LINE: usize = 2048;
/// Largest message accepted, advertised as `SIZE`.
const MAX_MESSAGE_BYTES: usize = 10 * 1024 * 1024;
/// A client silent for this long is disconnected, so a stuck test cannot pin a task.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Name the server gives itself in greetings.
const SERVER_NAME: &str = "smtp.sandbox.passage.invalid";

/// One message accepted with `250` after DATA.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivedMail {
    /// Reverse path from `MAIL FROM` (empty for a null sender `<>`).
    pub envelope_from: String,
    /// Forward paths from every accepted `RCPT TO`, in order.
    pub envelope_to: Vec<String>,
    /// The message as transmitted, after dot-unstuffing, with CRLF line endings.
    pub data: String,
    /// The decoded `Subject` header, when there is one.
    pub subject: Option<String>,
    /// The user name the client authenticated as, when it did.
    pub authenticated_as: Option<String>,
    /// Whether the message travelled over TLS.
    pub tls: bool,
}

impl ReceivedMail {
    /// The value of the first header called `name` (case-insensitive), unfolded and with
    /// RFC 2047 encoded words decoded.
    pub fn header(&self, name: &str) -> Option<String> {
        header_value(&self.data, name)
    }

    /// Everything after the blank line that ends the headers.
    pub fn body(&self) -> &str {
        self.data
            .split_once("\r\n\r\n")
            .map_or("", |(_, body)| body)
    }
}

#[derive(Debug, Default)]
struct State {
    received: Vec<ReceivedMail>,
    rejected_recipients: HashSet<String>,
    outage: bool,
    credentials: Option<(String, String)>,
    failed_logins: u32,
}

/// How a TLS sink protects its sessions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmtpTlsMode {
    /// Plain greeting, `STARTTLS` offered and required before `MAIL`.
    Starttls,
    /// TLS handshake before the greeting (SMTPS).
    Implicit,
}

/// The TLS side of a sink: its mode and the server configuration to accept with.
#[derive(Clone)]
struct TlsSetup {
    mode: SmtpTlsMode,
    acceptor: tokio_rustls::TlsAcceptor,
}

/// A running SMTP sink. Dropping it stops the server.
#[derive(Debug)]
pub struct SmtpSink {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    /// PEM of the CA that issued a TLS sink's certificate.
    ca_pem: Option<String>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl SmtpSink {
    /// Starts a plain-text sink on a free loopback port.
    pub async fn start() -> io::Result<Self> {
        Self::serve(None).await
    }

    /// Starts a sink that protects its sessions with TLS as `mode` says. Its certificate
    /// names `localhost` and 127.0.0.1 and chains to [`SmtpSink::ca_pem`], which a client
    /// must be told to trust.
    pub async fn start_tls(mode: SmtpTlsMode) -> io::Result<Self> {
        let (config, ca_pem) = tls_config().map_err(io::Error::other)?;
        let setup = TlsSetup {
            mode,
            acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)),
        };
        let mut sink = Self::serve(Some(setup)).await?;
        sink.ca_pem = Some(ca_pem);
        Ok(sink)
    }

    /// The PEM of the CA a TLS sink's certificate chains to (`None` for a plain sink).
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    async fn serve(tls: Option<TlsSetup>) -> io::Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(State::default()));
        let (stop, mut stopped) = oneshot::channel::<()>();
        let shared = Arc::clone(&state);
        let task = tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = &mut stopped => break,
                    accepted = listener.accept() => {
                        let Ok((stream, _)) = accepted else { continue };
                        let state = Arc::clone(&shared);
                        let tls = tls.clone();
                        tokio::spawn(async move {
                            // A client that misbehaves or goes away only ends its own
                            // session; the sink keeps serving others.
                            let _ = serve_connection(stream, state, tls).await;
                        });
                    }
                }
            }
        });
        Ok(Self {
            addr,
            state,
            ca_pem: None,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// The bound address (loopback, real port).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `smtp://127.0.0.1:<port>`, for configuration that takes a URL.
    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    /// Every message accepted so far, oldest first.
    pub fn received(&self) -> Vec<ReceivedMail> {
        self.lock().received.clone()
    }

    /// Answers `RCPT TO` for `address` (case-insensitive) with 550 from now on.
    pub fn reject_recipient(&self, address: &str) {
        self.lock()
            .rejected_recipients
            .insert(address.to_ascii_lowercase());
    }

    /// While `on`, greets every new connection with 421 and closes it, as a relay that is
    /// down for maintenance does.
    pub fn set_outage(&self, on: bool) {
        self.lock().outage = on;
    }

    /// Requires AUTH with exactly these credentials before MAIL; wrong ones get 535.
    /// Without this, any credentials are accepted (and recorded).
    pub fn require_auth(&self, username: &str, password: &str) {
        self.lock().credentials = Some((username.to_owned(), password.to_owned()));
    }

    /// How many AUTH attempts were refused.
    pub fn failed_logins(&self) -> u32 {
        self.lock().failed_logins
    }

    /// Stops accepting connections.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Where a session is in the mail transaction (RFC 5321 §3.3).
#[derive(Default)]
struct Session {
    /// The session runs over TLS.
    secure: bool,
    /// STARTTLS is offered, and required before MAIL.
    offer_starttls: bool,
    greeted: bool,
    authenticated_as: Option<String>,
    from: Option<String>,
    to: Vec<String>,
}

impl Session {
    fn reset_transaction(&mut self) {
        self.from = None;
        self.to.clear();
    }
}

/// How a session ended: the client left, or asked to continue over TLS (STARTTLS).
enum Ended<S> {
    Closed,
    Upgrade(S),
}

async fn serve_connection(
    stream: TcpStream,
    state: Arc<Mutex<State>>,
    tls: Option<TlsSetup>,
) -> io::Result<()> {
    let Some(tls) = tls else {
        serve_session(stream, &state, Session::default(), true).await?;
        return Ok(());
    };
    match tls.mode {
        SmtpTlsMode::Implicit => {
            let stream = tls.acceptor.accept(stream).await?;
            let session = Session {
                secure: true,
                ..Session::default()
            };
            serve_session(stream, &state, session, true).await?;
        }
        SmtpTlsMode::Starttls => {
            let session = Session {
                offer_starttls: true,
                ..Session::default()
            };
            if let Ended::Upgrade(stream) = serve_session(stream, &state, session, true).await? {
                let stream = tls.acceptor.accept(stream).await?;
                // RFC 3207 §4.2: the client starts again with EHLO; nothing carries over.
                let session = Session {
                    secure: true,
                    ..Session::default()
                };
                serve_session(stream, &state, session, false).await?;
            }
        }
    }
    Ok(())
}

async fn serve_session<S>(
    stream: S,
    state: &Arc<Mutex<State>>,
    mut session: Session,
    greet: bool,
) -> io::Result<Ended<S>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (read, mut write) = tokio::io::split(stream);
    let mut reader = BufReader::new(read);
    if greet {
        if lock(state).outage {
            reply(
                &mut write,
                &format!(
                    "421 4.3.2 {SERVER_NAME} Service not available, closing transmission channel"
                ),
            )
            .await?;
            return Ok(Ended::Closed);
        }
        reply(
            &mut write,
            &format!("220 {SERVER_NAME} ESMTP Passage sandbox"),
        )
        .await?;
    }

    loop {
        let Some(line) = read_line(&mut reader, MAX_COMMAND_LINE).await? else {
            return Ok(Ended::Closed);
        };
        let Ok(line) = String::from_utf8(line) else {
            reply(&mut write, "500 5.5.2 Syntax error, command unrecognized").await?;
            continue;
        };
        let (verb, arg) = match line.split_once(' ') {
            Some((verb, arg)) => (verb.to_ascii_uppercase(), arg.trim()),
            None => (line.to_ascii_uppercase(), ""),
        };
        match verb.as_str() {
            "EHLO" => {
                if arg.is_empty() {
                    reply(&mut write, "501 5.5.4 Syntax: EHLO hostname").await?;
                    continue;
                }
                session.greeted = true;
                session.reset_transaction();
                let mut lines = vec![
                    format!("250-{SERVER_NAME} Hello {arg}"),
                    "250-8BITMIME".to_owned(),
                    format!("250-SIZE {MAX_MESSAGE_BYTES}"),
                ];
                if session.offer_starttls {
                    lines.push("250-STARTTLS".to_owned());
                }
                lines.push("250-AUTH PLAIN LOGIN".to_owned());
                lines.push("250 ENHANCEDSTATUSCODES".to_owned());
                reply(&mut write, &lines.join("\r\n")).await?;
            }
            "HELO" => {
                if arg.is_empty() {
                    reply(&mut write, "501 5.5.4 Syntax: HELO hostname").await?;
                    continue;
                }
                session.greeted = true;
                session.reset_transaction();
                reply(&mut write, &format!("250 {SERVER_NAME}")).await?;
            }
            "AUTH" => {
                if !session.greeted {
                    reply(&mut write, "503 5.5.1 Send EHLO first").await?;
                } else if session.authenticated_as.is_some() {
                    reply(&mut write, "503 5.5.1 Already authenticated").await?;
                } else {
                    let answer = authenticate(&mut reader, &mut write, arg).await?;
                    let verdict = answer.map(|(user, password)| {
                        let mut state = lock(state);
                        let ok = state
                            .credentials
                            .as_ref()
                            .is_none_or(|(u, p)| *u == user && *p == password);
                        if !ok {
                            state.failed_logins += 1;
                        }
                        (user, ok)
                    });
                    match verdict {
                        Ok((user, true)) => {
                            session.authenticated_as = Some(user);
                            reply(&mut write, "235 2.7.0 Authentication successful").await?;
                        }
                        Ok((_, false)) => {
                            reply(&mut write, "535 5.7.8 Authentication credentials invalid")
                                .await?;
                        }
                        Err(message) => reply(&mut write, message).await?,
                    }
                }
            }
            "MAIL" => {
                let auth_required = lock(state).credentials.is_some();
                if !session.greeted {
                    reply(&mut write, "503 5.5.1 Send EHLO/HELO first").await?;
                } else if session.offer_starttls && !session.secure {
                    reply(&mut write, "530 5.7.0 Must issue a STARTTLS command first").await?;
                } else if session.from.is_some() {
                    reply(&mut write, "503 5.5.1 Sender already specified").await?;
                } else if auth_required && session.authenticated_as.is_none() {
                    reply(&mut write, "530 5.7.0 Authentication required").await?;
                } else if let Some(path) = path_argument(arg, "FROM:") {
                    session.from = Some(path);
                    reply(&mut write, "250 2.1.0 Sender OK").await?;
                } else {
                    reply(&mut write, "501 5.5.4 Syntax: MAIL FROM:<address>").await?;
                }
            }
            "RCPT" => {
                if session.from.is_none() {
                    reply(&mut write, "503 5.5.1 Need MAIL before RCPT").await?;
                    continue;
                }
                let Some(path) = path_argument(arg, "TO:").filter(|p| !p.is_empty()) else {
                    reply(&mut write, "501 5.5.4 Syntax: RCPT TO:<address>").await?;
                    continue;
                };
                let rejected = lock(state)
                    .rejected_recipients
                    .contains(&path.to_ascii_lowercase());
                if rejected {
                    reply(
                        &mut write,
                        &format!("550 5.1.1 <{path}>: Recipient address rejected: User unknown"),
                    )
                    .await?;
                } else {
                    session.to.push(path);
                    reply(&mut write, "250 2.1.5 Recipient OK").await?;
                }
            }
            "DATA" => {
                if session.from.is_none() {
                    reply(&mut write, "503 5.5.1 Need MAIL command").await?;
                    continue;
                }
                if session.to.is_empty() {
                    reply(&mut write, "554 5.5.1 No valid recipients").await?;
                    continue;
                }
                reply(&mut write, "354 End data with <CR><LF>.<CR><LF>").await?;
                let Some(data) = read_data(&mut reader).await? else {
                    reply(&mut write, "552 5.3.4 Message size exceeds fixed limit").await?;
                    return Ok(Ended::Closed);
                };
                let data = String::from_utf8_lossy(&data).into_owned();
                let mail = ReceivedMail {
                    envelope_from: session.from.take().unwrap_or_default(),
                    envelope_to: std::mem::take(&mut session.to),
                    subject: header_value(&data, "Subject"),
                    data,
                    authenticated_as: session.authenticated_as.clone(),
                    tls: session.secure,
                };
                let queue_id = {
                    let mut state = lock(state);
                    state.received.push(mail);
                    state.received.len()
                };
                reply(
                    &mut write,
                    &format!("250 2.0.0 OK queued as SBX{queue_id:06}"),
                )
                .await?;
            }
            "RSET" => {
                session.reset_transaction();
                reply(&mut write, "250 2.0.0 OK").await?;
            }
            "NOOP" => reply(&mut write, "250 2.0.0 OK").await?,
            "VRFY" => {
                reply(
                    &mut write,
                    "252 2.1.5 Cannot VRFY user, but will accept message",
                )
                .await?;
            }
            "QUIT" => {
                reply(
                    &mut write,
                    &format!("221 2.0.0 {SERVER_NAME} closing connection"),
                )
                .await?;
                return Ok(Ended::Closed);
            }
            "STARTTLS" if session.offer_starttls => {
                if !session.greeted {
                    reply(&mut write, "503 5.5.1 Send EHLO first").await?;
                    continue;
                }
                reply(&mut write, "220 2.0.0 Ready to start TLS").await?;
                return Ok(Ended::Upgrade(reader.into_inner().unsplit(write)));
            }
            _ => reply(&mut write, "500 5.5.2 Command not recognized").await?,
        }
    }
}

/// Runs an AUTH exchange. Returns the user name and password the client offered, or the
/// reply to send when the exchange itself is malformed.
async fn authenticate<R, W>(
    reader: &mut BufReader<R>,
    write: &mut W,
    arg: &str,
) -> io::Result<Result<(String, String), &'static str>>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let (mechanism, initial) = match arg.split_once(' ') {
        Some((m, i)) => (m.to_ascii_uppercase(), Some(i.trim().to_owned())),
        None => (arg.to_ascii_uppercase(), None),
    };
    match mechanism.as_str() {
        "PLAIN" => {
            let response = match initial {
                Some(i) => i,
                None => {
                    reply(write, "334 ").await?;
                    match read_text_line(reader).await? {
                        Some(line) => line,
                        None => return Ok(Err("501 5.5.2 Cannot decode response")),
                    }
                }
            };
            // authzid NUL authcid NUL passwd (RFC 4616).
            let decoded = decode_b64_text(&response);
            let parts: Option<Vec<String>> =
                decoded.map(|d| d.split('\0').map(str::to_owned).collect());
            match parts.as_deref() {
                Some([_, user, password]) => Ok(Ok((user.clone(), password.clone()))),
                _ => Ok(Err("501 5.5.2 Cannot decode AUTH PLAIN response")),
            }
        }
        "LOGIN" => {
            let user = match initial {
                Some(i) => decode_b64_text(&i),
                None => {
                    reply(write, &format!("334 {}", B64.encode("Username:"))).await?;
                    read_text_line(reader)
                        .await?
                        .and_then(|l| decode_b64_text(&l))
                }
            };
            let Some(user) = user else {
                return Ok(Err("501 5.5.2 Cannot decode user name"));
            };
            reply(write, &format!("334 {}", B64.encode("Password:"))).await?;
            let password = read_text_line(reader)
                .await?
                .and_then(|l| decode_b64_text(&l));
            match password {
                Some(password) => Ok(Ok((user, password))),
                None => Ok(Err("501 5.5.2 Cannot decode password")),
            }
        }
        _ => Ok(Err("504 5.5.4 Unrecognized authentication type")),
    }
}

fn decode_b64_text(text: &str) -> Option<String> {
    let bytes = B64.decode(text.trim()).ok()?;
    String::from_utf8(bytes).ok()
}

/// The address inside `FROM:<…>` / `TO:<…>`, ignoring any ESMTP parameters after it.
fn path_argument(arg: &str, keyword: &str) -> Option<String> {
    let head = arg.get(..keyword.len())?;
    if !head.eq_ignore_ascii_case(keyword) {
        return None;
    }
    let rest = arg[keyword.len()..].trim_start();
    let inner = rest.strip_prefix('<')?;
    let end = inner.find('>')?;
    Some(inner[..end].to_owned())
}

async fn reply<W: AsyncWrite + Unpin>(write: &mut W, text: &str) -> io::Result<()> {
    write.write_all(text.as_bytes()).await?;
    write.write_all(b"\r\n").await?;
    write.flush().await
}

/// One line without its CRLF, or `None` at end of stream. Over-long lines end the session.
async fn read_line<R: AsyncRead + Unpin>(
    reader: &mut BufReader<R>,
    limit: usize,
) -> io::Result<Option<Vec<u8>>> {
    let mut line = Vec::new();
    let read = tokio::time::timeout(IDLE_TIMEOUT, reader.read_until(b'\n', &mut line))
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "client idle"))??;
    if read == 0 {
        return Ok(None);
    }
    if line.len() > limit {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "line too long"));
    }
    while matches!(line.last(), Some(b'\n' | b'\r')) {
        line.pop();
    }
    Ok(Some(line))
}

async fn read_text_line<R: AsyncRead + Unpin>(
    reader: &mut BufReader<R>,
) -> io::Result<Option<String>> {
    Ok(read_line(reader, MAX_COMMAND_LINE)
        .await?
        .and_then(|l| String::from_utf8(l).ok()))
}

/// Reads message data up to the lone `.` line, undoing dot-stuffing (RFC 5321 §4.5.2).
/// `None` when the message exceeds the size limit.
async fn read_data<R: AsyncRead + Unpin>(reader: &mut BufReader<R>) -> io::Result<Option<Vec<u8>>> {
    let mut data = Vec::new();
    loop {
        let Some(line) = read_line(reader, MAX_MESSAGE_BYTES).await? else {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed during DATA",
            ));
        };
        if line == b"." {
            return Ok(Some(data));
        }
        let line = line.strip_prefix(b".").unwrap_or(&line);
        if data.len() + line.len() + 2 > MAX_MESSAGE_BYTES {
            return Ok(None);
        }
        data.extend_from_slice(line);
        data.extend_from_slice(b"\r\n");
    }
}

/// The first header called `name`, unfolded (RFC 5322 §2.2.3) and decoded (RFC 2047).
fn header_value(data: &str, name: &str) -> Option<String> {
    let headers = data.split("\r\n\r\n").next().unwrap_or("");
    let mut found: Option<String> = None;
    for line in headers.split("\r\n") {
        if let Some(value) = found.as_mut() {
            if line.starts_with([' ', '\t']) {
                value.push_str(line);
                continue;
            }
            break;
        }
        if let Some((field, value)) = line.split_once(':')
            && field.trim().eq_ignore_ascii_case(name)
        {
            found = Some(value.to_owned());
        }
    }
    found.map(|v| decode_encoded_words(v.trim()))
}

/// Decodes `=?charset?B|Q?…?=` words (UTF-8 and ASCII charsets), dropping the whitespace
/// between adjacent encoded words as RFC 2047 §6.2 requires.
fn decode_encoded_words(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    let mut previous_was_word = false;
    while let Some(start) = rest.find("=?") {
        let (before, candidate) = rest.split_at(start);
        let Some((decoded, used)) = decode_one_word(candidate) else {
            out.push_str(before);
            out.push_str("=?");
            rest = &candidate[2..];
            previous_was_word = false;
            continue;
        };
        if !(previous_was_word && before.trim().is_empty()) {
            out.push_str(before);
        }
        out.push_str(&decoded);
        rest = &candidate[used..];
        previous_was_word = true;
    }
    out.push_str(rest);
    out
}

/// Decodes one encoded word at the start of `text`; returns it and the bytes consumed.
fn decode_one_word(text: &str) -> Option<(String, usize)> {
    let inner = text.strip_prefix("=?")?;
    let (charset, inner) = inner.split_once('?')?;
    let (encoding, inner) = inner.split_once('?')?;
    let end = inner.find("?=")?;
    let payload = &inner[..end];
    let used = 2 + charset.len() + 1 + encoding.len() + 1 + end + 2;
    if !["utf-8", "us-ascii"].contains(&charset.to_ascii_lowercase().as_str()) {
        return None;
    }
    let bytes = match encoding {
        "B" | "b" => B64.decode(payload).ok()?,
        "Q" | "q" => decode_q(payload)?,
        _ => return None,
    };
    Some((String::from_utf8(bytes).ok()?, used))
}

fn decode_q(payload: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let bytes = payload.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'_' => out.push(b' '),
            b'=' => {
                let hex = payload.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    Some(out)
}

/// A CA made for one sink and a server certificate it issued for `localhost` and 127.0.0.1.
fn tls_config() -> Result<(rustls::ServerConfig, String), Box<dyn std::error::Error + Send + Sync>>
{
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose, SanType,
    };
    let ca_key = KeyPair::generate()?;
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "Passage sandbox SMTP CA");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca.self_signed(&ca_key)?;

    let key = KeyPair::generate()?;
    let mut server = CertificateParams::new(vec!["localhost".to_owned()])?;
    server
        .subject_alt_names
        .push(SanType::IpAddress(Ipv4Addr::LOCALHOST.into()));
    server
        .distinguished_name
        .push(DnType::CommonName, SERVER_NAME);
    let cert = server.signed_by(&key, &ca_cert, &ca_key)?;

    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )?;
    Ok((config, ca_cert.pem()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    /// A scripted client: sends each line and collects the server's replies.
    struct Client {
        reader: BufReader<tokio::net::tcp::OwnedReadHalf>,
        write: tokio::net::tcp::OwnedWriteHalf,
    }

    impl Client {
        async fn connect(sink: &SmtpSink) -> (Self, String) {
            let stream = TcpStream::connect(sink.addr()).await.unwrap();
            let (read, write) = stream.into_split();
            let mut client = Self {
                reader: BufReader::new(read),
                write,
            };
            let greeting = client.reply().await;
            (client, greeting)
        }

        async fn reply(&mut self) -> String {
            let mut all = String::new();
            loop {
                let mut line = String::new();
                self.reader.read_line(&mut line).await.unwrap();
                all.push_str(&line);
                if line.len() < 4 || line.as_bytes()[3] != b'-' {
                    return all;
                }
            }
        }

        async fn send(&mut self, line: &str) -> String {
            self.write
                .write_all(format!("{line}\r\n").as_bytes())
                .await
                .unwrap();
            self.reply().await
        }
    }

    #[tokio::test]
    async fn accepts_a_message_and_undoes_dot_stuffing() {
        let sink = SmtpSink::start().await.unwrap();
        let (mut c, greeting) = Client::connect(&sink).await;
        assert!(greeting.starts_with("220 "), "{greeting}");
        assert!(c.send("EHLO client.test").await.contains("250-8BITMIME"));
        assert!(
            c.send("MAIL FROM:<it@example.com> SIZE=100")
                .await
                .starts_with("250")
        );
        assert!(
            c.send("RCPT TO:<jane@example.com>")
                .await
                .starts_with("250")
        );
        assert!(
            c.send("RCPT TO:<boss@example.com>")
                .await
                .starts_with("250")
        );
        assert!(c.send("DATA").await.starts_with("354"));
        let body = "Subject: =?utf-8?b?TGFwdG9w?= return\r\n overdue\r\nTo: jane@example.com\r\n\r\nline one\r\n..leading dot\r\n.";
        assert!(c.send(body).await.starts_with("250 2.0.0 OK queued"));
        assert!(c.send("QUIT").await.starts_with("221"));

        let mail = &sink.received()[0];
        assert_eq!(mail.envelope_from, "it@example.com");
        assert_eq!(mail.envelope_to, ["jane@example.com", "boss@example.com"]);
        assert_eq!(mail.subject.as_deref(), Some("Laptop return overdue"));
        assert_eq!(mail.header("to").as_deref(), Some("jane@example.com"));
        assert_eq!(mail.body(), "line one\r\n.leading dot\r\n");
    }

    #[tokio::test]
    async fn out_of_order_commands_get_503_and_rset_clears() {
        let sink = SmtpSink::start().await.unwrap();
        let (mut c, _) = Client::connect(&sink).await;
        assert!(c.send("MAIL FROM:<a@example.com>").await.starts_with("503"));
        assert!(c.send("HELO client.test").await.starts_with("250"));
        assert!(c.send("RCPT TO:<b@example.com>").await.starts_with("503"));
        assert!(c.send("MAIL FROM:<a@example.com>").await.starts_with("250"));
        assert!(c.send("RSET").await.starts_with("250"));
        assert!(c.send("DATA").await.starts_with("503"));
        assert!(c.send("NOOP").await.starts_with("250"));
        assert!(c.send("BOGUS").await.starts_with("500"));
        assert!(sink.received().is_empty());
    }

    #[tokio::test]
    async fn rejects_a_configured_recipient_with_550() {
        let sink = SmtpSink::start().await.unwrap();
        sink.reject_recipient("Gone@Example.com");
        let (mut c, _) = Client::connect(&sink).await;
        c.send("EHLO x").await;
        c.send("MAIL FROM:<a@example.com>").await;
        let answer = c.send("RCPT TO:<gone@example.com>").await;
        assert!(answer.starts_with("550 5.1.1"), "{answer}");
        assert!(c.send("DATA").await.starts_with("554"));
    }

    #[tokio::test]
    async fn outage_greets_with_421_and_closes() {
        let sink = SmtpSink::start().await.unwrap();
        sink.set_outage(true);
        let (mut c, greeting) = Client::connect(&sink).await;
        assert!(greeting.starts_with("421 "), "{greeting}");
        let mut rest = Vec::new();
        c.reader.read_to_end(&mut rest).await.unwrap();
        assert!(rest.is_empty());
    }

    #[tokio::test]
    async fn required_auth_checks_credentials() {
        let sink = SmtpSink::start().await.unwrap();
        sink.require_auth("relay", "hunter2");
        let (mut c, _) = Client::connect(&sink).await;
        c.send("EHLO x").await;
        assert!(c.send("MAIL FROM:<a@example.com>").await.starts_with("530"));
        let wrong = B64.encode("\0relay\0nope");
        assert!(
            c.send(&format!("AUTH PLAIN {wrong}"))
                .await
                .starts_with("535")
        );
        assert!(c.send("AUTH LOGIN").await.starts_with("334"));
        assert!(c.send(&B64.encode("relay")).await.starts_with("334"));
        assert!(c.send(&B64.encode("hunter2")).await.starts_with("235"));
        assert!(c.send("MAIL FROM:<a@example.com>").await.starts_with("250"));
        assert_eq!(sink.failed_logins(), 1);
    }
}
