//! The PostgreSQL wire-protocol server (`neuraldb serve`), built on the
//! `pgwire` crate's codec, messages and authentication with tokio.
//!
//! # Threading
//! The engine is synchronous and not `Send`: one dedicated thread owns it
//! ([`worker`]) and serves requests from connection tasks over a channel.
//! Connections run as tokio tasks; each is one engine session. A statement
//! that waits for a lock parks in the engine while the engine thread serves
//! other sessions; its connection task awaits the reply, watching its own
//! client meanwhile, so a client that disconnects while waiting has its
//! transaction rolled back and its locks released.
//!
//! Group commit: the engine thread serves every queued request, then syncs
//! the WAL once and only then sends the batch's results, so concurrent
//! committers share a sync and nobody sees a commit before it is durable.
//!
//! # Safety defaults
//! Loopback only unless told otherwise; a non-loopback address needs a
//! password (SCRAM-SHA-256). Malformed protocol input ends that connection
//! (a panic in a connection task is confined to it), never the server.

mod conn;
mod types;
mod worker;

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::fmt::Debug;
use std::hash::{BuildHasher, Hasher};
use std::net::SocketAddr;
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use futures::{SinkExt, StreamExt};
use pgwire::api::auth::sasl::scram::{gen_salted_password, ScramAuth, SCRAM_ITERATIONS};
use pgwire::api::auth::sasl::SASLAuthStartupHandler;
use pgwire::api::auth::{
    finish_authentication, protocol_negotiation, save_startup_parameters_to_metadata, AuthSource,
    LoginInfo, Password, ServerParameterProvider, StartupHandler,
};
use pgwire::api::{ClientInfo, PgWireConnectionState, METADATA_APPLICATION_NAME, METADATA_USER};
use pgwire::error::{ErrorInfo, PgWireResult};
use pgwire::messages::cancel::CancelRequest;
use pgwire::messages::startup::SecretKey;
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};
use tokio::sync::oneshot;

use crate::engine::{CancelHandle, Engine, SessionId};
use crate::error::Error;
use conn::{Conn, ConnEnd, Socket};
use worker::Request;

/// How long a client may take to start up and authenticate.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// What `neuraldb serve` was asked for.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    /// When set, every client must authenticate with SCRAM-SHA-256 using
    /// this password (any user name). Required off loopback.
    pub password: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("cannot open the database: {0}")]
    Engine(#[from] Error),
    #[error("refusing to listen on {0} without a password (set NEURALDB_PASSWORD, or listen on 127.0.0.1)")]
    NoPassword(SocketAddr),
    #[error("the engine thread ended before the server started")]
    EngineThread,
}

/// A running server. Dropping it does not stop it; call [`Server::shutdown`].
pub struct Server {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    net: Option<std::thread::JoinHandle<()>>,
    engine: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    /// Starts the engine thread (running `open` there, since the engine is
    /// not `Send`) and the listener.
    pub fn start<F>(open: F, config: ServerConfig) -> Result<Server, ServerError>
    where
        F: FnOnce() -> Result<Engine, Error> + Send + 'static,
    {
        if !config.listen.ip().is_loopback() && config.password.is_none() {
            return Err(ServerError::NoPassword(config.listen));
        }
        let listener = std::net::TcpListener::bind(config.listen)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;

        let (req_tx, req_rx) = mpsc::channel::<Request>();
        let (opened_tx, opened_rx) = mpsc::channel::<Result<CancelHandle, Error>>();
        let engine = std::thread::Builder::new()
            .name("neuraldb-engine".into())
            .spawn(move || match open() {
                Ok(engine) => {
                    let _ = opened_tx.send(Ok(engine.cancel_handle()));
                    worker::run(engine, req_rx);
                }
                Err(e) => {
                    let _ = opened_tx.send(Err(e));
                }
            })?;
        let running = match opened_rx.recv() {
            Ok(Ok(handle)) => handle,
            Ok(Err(e)) => return Err(ServerError::Engine(e)),
            Err(_) => return Err(ServerError::EngineThread),
        };

        let shared = Arc::new(Shared {
            running,
            engine: Mutex::new(req_tx),
            cancel_keys: Mutex::new(HashMap::new()),
            auth: config.password.as_deref().map(ScramSource::new),
        });
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("neuraldb-net")
            .enable_all()
            .build()?;
        let (stop_tx, stop_rx) = oneshot::channel();
        let net = std::thread::Builder::new()
            .name("neuraldb-listener".into())
            .spawn(move || {
                runtime.block_on(accept_loop(listener, shared, stop_rx));
                // Ends the connection tasks; their guards disconnect their
                // sessions, and the engine thread ends with the last sender.
                runtime.shutdown_timeout(Duration::from_secs(1));
            })?;
        Ok(Server {
            addr,
            stop: Some(stop_tx),
            net: Some(net),
            engine: Some(engine),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Blocks until the server stops (it runs until shut down).
    pub fn wait(mut self) {
        if let Some(net) = self.net.take() {
            let _ = net.join();
        }
    }

    /// Closes every connection (rolling back their transactions), stops
    /// listening and waits for the engine thread to finish.
    pub fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(net) = self.net.take() {
            let _ = net.join();
        }
        if let Some(engine) = self.engine.take() {
            let _ = engine.join();
        }
    }
}

struct Shared {
    /// Cancels the statement the engine thread is running, without
    /// waiting for that thread.
    running: CancelHandle,
    /// Cloned by each connection (a `Mutex` so that `Shared` is `Sync` on
    /// every toolchain).
    engine: Mutex<mpsc::Sender<Request>>,
    /// Backend pid (= session id) -> secret key, for CancelRequest.
    cancel_keys: Mutex<HashMap<i32, i32>>,
    auth: Option<Arc<ScramSource>>,
}

impl Shared {
    fn sender(&self) -> mpsc::Sender<Request> {
        self.engine
            .lock()
            .expect("never poisoned: no panics while held")
            .clone()
    }
}

async fn accept_loop(
    listener: std::net::TcpListener,
    shared: Arc<Shared>,
    mut stop: oneshot::Receiver<()>,
) {
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("neuraldb: cannot listen: {e}");
            return;
        }
    };
    loop {
        tokio::select! {
            _ = &mut stop => return,
            accepted = listener.accept() => match accepted {
                Ok((tcp, _)) => {
                    tokio::spawn(connection(tcp, shared.clone()));
                }
                Err(e) => {
                    // E.g. out of file descriptors: back off, keep serving.
                    eprintln!("neuraldb: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
        }
    }
}

/// Disconnects the engine session when its connection task ends, however
/// it ends (including a panic while decoding hostile input).
struct SessionGuard {
    sid: SessionId,
    engine: mpsc::Sender<Request>,
    shared: Arc<Shared>,
    /// Rung by the engine thread when notifications wait for the session.
    doorbell: Arc<tokio::sync::Notify>,
}

impl Drop for SessionGuard {
    fn drop(&mut self) {
        if let Ok(mut keys) = self.shared.cancel_keys.lock() {
            keys.remove(&(self.sid as i32));
        }
        let _ = self.engine.send(Request::Disconnect(self.sid));
    }
}

fn random_u64(salt: u64) -> u64 {
    // SipHash keyed from the OS's randomness (RandomState) over a counter:
    // unpredictable without the keys, which never leave the process.
    let mut h = RandomState::new().build_hasher();
    h.write_u64(salt);
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.finish()
}

async fn connection(tcp: tokio::net::TcpStream, shared: Arc<Shared>) {
    // A second handle on the socket lets a waiting statement notice that
    // its client went away (see `Conn::peer_closed`).
    let Ok(std_tcp) = tcp.into_std() else { return };
    let Ok(probe) = std_tcp.try_clone() else {
        return;
    };
    let Ok(tcp) = tokio::net::TcpStream::from_std(std_tcp) else {
        return;
    };
    let Ok(Some(mut socket)) = pgwire::tokio::server::negotiate_tls::<()>(tcp, None).await else {
        return;
    };
    let engine = shared.sender();
    let started =
        tokio::time::timeout(STARTUP_TIMEOUT, startup(&mut socket, &shared, &engine)).await;
    let Ok(Some(guard)) = started else { return };
    let startup_params = socket.metadata().clone();
    let reported = ServerParams
        .server_parameters(&socket)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(k, v)| Some((reported_name(&k)?, v)))
        .collect();
    let mut conn = Conn::new(
        guard.sid,
        engine,
        guard.doorbell.clone(),
        probe,
        &startup_params,
        reported,
    );
    match conn.run(&mut socket).await {
        ConnEnd::Closed | ConnEnd::Io => {}
        ConnEnd::EngineGone => {
            let info = ErrorInfo::new(
                "FATAL".into(),
                "57P01".into(),
                "terminating connection due to administrator command".into(),
            );
            let _ = socket
                .send(PgWireBackendMessage::ErrorResponse(info.into()))
                .await;
        }
    }
    let _ = socket.close().await;
    drop(guard);
}

/// Startup: a CancelRequest (handled, then the connection closes), or a
/// StartupMessage followed by authentication. Returns the session once the
/// client is ready for queries.
async fn startup(
    socket: &mut Socket,
    shared: &Arc<Shared>,
    engine: &mpsc::Sender<Request>,
) -> Option<SessionGuard> {
    let first = match socket.next().await? {
        Ok(m) => m,
        Err(e) => {
            fatal(socket, "08P01", &format!("invalid startup packet: {e}")).await;
            return None;
        }
    };
    if let PgWireFrontendMessage::CancelRequest(c) = first {
        cancel(shared, engine, &c);
        return None;
    }
    let (tx, rx) = oneshot::channel();
    let doorbell = Arc::new(tokio::sync::Notify::new());
    engine
        .send(Request::Connect {
            reply: tx,
            doorbell: doorbell.clone(),
        })
        .ok()?;
    let sid = rx.await.ok()?;
    let guard = SessionGuard {
        sid,
        engine: engine.clone(),
        shared: shared.clone(),
        doorbell,
    };
    let secret = random_u64(u64::from(sid)) as i32;
    shared.cancel_keys.lock().ok()?.insert(sid as i32, secret);
    socket.set_pid_and_secret_key(sid as i32, SecretKey::I32(secret));

    let params = Arc::new(ServerParams);
    let scram = shared.auth.clone().map(|source| {
        SASLAuthStartupHandler::new(params.clone()).with_scram(ScramAuth::new(source))
    });
    let mut msg = first;
    loop {
        let result = match (&scram, &msg) {
            (Some(handler), _) => handler.on_startup(socket, msg).await,
            (None, PgWireFrontendMessage::Startup(s)) => trust(socket, s, params.as_ref()).await,
            (None, _) => {
                fatal(socket, "08P01", "expected a startup message").await;
                return None;
            }
        };
        if let Err(e) = result {
            let mut info: ErrorInfo = e.into();
            info.severity = "FATAL".into();
            let _ = socket
                .send(PgWireBackendMessage::ErrorResponse(info.into()))
                .await;
            return None;
        }
        if matches!(socket.state(), PgWireConnectionState::ReadyForQuery) {
            return Some(guard);
        }
        msg = match socket.next().await? {
            Ok(m) => m,
            Err(e) => {
                fatal(
                    socket,
                    "08P01",
                    &format!("invalid authentication message: {e}"),
                )
                .await;
                return None;
            }
        };
    }
}

async fn trust(
    socket: &mut Socket,
    startup: &pgwire::messages::startup::Startup,
    params: &ServerParams,
) -> PgWireResult<()> {
    protocol_negotiation(socket, startup).await?;
    save_startup_parameters_to_metadata(socket, startup);
    finish_authentication(socket, params).await
}

async fn fatal(socket: &mut Socket, code: &str, message: &str) {
    let info = ErrorInfo::new("FATAL".into(), code.into(), message.into());
    let _ = socket
        .send(PgWireBackendMessage::ErrorResponse(info.into()))
        .await;
}

/// A CancelRequest with the right secret cancels that session's running
/// or waiting statement; anything else is ignored silently, as PostgreSQL
/// does.
fn cancel(shared: &Shared, engine: &mpsc::Sender<Request>, c: &CancelRequest) {
    let Ok(keys) = shared.cancel_keys.lock() else {
        return;
    };
    let matches = keys
        .get(&c.pid)
        .is_some_and(|secret| c.secret_key.as_i32() == Some(*secret));
    if matches {
        if let Ok(sid) = SessionId::try_from(c.pid) {
            // Not running: it may be parked, or queued behind other
            // requests and about to park; the engine thread sorts that out.
            if !shared.running.cancel_running(sid) {
                let _ = engine.send(Request::Cancel(sid));
            }
        }
    }
}

/// The parameters whose changes are reported after startup (see
/// `Engine::reported_parameters`), by their startup name.
fn reported_name(name: &str) -> Option<&'static str> {
    ["application_name", "DateStyle", "TimeZone"]
        .into_iter()
        .find(|n| *n == name)
}

/// ParameterStatus values sent after authentication.
struct ServerParams;

impl ServerParameterProvider for ServerParams {
    fn server_parameters<C>(&self, client: &C) -> Option<HashMap<String, String>>
    where
        C: ClientInfo,
    {
        let mut p: HashMap<String, String> = [
            ("server_version", "15.0"),
            ("server_encoding", "UTF8"),
            ("client_encoding", "UTF8"),
            ("DateStyle", "ISO, MDY"),
            ("IntervalStyle", "postgres"),
            ("TimeZone", "UTC"),
            ("integer_datetimes", "on"),
            ("standard_conforming_strings", "on"),
            ("is_superuser", "on"),
            ("default_transaction_read_only", "off"),
            ("in_hot_standby", "off"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let meta = client.metadata();
        p.insert(
            "application_name".into(),
            meta.get(METADATA_APPLICATION_NAME)
                .cloned()
                .unwrap_or_default(),
        );
        if let Some(user) = meta.get(METADATA_USER) {
            p.insert("session_authorization".into(), user.clone());
        }
        Some(p)
    }
}

/// The server's one password, salted and hashed once for SCRAM.
#[derive(Debug)]
struct ScramSource {
    salt: Vec<u8>,
    salted: Vec<u8>,
}

impl ScramSource {
    fn new(password: &str) -> Arc<ScramSource> {
        let salt: Vec<u8> = (0..2).flat_map(|i| random_u64(i).to_le_bytes()).collect();
        let salted = gen_salted_password(password, &salt, SCRAM_ITERATIONS);
        Arc::new(ScramSource { salt, salted })
    }
}

#[async_trait]
impl AuthSource for ScramSource {
    async fn get_password(&self, _login: &LoginInfo) -> PgWireResult<Password> {
        Ok(Password::new(Some(self.salt.clone()), self.salted.clone()))
    }
}
