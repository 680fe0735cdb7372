//! The wire-protocol server (`neuraldb::server`) and the engine calls it
//! relies on (cancel, COPY, TRUNCATE), driven by a minimal raw protocol
//! client so that every byte is under the test's control: simple and
//! extended queries, ReadyForQuery status, error fields, parking across
//! connections, disconnect rollback, CancelRequest, refusal of a
//! non-loopback address without a password, and malformed input.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use neuraldb::engine::{CopyMode, Engine, Submitted, TxnStatus};
use neuraldb::server::{Server, ServerConfig, ServerError};
use neuraldb::storage::{MemoryStorage, Storage, StorageError};
use neuraldb::value::Value;

fn start() -> Server {
    Server::start(
        Engine::open_memory,
        ServerConfig {
            listen: "127.0.0.1:0".parse().expect("address"),
            password: None,
        },
    )
    .expect("server starts")
}

/// One backend message: type byte and body.
struct Msg {
    kind: u8,
    body: Vec<u8>,
}

impl Msg {
    /// Field `code` of an ErrorResponse.
    fn field(&self, code: u8) -> Option<String> {
        let mut parts = self.body.split(|b| *b == 0);
        parts.find_map(|p| match p.split_first() {
            Some((c, rest)) if *c == code => Some(String::from_utf8_lossy(rest).into_owned()),
            _ => None,
        })
    }

    /// The values of a DataRow, as text.
    fn row(&self) -> Vec<Option<String>> {
        let b = &self.body;
        let n = u16::from_be_bytes([b[0], b[1]]) as usize;
        let mut at = 2;
        let mut out = Vec::new();
        for _ in 0..n {
            let len = i32::from_be_bytes(b[at..at + 4].try_into().expect("4 bytes"));
            at += 4;
            if len < 0 {
                out.push(None);
            } else {
                let len = len as usize;
                out.push(Some(String::from_utf8_lossy(&b[at..at + len]).into_owned()));
                at += len;
            }
        }
        out
    }
}

struct Client {
    s: TcpStream,
    pid: i32,
    secret: i32,
}

fn message(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![kind];
    m.extend_from_slice(&(body.len() as i32 + 4).to_be_bytes());
    m.extend_from_slice(body);
    m
}

fn cstr(s: &str) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.push(0);
    v
}

/// A StartupMessage (protocol 3.0) with these parameters.
fn startup_packet(params: &[(&str, &str)]) -> Vec<u8> {
    let mut body = 196608i32.to_be_bytes().to_vec();
    for (k, v) in params {
        body.extend(cstr(k));
        body.extend(cstr(v));
    }
    body.push(0);
    let mut packet = ((body.len() + 4) as i32).to_be_bytes().to_vec();
    packet.extend(body);
    packet
}

impl Client {
    fn connect(addr: SocketAddr) -> Client {
        Client::connect_with(addr, &[])
    }

    /// Connects with extra startup parameters (name, value).
    fn connect_with(addr: SocketAddr, params: &[(&str, &str)]) -> Client {
        let s = TcpStream::connect(addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(20)))
            .expect("timeout");
        let mut c = Client {
            s,
            pid: 0,
            secret: 0,
        };
        let params: Vec<(&str, &str)> = [("user", "test"), ("database", "postgres")]
            .into_iter()
            .chain(params.iter().copied())
            .collect();
        c.s.write_all(&startup_packet(&params)).expect("startup");
        for m in c.until_ready() {
            if m.kind == b'K' {
                c.pid = i32::from_be_bytes(m.body[0..4].try_into().expect("4 bytes"));
                c.secret = i32::from_be_bytes(m.body[4..8].try_into().expect("4 bytes"));
            }
        }
        c
    }

    fn read(&mut self) -> Option<Msg> {
        let mut head = [0u8; 5];
        self.s.read_exact(&mut head).ok()?;
        let len = i32::from_be_bytes(head[1..5].try_into().expect("4 bytes")) as usize;
        let mut body = vec![0u8; len - 4];
        self.s.read_exact(&mut body).ok()?;
        Some(Msg {
            kind: head[0],
            body,
        })
    }

    /// Messages up to and including ReadyForQuery.
    fn until_ready(&mut self) -> Vec<Msg> {
        let mut out = Vec::new();
        loop {
            let m = self.read().expect("a message before ReadyForQuery");
            let done = m.kind == b'Z';
            out.push(m);
            if done {
                return out;
            }
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.s.write_all(bytes).expect("send");
    }

    fn query(&mut self, sql: &str) -> Vec<Msg> {
        self.send(&message(b'Q', &cstr(sql)));
        self.until_ready()
    }
}

fn status(msgs: &[Msg]) -> u8 {
    msgs.last().expect("messages").body[0]
}

fn error(msgs: &[Msg]) -> Option<&Msg> {
    msgs.iter().find(|m| m.kind == b'E')
}

/// The SQLSTATE of the ErrorResponse among `msgs`, if any.
fn code(msgs: &[Msg]) -> Option<String> {
    error(msgs).and_then(|e| e.field(b'C'))
}

fn rows(msgs: &[Msg]) -> Vec<Vec<Option<String>>> {
    msgs.iter()
        .filter(|m| m.kind == b'D')
        .map(Msg::row)
        .collect()
}

#[test]
fn simple_query_results_status_and_error_fields() {
    let server = start();
    let mut c = Client::connect(server.local_addr());
    let r = c.query(
        "CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'a'), (2, NULL)",
    );
    assert_eq!(status(&r), b'I');
    let r = c.query("SELECT id, v FROM t ORDER BY id");
    assert_eq!(
        rows(&r),
        vec![
            vec![Some("1".into()), Some("a".into())],
            vec![Some("2".into()), None]
        ]
    );
    let r = c.query("BEGIN");
    assert_eq!(status(&r), b'T');
    let r = c.query("INSERT INTO t VALUES (1, 'dup')");
    let e = error(&r).expect("an error");
    assert_eq!(e.field(b'C').as_deref(), Some("23505"));
    assert_eq!(
        e.field(b'D').as_deref(),
        Some("Key (id)=(1) already exists.")
    );
    assert_eq!(status(&r), b'E');
    let r = c.query("ROLLBACK");
    assert_eq!(status(&r), b'I');
    let r = c.query("SELECT 1 +");
    let e = error(&r).expect("an error");
    assert_eq!(e.field(b'C').as_deref(), Some("42601"));
    assert_eq!(e.field(b'P').as_deref(), Some("11"));
    // An empty query.
    let r = c.query(" ; ");
    assert_eq!(r[0].kind, b'I');
    server.shutdown();
}

/// WARNINGs arrive as NoticeResponse before the statement's
/// CommandComplete, with PostgreSQL's severity, code and text.
#[test]
fn warnings_arrive_as_notice_responses() {
    let server = start();
    let mut c = Client::connect(server.local_addr());
    let notices = |msgs: &[Msg]| -> Vec<(String, String, String)> {
        msgs.iter()
            .filter(|m| m.kind == b'N')
            .map(|m| {
                (
                    m.field(b'S').unwrap_or_default(),
                    m.field(b'C').unwrap_or_default(),
                    m.field(b'M').unwrap_or_default(),
                )
            })
            .collect()
    };
    let r = c.query("COMMIT");
    let w = |code: &str, msg: &str| ("WARNING".to_string(), code.to_string(), msg.to_string());
    assert_eq!(
        notices(&r),
        vec![w("25P01", "there is no transaction in progress")]
    );
    let n = r.iter().position(|m| m.kind == b'N').expect("a notice");
    let done = r
        .iter()
        .position(|m| m.kind == b'C')
        .expect("CommandComplete");
    assert!(n < done, "the notice precedes CommandComplete");
    let r = c.query("BEGIN; BEGIN");
    assert_eq!(
        notices(&r),
        vec![w("25001", "there is already a transaction in progress")]
    );
    let r = c.query("SELECT pg_advisory_unlock(7), pg_advisory_unlock_shared(7)");
    assert_eq!(
        notices(&r),
        vec![
            w("01000", "you don't own a lock of type ExclusiveLock"),
            w("01000", "you don't own a lock of type ShareLock")
        ]
    );
    assert_eq!(rows(&r), vec![vec![Some("f".into()), Some("f".into())]]);
    let r = c.query("ROLLBACK; ROLLBACK");
    assert_eq!(
        notices(&r),
        vec![w("25P01", "there is no transaction in progress")]
    );
    server.shutdown();
}

/// idle_in_transaction_session_timeout ends the session (its locks go at
/// once); the client's next query gets FATAL 25P03 and the connection
/// closes.
#[test]
fn idle_in_transaction_timeout_terminates_the_connection() {
    let server = start();
    let mut a = Client::connect(server.local_addr());
    let mut b = Client::connect(server.local_addr());
    a.query("CREATE TABLE t (id int PRIMARY KEY)");
    a.query("SET idle_in_transaction_session_timeout = '50ms'");
    let r = a.query("BEGIN; LOCK TABLE t IN ACCESS EXCLUSIVE MODE");
    assert_eq!(status(&r), b'T');
    // The lock goes when the session is terminated: b's read gets through.
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let r = b.query(&format!(
            "SELECT count(*) FROM pg_stat_activity WHERE pid = {}",
            a.pid
        ));
        if rows(&r) == vec![vec![Some("0".to_string())]] {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "a was never terminated"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(
        rows(&b.query("SELECT count(*) FROM t")),
        vec![vec![Some("0".into())]]
    );
    a.send(&message(b'Q', &cstr("SELECT 1")));
    let e = a.read().expect("an error");
    assert_eq!(e.kind, b'E');
    assert_eq!(e.field(b'S').as_deref(), Some("FATAL"));
    assert_eq!(e.field(b'C').as_deref(), Some("25P03"));
    assert!(a.read().is_none(), "the connection is closed");
    server.shutdown();
}

#[test]
fn extended_protocol_with_parameters_portals_and_errors() {
    let server = start();
    let mut c = Client::connect(server.local_addr());
    c.query("CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 5) g");
    // Parse (int4 parameter declared), Describe statement, Bind with a
    // binary int4, Execute with max_rows 2 twice, then to the end.
    let mut batch = Vec::new();
    let mut parse = cstr("s1");
    parse.extend(cstr("SELECT id, v FROM t WHERE id >= $1 ORDER BY id"));
    parse.extend(1i16.to_be_bytes());
    parse.extend(23u32.to_be_bytes());
    batch.extend(message(b'P', &parse));
    let mut describe = vec![b'S'];
    describe.extend(cstr("s1"));
    batch.extend(message(b'D', &describe));
    let mut bind = cstr("p1");
    bind.extend(cstr("s1"));
    bind.extend(1i16.to_be_bytes());
    bind.extend(1i16.to_be_bytes()); // binary parameter
    bind.extend(1i16.to_be_bytes());
    bind.extend(4i32.to_be_bytes());
    bind.extend(2i32.to_be_bytes()); // $1 = 2
    bind.extend(0i16.to_be_bytes()); // text results
    batch.extend(message(b'B', &bind));
    for max in [2i32, 0] {
        let mut exec = cstr("p1");
        exec.extend(max.to_be_bytes());
        batch.extend(message(b'E', &exec));
    }
    batch.extend(message(b'S', &[]));
    c.send(&batch);
    let r = c.until_ready();
    let kinds: Vec<u8> = r.iter().map(|m| m.kind).collect();
    assert_eq!(
        kinds,
        b"1tT2DDsDDCZ".to_vec(),
        "ParseComplete, ParameterDescription, RowDescription, BindComplete, 2 rows, PortalSuspended, 2 rows, CommandComplete, ReadyForQuery"
    );
    assert_eq!(r[1].body, [0, 1, 0, 0, 0, 23]);
    assert_eq!(rows(&r)[0], vec![Some("2".into()), Some("v2".into())]);
    assert_eq!(rows(&r).len(), 4);
    // An error skips the rest up to Sync; the connection goes on.
    let mut batch = Vec::new();
    let mut parse = cstr("");
    parse.extend(cstr("SELECT 1/0"));
    parse.extend(0i16.to_be_bytes());
    batch.extend(message(b'P', &parse));
    let mut bind = cstr("");
    bind.extend(cstr(""));
    bind.extend([0, 0, 0, 0, 0, 0]);
    batch.extend(message(b'B', &bind));
    batch.extend(message(b'E', &[0, 0, 0, 0, 0]));
    batch.extend(message(b'E', &[0, 0, 0, 0, 0]));
    batch.extend(message(b'S', &[]));
    c.send(&batch);
    let r = c.until_ready();
    let kinds: Vec<u8> = r.iter().map(|m| m.kind).collect();
    assert_eq!(kinds, b"12EZ".to_vec());
    assert_eq!(code(&r).as_deref(), Some("22012"));
    let r = c.query("SELECT count(*) FROM t");
    assert_eq!(rows(&r), vec![vec![Some("5".into())]]);
    server.shutdown();
}

#[test]
fn waiting_statement_does_not_block_others_and_disconnect_rolls_back() {
    let server = start();
    let addr = server.local_addr();
    let mut a = Client::connect(addr);
    let mut b = Client::connect(addr);
    let mut other = Client::connect(addr);
    a.query("CREATE TABLE t (id int PRIMARY KEY, v int); INSERT INTO t VALUES (1, 0)");
    a.query("BEGIN");
    a.query("UPDATE t SET v = 1 WHERE id = 1");
    // b waits for a's row lock...
    b.send(&message(
        b'Q',
        &cstr("UPDATE t SET v = v + 10 WHERE id = 1"),
    ));
    std::thread::sleep(Duration::from_millis(300));
    // ...while other connections are served.
    let r = other.query("SELECT v FROM t");
    assert_eq!(rows(&r), vec![vec![Some("0".into())]]);
    // a disconnects mid-transaction: its update is rolled back and b goes on.
    drop(a);
    let r = b.until_ready();
    assert!(error(&r).is_none());
    assert!(r
        .iter()
        .any(|m| m.kind == b'C' && m.body.starts_with(b"UPDATE 1")));
    let r = other.query("SELECT v FROM t");
    assert_eq!(rows(&r), vec![vec![Some("10".into())]]);
    // A client that goes away while waiting releases its place too.
    b.query("BEGIN");
    b.query("UPDATE t SET v = 20 WHERE id = 1");
    let mut c = Client::connect(addr);
    c.send(&message(b'Q', &cstr("UPDATE t SET v = 30 WHERE id = 1")));
    std::thread::sleep(Duration::from_millis(500));
    drop(c);
    // The server notices within its 200 ms peer check.
    std::thread::sleep(Duration::from_millis(1000));
    let r = b.query("COMMIT");
    assert!(error(&r).is_none());
    let r = other.query("SELECT v FROM t");
    assert_eq!(rows(&r), vec![vec![Some("20".into())]]);
    server.shutdown();
}

#[test]
fn cancel_request_fails_a_waiting_statement_with_57014() {
    let server = start();
    let addr = server.local_addr();
    let mut a = Client::connect(addr);
    let mut b = Client::connect(addr);
    a.query("CREATE TABLE t (id int PRIMARY KEY, v int); INSERT INTO t VALUES (1, 0)");
    a.query("BEGIN; UPDATE t SET v = 1 WHERE id = 1");
    b.query("BEGIN");
    b.send(&message(b'Q', &cstr("UPDATE t SET v = 2 WHERE id = 1")));
    std::thread::sleep(Duration::from_millis(500));
    // A wrong secret is ignored.
    for secret in [b.secret.wrapping_add(1), b.secret] {
        send_cancel(addr, &b, secret);
        std::thread::sleep(Duration::from_millis(200));
    }
    let r = b.until_ready();
    assert_eq!(code(&r).as_deref(), Some("57014"));
    assert_eq!(status(&r), b'E', "the block is failed, as in PostgreSQL");
    assert_eq!(status(&b.query("ROLLBACK")), b'I');
    a.query("COMMIT");
    assert_eq!(
        rows(&a.query("SELECT v FROM t")),
        vec![vec![Some("1".into())]]
    );
    server.shutdown();
}

/// Parse + Bind + Execute of `sql` (unnamed statement and portal, no
/// parameters), without Sync.
fn parse_bind_execute(sql: &str) -> Vec<u8> {
    let mut batch = Vec::new();
    let mut parse = cstr("");
    parse.extend(cstr(sql));
    parse.extend(0i16.to_be_bytes());
    batch.extend(message(b'P', &parse));
    let mut bind = cstr("");
    bind.extend(cstr(""));
    bind.extend([0, 0, 0, 0, 0, 0]);
    batch.extend(message(b'B', &bind));
    batch.extend(message(b'E', &[0, 0, 0, 0, 0]));
    batch
}

/// DEALLOCATE ALL (what psycopg sends after an error) drops the
/// protocol-level prepared statements too, as in PostgreSQL.
#[test]
fn deallocate_all_drops_protocol_level_statements() {
    let server = start();
    let mut c = Client::connect(server.local_addr());
    let prepare = |c: &mut Client| {
        let mut parse = cstr("s1");
        parse.extend(cstr("SELECT 1"));
        parse.extend(0i16.to_be_bytes());
        let mut batch = message(b'P', &parse);
        batch.extend(message(b'S', &[]));
        c.send(&batch);
        c.until_ready()
    };
    assert!(error(&prepare(&mut c)).is_none());
    // A second Parse of the same name is refused while it exists.
    assert_eq!(code(&prepare(&mut c)).as_deref(), Some("42P05"));
    let r = c.query("DEALLOCATE ALL");
    assert!(error(&r).is_none());
    assert!(error(&prepare(&mut c)).is_none(), "s1 was dropped");
    let r = c.query("DISCARD ALL");
    assert!(error(&r).is_none());
    assert!(error(&prepare(&mut c)).is_none(), "s1 was dropped again");
    server.shutdown();
}

#[test]
fn extended_protocol_implicit_transaction_lasts_until_sync() {
    let server = start();
    let mut c = Client::connect(server.local_addr());
    let mut other = Client::connect(server.local_addr());
    c.query("CREATE TABLE t (id int PRIMARY KEY)");
    // Two Executes, then an error before Sync: both inserts roll back.
    let mut batch = parse_bind_execute("INSERT INTO t VALUES (1)");
    batch.extend(parse_bind_execute("INSERT INTO t VALUES (2)"));
    batch.extend(parse_bind_execute("INSERT INTO t VALUES (1)"));
    batch.extend(message(b'S', &[]));
    c.send(&batch);
    let r = c.until_ready();
    assert_eq!(code(&r).as_deref(), Some("23505"));
    assert_eq!(status(&r), b'I');
    assert_eq!(
        rows(&other.query("SELECT count(*) FROM t")),
        vec![vec![Some("0".into())]]
    );
    // Before Sync the rows are not committed: another session does not
    // see them (and waits on their keys); after Sync it does.
    c.send(&parse_bind_execute("INSERT INTO t VALUES (3)"));
    c.send(&message(b'H', &[])); // Flush
    let mut seen = Vec::new();
    while !seen.iter().any(|m: &Msg| m.kind == b'C') {
        seen.push(c.read().expect("reply before Sync"));
    }
    assert_eq!(
        rows(&other.query("SELECT count(*) FROM t")),
        vec![vec![Some("0".into())]]
    );
    c.send(&message(b'S', &[]));
    assert_eq!(status(&c.until_ready()), b'I');
    assert_eq!(
        rows(&other.query("SELECT count(*) FROM t")),
        vec![vec![Some("1".into())]]
    );
    // A deferred foreign key is checked at Sync, which reports the error.
    c.query("CREATE TABLE p (id int PRIMARY KEY); CREATE TABLE ch (pid int REFERENCES p DEFERRABLE INITIALLY DEFERRED)");
    let mut batch = parse_bind_execute("INSERT INTO ch VALUES (7)");
    batch.extend(parse_bind_execute("INSERT INTO p VALUES (7)"));
    batch.extend(message(b'S', &[]));
    c.send(&batch);
    assert!(
        error(&c.until_ready()).is_none(),
        "the key arrived before Sync"
    );
    let mut batch = parse_bind_execute("INSERT INTO ch VALUES (8)");
    batch.extend(message(b'S', &[]));
    c.send(&batch);
    let r = c.until_ready();
    assert_eq!(code(&r).as_deref(), Some("23503"));
    assert_eq!(
        rows(&other.query("SELECT count(*) FROM ch")),
        vec![vec![Some("1".into())]]
    );
    // Transaction control inside still works: BEGIN opens a block that
    // outlives Sync.
    let mut batch = parse_bind_execute("BEGIN");
    batch.extend(parse_bind_execute("INSERT INTO t VALUES (4)"));
    batch.extend(message(b'S', &[]));
    c.send(&batch);
    assert_eq!(status(&c.until_ready()), b'T');
    assert_eq!(status(&c.query("COMMIT")), b'I');
    assert_eq!(
        rows(&other.query("SELECT count(*) FROM t")),
        vec![vec![Some("2".into())]]
    );
    server.shutdown();
}

/// The ParameterStatus messages among `msgs`, as (name, value).
fn parameter_statuses(msgs: &[Msg]) -> Vec<(String, String)> {
    msgs.iter()
        .filter(|m| m.kind == b'S')
        .map(|m| {
            let mut parts = m
                .body
                .split(|b| *b == 0)
                .map(|p| String::from_utf8_lossy(p).into_owned());
            (
                parts.next().unwrap_or_default(),
                parts.next().unwrap_or_default(),
            )
        })
        .collect()
}

#[test]
fn startup_settings_apply_and_changes_are_reported() {
    let server = start();
    let addr = server.local_addr();
    let mut c = Client::connect_with(
        addr,
        &[
            ("application_name", "nightly-report"),
            // A named zone we cannot honour leaves the session in UTC.
            ("TimeZone", "Europe/Paris"),
            // A backslash keeps a space inside a value (pg_split_opts).
            (
                "options",
                "-c statement_timeout=5s --lock-timeout=1s -c default_transaction_isolation=repeatable\\ read",
            ),
        ],
    );
    let r = c.query("SELECT application_name FROM pg_stat_activity WHERE pid = pg_backend_pid()");
    assert_eq!(rows(&r), vec![vec![Some("nightly-report".into())]]);
    let r = c.query("SELECT current_setting('statement_timeout'), current_setting('lock_timeout'), current_setting('default_transaction_isolation')");
    assert_eq!(
        rows(&r),
        vec![vec![
            Some("5s".into()),
            Some("1s".into()),
            Some("repeatable read".into())
        ]]
    );
    // SET of a reported parameter: ParameterStatus before ReadyForQuery.
    let r = c.query("SET TimeZone = '+02:00'");
    assert_eq!(
        parameter_statuses(&r),
        vec![("TimeZone".to_string(), "+02:00".to_string())]
    );
    assert_eq!(r.last().map(|m| m.kind), Some(b'Z'));
    // Unchanged values are not re-sent; RESET reports the default again.
    assert!(parameter_statuses(&c.query("SET statement_timeout = 0")).is_empty());
    let r = c.query("RESET TimeZone; SET application_name = 'x'");
    let mut changes = parameter_statuses(&r);
    changes.sort();
    assert_eq!(
        changes,
        vec![
            ("TimeZone".to_string(), "UTC".to_string()),
            ("application_name".to_string(), "x".to_string()),
        ]
    );
    // A bad startup setting ends the connection with a FATAL error.
    let mut bad = TcpStream::connect(addr).expect("connect");
    bad.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    bad.write_all(&startup_packet(&[
        ("user", "test"),
        ("statement_timeout", "soon"),
    ]))
    .expect("startup");
    let mut all = Vec::new();
    let _ = bad.read_to_end(&mut all);
    let text = String::from_utf8_lossy(&all);
    assert!(text.contains("FATAL") && text.contains("22023"), "{text}");
    server.shutdown();
}

/// Memory storage that counts its syncs (for the WAL).
struct CountingStorage {
    inner: MemoryStorage,
    syncs: Arc<AtomicU64>,
}

impl Storage for CountingStorage {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize, StorageError> {
        self.inner.read_at(offset, buf)
    }
    fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<(), StorageError> {
        self.inner.write_at(offset, data)
    }
    fn len(&self) -> Result<u64, StorageError> {
        self.inner.len()
    }
    fn set_len(&mut self, len: u64) -> Result<(), StorageError> {
        self.inner.set_len(len)
    }
    fn sync(&mut self) -> Result<(), StorageError> {
        self.syncs.fetch_add(1, Ordering::SeqCst);
        self.inner.sync()
    }
}

/// An in-memory engine whose WAL syncs are counted in `syncs`.
fn counting_engine(syncs: Arc<AtomicU64>) -> Result<Engine, neuraldb::Error> {
    Engine::open(
        Box::new(MemoryStorage::new()),
        Box::new(CountingStorage {
            inner: MemoryStorage::new(),
            syncs,
        }),
        Default::default(),
    )
}

#[test]
fn concurrent_commits_share_wal_syncs() {
    let syncs = Arc::new(AtomicU64::new(0));
    let wal_syncs = syncs.clone();
    let server = Server::start(
        move || counting_engine(wal_syncs),
        ServerConfig {
            listen: "127.0.0.1:0".parse().expect("address"),
            password: None,
        },
    )
    .expect("server starts");
    let addr = server.local_addr();
    Client::connect(addr).query("CREATE TABLE t (client int, i int)");
    let before = syncs.load(Ordering::SeqCst);
    const CLIENTS: usize = 8;
    const COMMITS: usize = 40;
    let threads: Vec<_> = (0..CLIENTS)
        .map(|n| {
            std::thread::spawn(move || {
                let mut c = Client::connect(addr);
                for i in 0..COMMITS {
                    let r = c.query(&format!("INSERT INTO t VALUES ({n}, {i})"));
                    assert!(error(&r).is_none());
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("client thread");
    }
    let used = syncs.load(Ordering::SeqCst) - before;
    let commits = (CLIENTS * COMMITS) as u64;
    let r = Client::connect(addr).query("SELECT count(*) FROM t");
    assert_eq!(rows(&r), vec![vec![Some(commits.to_string())]]);
    // Every commit was synced before its reply (at most one sync each),
    // and concurrent commits shared syncs.
    assert!(
        used >= 1 && used < commits,
        "{used} WAL syncs for {commits} commits"
    );
    println!("group commit: {used} WAL syncs for {commits} commits");
    server.shutdown();
}

#[test]
fn engine_group_commit_syncs_only_when_asked() {
    let syncs = Arc::new(AtomicU64::new(0));
    let mut db = counting_engine(syncs.clone()).expect("engine");
    let s = db.connect();
    db.execute(s, "CREATE TABLE t (i int)", vec![])
        .expect("create");
    let n = syncs.load(Ordering::SeqCst);
    db.execute(s, "INSERT INTO t VALUES (1)", vec![])
        .expect("insert");
    assert_eq!(
        syncs.load(Ordering::SeqCst),
        n + 1,
        "a durable commit syncs"
    );
    db.set_group_commit(true);
    db.execute(s, "INSERT INTO t VALUES (2)", vec![])
        .expect("insert");
    db.execute(s, "INSERT INTO t VALUES (3)", vec![])
        .expect("insert");
    assert_eq!(
        syncs.load(Ordering::SeqCst),
        n + 1,
        "group commit defers the sync"
    );
    db.sync_commits().expect("sync");
    assert_eq!(syncs.load(Ordering::SeqCst), n + 2, "one sync for both");
    db.sync_commits().expect("nothing to sync");
    assert_eq!(syncs.load(Ordering::SeqCst), n + 2);
    // synchronous_commit = off commits are never waited for.
    db.execute(
        s,
        "SET synchronous_commit = off; INSERT INTO t VALUES (4)",
        vec![],
    )
    .expect("insert");
    db.sync_commits().expect("nothing to sync");
    assert_eq!(syncs.load(Ordering::SeqCst), n + 2);
}

/// Sends a CancelRequest for `c`'s backend with `secret`.
fn send_cancel(addr: SocketAddr, c: &Client, secret: i32) {
    let mut cancel = 16i32.to_be_bytes().to_vec();
    cancel.extend(80877102i32.to_be_bytes());
    cancel.extend(c.pid.to_be_bytes());
    cancel.extend(secret.to_be_bytes());
    let mut s = TcpStream::connect(addr).expect("connect");
    s.write_all(&cancel).expect("cancel request");
    // The server closes the cancel connection without a reply.
    let mut buf = [0u8; 1];
    assert_eq!(s.read(&mut buf).unwrap_or(0), 0);
}

/// A cross join that runs for minutes unless interrupted.
const LONG_QUERY: &str =
    "SELECT count(*) FROM generate_series(1, 30000) a, generate_series(1, 30000) b WHERE a + b < 0";

#[test]
fn cancel_request_stops_a_running_statement_and_others_go_on() {
    let server = start();
    let addr = server.local_addr();
    let mut a = Client::connect(addr);
    let mut b = Client::connect(addr);
    a.query("CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1)");
    // A cancel for an idle session cancels nothing (not even its next statement).
    send_cancel(addr, &b, b.secret);
    std::thread::sleep(Duration::from_millis(100));
    assert!(error(&b.query("SELECT 1")).is_none());

    b.query("BEGIN; INSERT INTO t VALUES (2)");
    let started = Instant::now();
    b.send(&message(b'Q', &cstr(LONG_QUERY)));
    std::thread::sleep(Duration::from_millis(300));
    send_cancel(addr, &b, b.secret.wrapping_add(1)); // wrong secret: ignored
    std::thread::sleep(Duration::from_millis(300));
    send_cancel(addr, &b, b.secret);
    let r = b.until_ready();
    let e = error(&r).expect("the statement was cancelled");
    assert_eq!(e.field(b'C').as_deref(), Some("57014"));
    assert_eq!(
        e.field(b'M').as_deref(),
        Some("canceling statement due to user request")
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "cancelled promptly, not after the statement finished"
    );
    assert_eq!(status(&r), b'E', "the block is failed, as in PostgreSQL");
    assert_eq!(status(&b.query("ROLLBACK")), b'I');
    // The engine serves everyone again; b's insert was rolled back.
    assert_eq!(
        rows(&a.query("SELECT count(*) FROM t")),
        vec![vec![Some("1".into())]]
    );
    assert!(error(&b.query("SELECT 1")).is_none());
    server.shutdown();
}

#[test]
fn statement_timeout_covers_running_and_waiting_statements() {
    let server = start();
    let addr = server.local_addr();
    let mut a = Client::connect(addr);
    let mut b = Client::connect(addr);
    a.query("CREATE TABLE t (id int PRIMARY KEY, v int); INSERT INTO t VALUES (1, 0)");
    assert!(error(&b.query("SET statement_timeout = '200ms'")).is_none());
    assert_eq!(
        rows(&b.query("SHOW statement_timeout")),
        vec![vec![Some("200ms".into())]]
    );
    let r = b.query(LONG_QUERY);
    let e = error(&r).expect("timed out");
    assert_eq!(e.field(b'C').as_deref(), Some("57014"));
    assert_eq!(
        e.field(b'M').as_deref(),
        Some("canceling statement due to statement timeout")
    );
    // A lock wait counts too.
    a.query("BEGIN; UPDATE t SET v = 1 WHERE id = 1");
    let started = Instant::now();
    let r = b.query("UPDATE t SET v = 2 WHERE id = 1");
    assert_eq!(code(&r).as_deref(), Some("57014"));
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(status(&r), b'I');
    // lock_timeout bounds the wait alone, with 55P03.
    b.query("SET statement_timeout = 0; SET lock_timeout = '100ms'");
    let started = Instant::now();
    let r = b.query("DELETE FROM t WHERE id = 1");
    let e = error(&r).expect("lock timeout");
    assert_eq!(e.field(b'C').as_deref(), Some("55P03"));
    assert_eq!(
        e.field(b'M').as_deref(),
        Some("canceling statement due to lock timeout")
    );
    assert!(started.elapsed() >= Duration::from_millis(100));
    assert!(started.elapsed() < Duration::from_secs(10));
    a.query("COMMIT");
    assert_eq!(
        rows(&b.query("SELECT v FROM t")),
        vec![vec![Some("1".into())]]
    );
    server.shutdown();
}

#[test]
fn non_loopback_needs_a_password() {
    let r = Server::start(
        Engine::open_memory,
        ServerConfig {
            listen: "0.0.0.0:0".parse().expect("address"),
            password: None,
        },
    );
    assert!(matches!(r, Err(ServerError::NoPassword(_))));
}

#[test]
fn password_is_required_when_set() {
    let server = Server::start(
        Engine::open_memory,
        ServerConfig {
            listen: "127.0.0.1:0".parse().expect("address"),
            password: Some("secret".into()),
        },
    )
    .expect("server starts");
    let mut s = TcpStream::connect(server.local_addr()).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    s.write_all(&startup_packet(&[("user", "test")]))
        .expect("startup");
    let mut head = [0u8; 9];
    s.read_exact(&mut head).expect("authentication request");
    // AuthenticationSASL (10) offering SCRAM-SHA-256, not AuthenticationOk.
    assert_eq!(head[0], b'R');
    assert_eq!(
        i32::from_be_bytes(head[5..9].try_into().expect("4 bytes")),
        10
    );
    server.shutdown();
}

#[test]
fn malformed_input_ends_only_that_connection() {
    let server = start();
    let addr = server.local_addr();
    let mut healthy = Client::connect(addr);
    healthy.query("CREATE TABLE t (id int)");
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    // Each hostile client writes its bytes and hangs up: the server must
    // decode (or reject) what it got, and drop only that connection.
    for i in 0..150 {
        let mut bytes: Vec<u8> = (0..(next() % 64)).map(|_| next() as u8).collect();
        if i % 3 == 0 {
            // After a valid startup: a random message type, length and body.
            let mut c = Client::connect(addr);
            let kinds = b"PBEDCQdcfHSXpF";
            let mut m = vec![kinds[(next() % kinds.len() as u64) as usize]];
            m.extend(((next() % 80) as i32).to_be_bytes());
            m.extend(&bytes);
            let _ = c.s.write_all(&m);
            continue;
        }
        if i % 3 == 1 {
            // A startup packet with a plausible length and garbage inside.
            let mut m = ((bytes.len() + 8) as i32).to_be_bytes().to_vec();
            m.extend([0, 3, 0, 0]);
            m.append(&mut bytes);
            bytes = m;
        }
        let mut s = TcpStream::connect(addr).expect("connect");
        let _ = s.write_all(&bytes);
    }
    // The server still serves its other connections and new ones.
    let r = healthy.query("INSERT INTO t VALUES (1)");
    assert!(error(&r).is_none());
    let mut fresh = Client::connect(addr);
    assert_eq!(
        rows(&fresh.query("SELECT count(*) FROM t")),
        vec![vec![Some("1".into())]]
    );
    server.shutdown();
}

// ---- the engine calls the server uses --------------------------------

#[test]
fn engine_cancel_fails_the_parked_statement() {
    let mut db = Engine::open_memory().expect("engine");
    let a = db.connect();
    let b = db.connect();
    db.execute(
        a,
        "CREATE TABLE t (id int PRIMARY KEY, v int); INSERT INTO t VALUES (1, 0)",
        vec![],
    )
    .expect("setup");
    db.execute(a, "BEGIN; UPDATE t SET v = 1 WHERE id = 1", vec![])
        .expect("lock");
    assert!(!db.cancel(b), "nothing to cancel");
    // Implicit transaction: canceled and rolled back.
    assert!(matches!(
        db.submit(b, "UPDATE t SET v = 2 WHERE id = 1", vec![]),
        Submitted::Parked
    ));
    assert!(db.cancel(b));
    let done = db.take_completions();
    assert_eq!(done.len(), 1);
    let e = done[0].1.error.as_ref().expect("an error");
    assert_eq!(e.sqlstate().as_str(), "57014");
    assert_eq!(db.txn_status(b), TxnStatus::Idle);
    // Explicit block: failed until ROLLBACK.
    db.execute(b, "BEGIN", vec![]).expect("begin");
    assert!(matches!(
        db.submit(b, "DELETE FROM t WHERE id = 1", vec![]),
        Submitted::Parked
    ));
    assert!(db.cancel(b));
    assert_eq!(db.take_completions().len(), 1);
    assert_eq!(db.txn_status(b), TxnStatus::Failed);
    db.execute(b, "ROLLBACK", vec![]).expect("rollback");
    // The holder is unaffected.
    db.execute(a, "COMMIT", vec![]).expect("commit");
    let r = db.execute(b, "SELECT v FROM t", vec![]).expect("select");
    assert_eq!(r[0].rows, vec![vec![Value::Int4(1)]]);
}

#[test]
fn engine_copy_in_uses_the_insert_path() {
    let mut db = Engine::open_memory().expect("engine");
    let s = db.connect();
    db.execute(
        s,
        "CREATE TABLE t (id int PRIMARY KEY, name text NOT NULL, pad char(3), n int DEFAULT 7)",
        vec![],
    )
    .expect("create");
    let r = db
        .execute(s, "COPY t (id, name, pad) FROM STDIN", vec![])
        .expect("copy");
    let Some(CopyMode::In(copy)) = r[0].copy.clone() else {
        panic!("COPY FROM STDIN asks for data")
    };
    assert_eq!(r[0].columns.len(), 3);
    let Submitted::Done(o) = db.copy_in(s, &copy, b"1\ta\t\n2\tb\tx\n") else {
        panic!("nothing to wait for")
    };
    assert!(o.error.is_none(), "{:?}", o.error);
    assert_eq!(o.results[0].command, "COPY 2");
    let r = db
        .execute(s, "SELECT id, pad, n FROM t ORDER BY id", vec![])
        .expect("select");
    assert_eq!(
        r[0].rows,
        vec![
            vec![Value::Int4(1), Value::Text("   ".into()), Value::Int4(7)],
            vec![Value::Int4(2), Value::Text("x  ".into()), Value::Int4(7)],
        ]
    );
    // Constraints apply and a failing COPY inserts nothing.
    let Submitted::Done(o) = db.copy_in(s, &copy, b"3\tc\t\n4\t\\N\t\n") else {
        panic!("nothing to wait for")
    };
    assert_eq!(o.error.expect("not null").sqlstate().as_str(), "23502");
    // In a block, rolled back with it.
    db.execute(s, "BEGIN", vec![]).expect("begin");
    let Submitted::Done(o) = db.copy_in(s, &copy, b"5\te\t\n") else {
        panic!("nothing to wait for")
    };
    assert!(o.error.is_none());
    db.execute(s, "ROLLBACK", vec![]).expect("rollback");
    let r = db
        .execute(s, "SELECT count(*) FROM t", vec![])
        .expect("count");
    assert_eq!(r[0].rows, vec![vec![Value::Int8(2)]]);
    // An abandoned COPY (CopyFail) fails the block; outside one it is moot.
    db.abort_copy(s);
    assert_eq!(db.txn_status(s), TxnStatus::Idle);
    db.execute(s, "BEGIN", vec![]).expect("begin");
    db.abort_copy(s);
    assert_eq!(db.txn_status(s), TxnStatus::Failed);
    db.execute(s, "ROLLBACK", vec![]).expect("rollback");
    // COPY TO STDOUT returns the rows.
    let r = db.execute(s, "COPY t TO STDOUT", vec![]).expect("copy out");
    assert!(matches!(r[0].copy, Some(CopyMode::Out(_))));
    assert_eq!((r[0].command.as_str(), r[0].rows.len()), ("COPY 2", 2));
}

#[test]
fn engine_copy_computes_generated_columns() {
    let mut db = Engine::open_memory().expect("engine");
    let s = db.connect();
    db.execute(
        s,
        "CREATE TABLE g (a int, b int GENERATED ALWAYS AS (a * 2) STORED, c text)",
        vec![],
    )
    .expect("create");
    // Without a column list COPY leaves generated columns out.
    let r = db.execute(s, "COPY g FROM STDIN", vec![]).expect("copy");
    let Some(CopyMode::In(copy)) = r[0].copy.clone() else {
        panic!("COPY FROM STDIN asks for data")
    };
    assert_eq!(r[0].columns.len(), 2);
    let Submitted::Done(o) = db.copy_in(s, &copy, b"1\tx\n2\t\\N\n") else {
        panic!("nothing to wait for")
    };
    assert!(o.error.is_none(), "{:?}", o.error);
    let r = db
        .execute(s, "SELECT a, b, c FROM g ORDER BY a", vec![])
        .expect("select");
    assert_eq!(
        r[0].rows,
        vec![
            vec![Value::Int4(1), Value::Int4(2), Value::Text("x".into())],
            vec![Value::Int4(2), Value::Int4(4), Value::Null],
        ]
    );
    // Naming one is PostgreSQL's 42P10, both ways.
    for sql in ["COPY g (a, b) FROM STDIN", "COPY g (b) TO STDOUT"] {
        let e = db
            .execute(s, sql, vec![])
            .expect_err("generated column in COPY");
        assert_eq!(e.sqlstate().as_str(), "42P10", "{sql}");
    }
    // COPY TO without a list leaves them out too.
    let r = db.execute(s, "COPY g TO STDOUT", vec![]).expect("copy out");
    assert_eq!(r[0].columns.len(), 2);
}

#[test]
fn engine_truncate_is_transactional() {
    let mut db = Engine::open_memory().expect("engine");
    let s = db.connect();
    let other = db.connect();
    db.execute(s, "CREATE TABLE a (id int PRIMARY KEY); CREATE TABLE b (id int); INSERT INTO a VALUES (1), (2); INSERT INTO b VALUES (3)", vec![])
        .expect("setup");
    db.execute(s, "BEGIN; TRUNCATE a, b", vec![])
        .expect("truncate");
    // Another transaction cannot use the tables meanwhile.
    let e = db
        .execute(other, "SELECT * FROM a", vec![])
        .expect_err("locked");
    assert_eq!(e.sqlstate().as_str(), "55P03");
    db.execute(s, "ROLLBACK", vec![]).expect("rollback");
    let r = db
        .execute(s, "SELECT count(*) FROM a", vec![])
        .expect("count");
    assert_eq!(r[0].rows, vec![vec![Value::Int8(2)]]);
    let r = db.execute(s, "TRUNCATE TABLE a", vec![]).expect("truncate");
    assert_eq!(r[0].command, "TRUNCATE TABLE");
    let r = db
        .execute(other, "SELECT count(*) FROM a", vec![])
        .expect("count");
    assert_eq!(r[0].rows, vec![vec![Value::Int8(0)]]);
    // The key can be reused.
    db.execute(s, "INSERT INTO a VALUES (1)", vec![])
        .expect("insert");
}

/// A CREATE INDEX over the wire yields to other connections: they see it
/// in pg_stat_progress_create_index while it runs, and a CancelRequest
/// ends it with 57014.
#[test]
fn create_index_progress_is_visible_and_cancellable_over_the_wire() {
    let server = start();
    let addr = server.local_addr();
    let mut a = Client::connect(addr);
    let mut b = Client::connect(addr);
    let dims = vec!["random()"; 32].join(", ");
    let r = a.query(&format!(
        "CREATE TABLE items (id int, e vector(32)); \
         INSERT INTO items SELECT g, array[{dims}]::real[]::vector FROM generate_series(1, 20000) g"
    ));
    assert!(
        error(&r).is_none(),
        "{:?}",
        error(&r).map(|e| e.field(b'M'))
    );
    a.send(&message(
        b'Q',
        &cstr("CREATE INDEX items_e ON items USING hnsw (e vector_l2_ops)"),
    ));
    let progress =
        "SELECT pid, phase, tuples_done, tuples_total FROM pg_stat_progress_create_index";
    let started = Instant::now();
    let row = loop {
        let r = rows(&b.query(progress));
        if let Some(row) = r.into_iter().next() {
            break row;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no progress seen"
        );
    };
    assert_eq!(row[0], Some(a.pid.to_string()));
    assert_eq!(row[1].as_deref(), Some("building index: loading tuples"));
    assert_eq!(row[3].as_deref(), Some("20000"));
    send_cancel(addr, &a, a.secret);
    let r = a.until_ready();
    assert_eq!(code(&r).as_deref(), Some("57014"));
    assert_eq!(status(&r), b'I');
    assert_eq!(
        rows(&b.query("SELECT count(*) FROM pg_indexes WHERE indexname = 'items_e'")),
        vec![vec![Some("0".into())]]
    );
    // Writers are not kept out after the cancel.
    assert!(error(&b.query("INSERT INTO items VALUES (0, NULL)")).is_none());
    server.shutdown();
}

#[test]
fn a_query_past_its_memory_limit_fails_with_53200_and_others_go_on() {
    let server = start();
    let addr = server.local_addr();
    let mut a = Client::connect(addr);
    let mut b = Client::connect(addr);
    a.query("CREATE TABLE t (x int); INSERT INTO t SELECT g FROM generate_series(1, 1000) g");
    assert!(error(&b.query("SET neuraldb.max_query_memory = '32MB'")).is_none());
    // A billion-row cartesian product: past 32MB long before it is built.
    b.send(&message(
        b'Q',
        &cstr("SELECT count(*) FROM t t1, t t2, t t3"),
    ));
    // a's query waits behind it and is answered.
    assert_eq!(
        rows(&a.query("SELECT count(*) FROM t")),
        vec![vec![Some("1000".into())]]
    );
    let r = b.until_ready();
    assert_eq!(code(&r).as_deref(), Some("53200"));
    assert_eq!(status(&r), b'I');
    // An aggregate that keeps its inputs (string_agg) and a plain scan
    // are held to the same limit.
    let r =
        b.query("SELECT length(string_agg(repeat('x', 1000), '')) FROM generate_series(1, 50000)");
    assert_eq!(code(&r).as_deref(), Some("53200"));
    let r = b.query(
        "CREATE TABLE wide (s text); INSERT INTO wide SELECT repeat('y', 1000) FROM generate_series(1, 20000)",
    );
    assert!(error(&r).is_none());
    assert_eq!(
        code(&b.query("SELECT s || s FROM wide")).as_deref(),
        Some("53200")
    );
    // Both sessions go on; the join with its condition runs within budget.
    assert_eq!(
        rows(&b.query("SELECT count(*) FROM t t1, t t2, t t3 WHERE t1.x = t2.x AND t2.x = t3.x")),
        vec![vec![Some("1000".into())]]
    );
    assert_eq!(
        rows(&a.query("SHOW neuraldb.max_query_memory")),
        vec![vec![Some("1GB".into())]]
    );
    server.shutdown();
}

/// A portal executed with a row limit reads through an engine cursor: a
/// table whose rows are far past `neuraldb.max_query_memory` comes out in
/// batches (a plain query of it fails with 53200), and the portal is
/// suspended after each full batch.
#[test]
fn a_portal_with_a_row_limit_streams_past_the_query_memory_limit() {
    let server = start();
    let mut c = Client::connect(server.local_addr());
    let r = c.query(
        "CREATE TABLE wide (id int, s text); \
         INSERT INTO wide SELECT g, repeat('y', 1000) FROM generate_series(1, 20000) g",
    );
    assert!(error(&r).is_none());
    assert!(error(&c.query("SET neuraldb.max_query_memory = '2MB'")).is_none());
    assert_eq!(
        code(&c.query("SELECT id, s FROM wide")).as_deref(),
        Some("53200")
    );
    let mut batch = Vec::new();
    let mut parse = cstr("");
    parse.extend(cstr("SELECT id, s FROM wide WHERE id > $1"));
    parse.extend(0i16.to_be_bytes());
    batch.extend(message(b'P', &parse));
    let mut bind = cstr("");
    bind.extend(cstr(""));
    bind.extend(0i16.to_be_bytes());
    bind.extend(1i16.to_be_bytes());
    bind.extend(1i32.to_be_bytes());
    bind.extend(b"0");
    bind.extend(0i16.to_be_bytes());
    batch.extend(message(b'B', &bind));
    let mut describe = vec![b'P'];
    describe.extend(cstr(""));
    batch.extend(message(b'D', &describe));
    for _ in 0..21 {
        let mut exec = cstr("");
        exec.extend(1000i32.to_be_bytes());
        batch.extend(message(b'E', &exec));
    }
    batch.extend(message(b'S', &[]));
    c.send(&batch);
    let r = c.until_ready();
    assert_eq!(code(&r), None);
    let count = |k: u8| r.iter().filter(|m| m.kind == k).count();
    assert_eq!(count(b'T'), 1, "one RowDescription");
    assert_eq!(count(b'D'), 20_000);
    assert_eq!(count(b's'), 20, "suspended after each full batch");
    assert_eq!(count(b'C'), 1);
    assert_eq!(rows(&r)[19_999][0].as_deref(), Some("20000"));
    // The implicit transaction ended at Sync, and the cursor with it.
    assert_eq!(
        rows(&c.query("SELECT count(*) FROM pg_cursors")),
        vec![vec![Some("0".into())]]
    );
    // In a block, the unnamed portal bound again while half read: the new
    // portal replaces it (and its cursor), as in PostgreSQL.
    assert!(error(&c.query("BEGIN")).is_none());
    let mut batch = Vec::new();
    let mut parse = cstr("");
    parse.extend(cstr("SELECT id FROM wide WHERE id <= 3"));
    parse.extend(0i16.to_be_bytes());
    batch.extend(message(b'P', &parse));
    for max in [2i32, 0] {
        let mut bind = cstr("");
        bind.extend(cstr(""));
        bind.extend([0, 0, 0, 0, 0, 0]);
        batch.extend(message(b'B', &bind));
        let mut exec = cstr("");
        exec.extend(max.to_be_bytes());
        batch.extend(message(b'E', &exec));
    }
    batch.extend(message(b'S', &[]));
    c.send(&batch);
    let r = c.until_ready();
    assert_eq!(code(&r), None);
    let kinds: Vec<u8> = r.iter().map(|m| m.kind).collect();
    assert_eq!(kinds, b"12DDs2DDDCZ".to_vec());
    assert!(error(&c.query("COMMIT")).is_none());
    server.shutdown();
}
