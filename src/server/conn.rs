//! One client connection after authentication: the simple and extended
//! query protocols and COPY, over pgwire's message codec. Each connection
//! is one engine session; every statement is a request to the engine
//! thread, awaited without blocking other connections.

use std::collections::HashMap;
use std::sync::{mpsc, Arc};
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use futures::{SinkExt, StreamExt};
use pgwire::error::ErrorInfo;
use pgwire::messages::copy::{CopyData, CopyDone, CopyInResponse, CopyOutResponse};
use pgwire::messages::data::{
    DataRow, FieldDescription, NoData, ParameterDescription, RowDescription, FORMAT_CODE_BINARY,
};
use pgwire::messages::extendedquery::{
    Bind, BindComplete, Close, CloseComplete, Describe, Execute, Parse, ParseComplete,
    PortalSuspended, TARGET_TYPE_BYTE_PORTAL, TARGET_TYPE_BYTE_STATEMENT,
};
use pgwire::messages::response::{
    CommandComplete, EmptyQueryResponse, ErrorResponse, NoticeResponse, NotificationResponse,
    ReadyForQuery, TransactionStatus,
};
use pgwire::messages::startup::ParameterStatus;
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};
use pgwire::tokio::server::{MaybeTls, PgWireMessageServerCodec};
use tokio::sync::oneshot;
use tokio_util::codec::Framed;

use super::types::{decode_binary, decode_text, encode_binary, type_from_oid, type_oid};
use super::worker::{Reply, Request};
use crate::engine::{
    CopyIn, CopyMode, Notification, QueryResult, SessionId, TxnStatus, PORTAL_CURSOR_PREFIX,
};
use crate::error::{Error, Notice, SqlError, SqlState};
use crate::sql::plan::Column;
use crate::value::tz::TimeZone;
use crate::value::{DataType, Value};

pub type Socket = Framed<MaybeTls, PgWireMessageServerCodec<()>>;

/// Most COPY data one statement may buffer (the engine inserts it in one
/// call); more is refused with 54000 rather than exhausting memory.
const MAX_COPY_BYTES: usize = 512 << 20;

/// How often a waiting statement checks whether its client went away.
const PEER_CHECK: Duration = Duration::from_millis(200);

/// Why a connection ends.
#[derive(Debug)]
pub enum ConnEnd {
    /// Terminate, or the client closed the socket.
    Closed,
    /// Writing to the client failed (it is gone: nothing to report to).
    Io,
    /// The engine thread is gone (server shutting down).
    EngineGone,
}

impl From<std::io::Error> for ConnEnd {
    fn from(_: std::io::Error) -> Self {
        ConnEnd::Io
    }
}

struct Prepared {
    sql: String,
    /// OIDs the client declared in Parse (0 = infer).
    param_oids: Vec<u32>,
    /// One plain SELECT: its portals read through a cursor (decided once
    /// per Parse, not per Bind).
    by_cursor: bool,
}

enum PortalState {
    NotRun,
    /// Ran: its result (None after an error or for an empty query) and how
    /// many rows Execute has sent so far.
    Ran {
        result: Option<QueryResult>,
        sent: usize,
    },
    /// A single SELECT read through an engine cursor (named
    /// [`PORTAL_CURSOR_PREFIX`] + the portal's name), one FETCH per Execute, so a
    /// row limit bounds what is held: `columns` describe its rows.
    Cursor {
        cursor: String,
        columns: Vec<Column>,
    },
}

struct Portal {
    sql: String,
    by_cursor: bool,
    params: Vec<Value>,
    result_formats: Vec<i16>,
    state: PortalState,
}

struct CopyState {
    copy: CopyIn,
    data: Vec<u8>,
    /// Started by Execute (extended protocol): no ReadyForQuery after it,
    /// the client's Sync sends that.
    extended: bool,
}

pub struct Conn {
    sid: SessionId,
    engine: mpsc::Sender<Request>,
    /// A second handle on the client socket, only to notice (by peeking)
    /// that the client went away while one of its statements waits.
    probe: std::net::TcpStream,
    status: TxnStatus,
    tz: TimeZone,
    /// The reported parameters' current values (from the last reply) and
    /// the values the client was last told (ParameterStatus).
    params: Vec<(&'static str, String)>,
    reported: HashMap<&'static str, String>,
    /// Settings from the startup packet, applied before the first query.
    startup: Vec<(String, String)>,
    statements: HashMap<String, Prepared>,
    portals: HashMap<String, Portal>,
    /// After an error in an extended-protocol message, messages up to the
    /// next Sync are skipped (PostgreSQL's rule).
    skip_to_sync: bool,
    /// An extended-protocol statement ran since the last Sync, so Sync
    /// must end its implicit transaction.
    sync_due: bool,
    copy: Option<CopyState>,
    /// WARNINGs and NOTICEs from the engine not yet sent to the client.
    notices: Vec<Notice>,
    /// Notifications from the engine not yet sent to the client.
    notifications: Vec<Notification>,
    /// Rung by the engine thread when notifications wait for this session.
    doorbell: Arc<tokio::sync::Notify>,
}

pub fn error_info(e: &Error) -> ErrorInfo {
    let mut info = ErrorInfo::new("ERROR".into(), e.sqlstate().to_string(), e.to_string());
    if let Error::Sql(s) = e {
        info.detail = s.detail.clone();
        info.hint = s.hint.clone();
        info.position = s.position.map(|p| p.to_string());
    }
    info
}

fn sql_error(code: SqlState, msg: impl Into<String>) -> Error {
    Error::Sql(SqlError::new(code, msg))
}

fn protocol_error(msg: impl Into<String>) -> Error {
    sql_error(SqlState::PROTOCOL_VIOLATION, msg)
}

fn ready(status: TxnStatus) -> PgWireBackendMessage {
    PgWireBackendMessage::ReadyForQuery(ReadyForQuery::new(match status {
        TxnStatus::Idle => TransactionStatus::Idle,
        TxnStatus::InBlock => TransactionStatus::Transaction,
        TxnStatus::Failed => TransactionStatus::Error,
    }))
}

/// The format code of result column `i` (Bind's list: none = all text,
/// one = all columns, else one per column).
fn format_of(formats: &[i16], i: usize) -> i16 {
    match formats {
        [] => 0,
        [one] => *one,
        many => many.get(i).copied().unwrap_or(0),
    }
}

/// A column's reported type: its bound type, unless that is `unknown` or
/// `text` while the values say otherwise (`SELECT $1` with an int8
/// parameter), then the type of its first non-NULL value.
fn column_type(col: &Column, i: usize, rows: &[Vec<Value>]) -> DataType {
    if !matches!(col.ty, DataType::Unknown | DataType::Text) {
        return col.ty.clone();
    }
    rows.iter()
        .filter_map(|r| r.get(i))
        .find(|v| !v.is_null())
        .map_or(col.ty.clone(), Value::data_type)
}

fn row_description(r: &QueryResult, formats: &[i16]) -> RowDescription {
    RowDescription::new(
        r.columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let ty = column_type(c, i, &r.rows);
                FieldDescription::new(
                    c.name.clone(),
                    0,
                    0,
                    type_oid(&ty),
                    ty.typlen(),
                    ty.typmod(),
                    format_of(formats, i),
                )
            })
            .collect(),
    )
}

fn data_row(row: &[Value], formats: &[i16], tz: &TimeZone) -> Result<DataRow, Error> {
    let mut buf = BytesMut::new();
    for (i, v) in row.iter().enumerate() {
        let bytes = if v.is_null() {
            None
        } else if format_of(formats, i) == FORMAT_CODE_BINARY {
            Some(encode_binary(v, tz)?)
        } else {
            v.to_pg_text(tz).map(String::into_bytes)
        };
        match bytes {
            Some(b) => {
                let len = i32::try_from(b.len())
                    .map_err(|_| sql_error(SqlState::PROGRAM_LIMIT_EXCEEDED, "value too large"))?;
                buf.put_i32(len);
                buf.put_slice(&b);
            }
            None => buf.put_i32(-1),
        }
    }
    Ok(DataRow::new(buf, row.len() as i16))
}

/// Checks Bind's result format codes against the column count.
fn check_formats(formats: &[i16], ncols: usize) -> Result<(), Error> {
    if formats.len() > 1 && formats.len() != ncols {
        return Err(protocol_error(format!(
            "bind message has {} result formats but query has {ncols} columns",
            formats.len()
        )));
    }
    Ok(())
}

/// The startup parameters that are settings, in order: everything but the
/// connection's identity, plus `-c name=value` (or `--name=value`) from
/// `options`. client_encoding is left out: only UTF8 is spoken.
fn startup_settings(params: &HashMap<String, String>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = params
        .iter()
        .filter(|(k, _)| {
            !matches!(
                k.as_str(),
                "user" | "database" | "options" | "replication" | "client_encoding"
            ) && !k.starts_with("_pq_.")
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    out.sort();
    if let Some(options) = params.get("options") {
        let words = split_options(options);
        let mut words = words.iter().map(String::as_str);
        while let Some(w) = words.next() {
            let setting = match w {
                "-c" => words.next(),
                w => w.strip_prefix("-c").or_else(|| w.strip_prefix("--")),
            };
            if let Some((k, v)) = setting.and_then(|s| s.split_once('=')) {
                out.push((k.replace('-', "_"), v.to_string()));
            }
        }
    }
    out
}

/// The startup `options` split into words as PostgreSQL's pg_split_opts
/// does: whitespace separates, a backslash keeps the next character
/// (`-c default_transaction_isolation=read\ committed`).
fn split_options(options: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut chars = options.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => word.extend(chars.next()),
            c if c.is_whitespace() => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            c => word.push(c),
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

fn is_empty_query(sql: &str) -> bool {
    sql.split(';').all(|part| part.trim().is_empty())
}

impl Conn {
    /// `startup`: the startup packet's parameters; `reported`: the
    /// ParameterStatus values sent during startup.
    pub fn new(
        sid: SessionId,
        engine: mpsc::Sender<Request>,
        doorbell: Arc<tokio::sync::Notify>,
        probe: std::net::TcpStream,
        startup: &HashMap<String, String>,
        reported: HashMap<&'static str, String>,
    ) -> Conn {
        Conn {
            sid,
            engine,
            probe,
            status: TxnStatus::Idle,
            tz: TimeZone::utc(),
            params: Vec::new(),
            reported,
            startup: startup_settings(startup),
            statements: HashMap::new(),
            portals: HashMap::new(),
            skip_to_sync: false,
            sync_due: false,
            copy: None,
            notices: Vec::new(),
            notifications: Vec::new(),
            doorbell,
        }
    }

    /// Serves the connection until it ends.
    pub async fn run(&mut self, socket: &mut Socket) -> ConnEnd {
        if let Err(end) = self.apply_startup_settings(socket).await {
            return end;
        }
        loop {
            let doorbell = self.doorbell.clone();
            let next = tokio::select! {
                next = socket.next() => Some(next),
                () = doorbell.notified() => None,
            };
            let Some(next) = next else {
                if let Err(end) = self.deliver_notifications(socket).await {
                    return end;
                }
                continue;
            };
            let msg = match next {
                None => return ConnEnd::Closed,
                Some(Ok(m)) => m,
                Some(Err(e)) => {
                    // Malformed input: report and end this connection only.
                    let mut info = ErrorInfo::new(
                        "FATAL".into(),
                        SqlState::PROTOCOL_VIOLATION.to_string(),
                        format!("invalid frontend message: {e}"),
                    );
                    info.detail = None;
                    let _ = socket
                        .send(PgWireBackendMessage::ErrorResponse(info.into()))
                        .await;
                    return ConnEnd::Closed;
                }
            };
            if let Err(end) = self.dispatch(socket, msg).await {
                return end;
            }
        }
    }

    /// Applies the startup packet's settings (e.g. application_name,
    /// `options=-c statement_timeout=5s`) as SET does; a bad one ends the
    /// connection, as in PostgreSQL. Exception: a named time zone (we know
    /// only UTC and fixed offsets; drivers such as JDBC send the client's
    /// zone) leaves the session in UTC rather than refusing the client.
    async fn apply_startup_settings(&mut self, socket: &mut Socket) -> Result<(), ConnEnd> {
        for (name, value) in std::mem::take(&mut self.startup) {
            let sql = format!(
                "SET \"{}\" TO '{}'",
                name.replace('"', "\"\""),
                value.replace('\'', "''")
            );
            let reply = self.submit(sql, Vec::new(), false).await?;
            let Some(e) = reply.outcome.error else {
                continue;
            };
            if name.eq_ignore_ascii_case("timezone")
                && e.sqlstate() == SqlState::INVALID_PARAMETER_VALUE
            {
                continue;
            }
            let mut info = error_info(&e);
            info.severity = "FATAL".into();
            socket
                .send(PgWireBackendMessage::ErrorResponse(info.into()))
                .await?;
            return Err(ConnEnd::Closed);
        }
        self.feed_parameter_changes(socket).await?;
        socket.flush().await?;
        Ok(())
    }

    /// ParameterStatus for every reported parameter whose value changed
    /// since the client was last told.
    async fn feed_parameter_changes(&mut self, socket: &mut Socket) -> Result<(), ConnEnd> {
        for (name, value) in &self.params {
            if self.reported.get(name) != Some(value) {
                socket
                    .feed(PgWireBackendMessage::ParameterStatus(ParameterStatus::new(
                        (*name).to_string(),
                        value.clone(),
                    )))
                    .await?;
                self.reported.insert(name, value.clone());
            }
        }
        Ok(())
    }

    /// Between messages, the engine rang: fetch the session's waiting
    /// notifications and send them (PostgreSQL sends them to an idle
    /// client at once; clients must accept them at any time).
    async fn deliver_notifications(&mut self, socket: &mut Socket) -> Result<(), ConnEnd> {
        if self.copy.is_some() {
            return Ok(());
        }
        loop {
            let sid = self.sid;
            let (tx, rx) = oneshot::channel();
            self.engine
                .send(Request::Notifications { sid, reply: tx })
                .map_err(|_| ConnEnd::EngineGone)?;
            let batch = rx.await.map_err(|_| ConnEnd::EngineGone)?;
            let full = batch.len() >= super::worker::NOTIFICATION_BATCH;
            self.notifications.extend(batch);
            self.feed_notifications(socket).await?;
            socket.flush().await?;
            if !full {
                return Ok(());
            }
        }
    }

    async fn feed_notifications(&mut self, socket: &mut Socket) -> Result<(), ConnEnd> {
        for n in std::mem::take(&mut self.notifications) {
            socket
                .feed(PgWireBackendMessage::NotificationResponse(
                    NotificationResponse::new(n.sender as i32, n.channel, n.payload),
                ))
                .await?;
        }
        Ok(())
    }

    /// ReadyForQuery, preceded by ParameterStatus for parameters that
    /// changed (PostgreSQL reports them there too) and notifications.
    async fn send_ready(&mut self, socket: &mut Socket) -> Result<(), ConnEnd> {
        self.feed_notices(socket).await?;
        self.feed_notifications(socket).await?;
        self.feed_parameter_changes(socket).await?;
        socket.send(ready(self.status)).await?;
        Ok(())
    }

    async fn dispatch(
        &mut self,
        socket: &mut Socket,
        msg: PgWireFrontendMessage,
    ) -> Result<(), ConnEnd> {
        use PgWireFrontendMessage as M;
        if self.copy.is_some() {
            return self.copy_message(socket, msg).await;
        }
        match msg {
            M::Terminate(_) => Err(ConnEnd::Closed),
            M::Sync(_) => self.sync(socket).await,
            M::Flush(_) => {
                socket.flush().await?;
                Ok(())
            }
            _ if self.skip_to_sync => Ok(()),
            M::Query(q) => self.simple_query(socket, q.query).await,
            M::Parse(p) => self.parse(socket, p).await,
            M::Bind(b) => {
                let r = self.bind(b).await?;
                self.reply_or_skip(
                    socket,
                    r,
                    PgWireBackendMessage::BindComplete(BindComplete::new()),
                )
                .await
            }
            M::Describe(d) => self.describe(socket, d).await,
            M::Execute(e) => self.execute(socket, e).await,
            M::Close(c) => self.close(socket, c).await,
            // Startup-phase messages after startup, or COPY messages outside
            // COPY: a protocol violation that ends the connection.
            other => {
                let e = protocol_error(format!("unexpected message {other:?}"));
                let mut info = error_info(&e);
                info.severity = "FATAL".into();
                socket
                    .send(PgWireBackendMessage::ErrorResponse(info.into()))
                    .await?;
                Err(ConnEnd::Closed)
            }
        }
    }

    async fn send_error(&mut self, socket: &mut Socket, e: &Error) -> Result<(), ConnEnd> {
        self.feed_notices(socket).await?;
        let mut info = error_info(e);
        // A timeout terminated the session: FATAL, and the connection
        // ends, as in PostgreSQL.
        let fatal = matches!(e.sqlstate().as_str(), "25P03" | "25P04");
        if fatal {
            info.severity = "FATAL".into();
        }
        socket
            .feed(PgWireBackendMessage::ErrorResponse(ErrorResponse::from(
                info,
            )))
            .await?;
        if fatal {
            socket.flush().await?;
            return Err(ConnEnd::Closed);
        }
        Ok(())
    }

    /// An extended-protocol step: its completion message, or the error and
    /// skipping to Sync.
    async fn reply_or_skip(
        &mut self,
        socket: &mut Socket,
        r: Result<(), Error>,
        ok: PgWireBackendMessage,
    ) -> Result<(), ConnEnd> {
        match r {
            Ok(()) => socket.feed(ok).await?,
            Err(e) => {
                self.send_error(socket, &e).await?;
                self.skip_to_sync = true;
            }
        }
        Ok(())
    }

    /// Sends a request to the engine thread and waits for its reply; a
    /// statement waiting for a lock waits here, while the connection keeps
    /// an eye on its client.
    async fn call(
        &mut self,
        make: impl FnOnce(oneshot::Sender<Reply>) -> Request,
    ) -> Result<Reply, ConnEnd> {
        let (tx, mut rx) = oneshot::channel();
        self.engine
            .send(make(tx))
            .map_err(|_| ConnEnd::EngineGone)?;
        loop {
            tokio::select! {
                r = &mut rx => {
                    let mut r = r.map_err(|_| ConnEnd::EngineGone)?;
                    self.status = r.status;
                    self.tz = r.tz.clone();
                    self.params = r.params.clone();
                    self.notices.extend(r.notices.iter().cloned());
                    self.notifications.append(&mut r.notifications);
                    return Ok(r);
                }
                _ = tokio::time::sleep(PEER_CHECK) => {
                    if self.peer_closed() {
                        return Err(ConnEnd::Closed);
                    }
                }
            }
        }
    }

    /// True when the client closed its end (or the socket failed). Data
    /// the client already sent (e.g. a pipelined Sync) means it is alive.
    fn peer_closed(&self) -> bool {
        let mut byte = [0u8; 1];
        match self.probe.peek(&mut byte) {
            Ok(0) => true,
            Ok(_) => false,
            Err(e) => e.kind() != std::io::ErrorKind::WouldBlock,
        }
    }

    /// Runs a statement; `until_sync` (extended protocol) keeps an implicit
    /// transaction open until the next Sync.
    async fn submit(
        &mut self,
        sql: String,
        params: Vec<Value>,
        until_sync: bool,
    ) -> Result<Reply, ConnEnd> {
        let sid = self.sid;
        self.sync_due |= until_sync;
        self.call(|reply| Request::Submit {
            sid,
            sql,
            params,
            until_sync,
            reply,
        })
        .await
    }

    /// Sync: ends the extended-protocol statements' implicit transaction
    /// (its commit may fail, e.g. on a deferred foreign key), then
    /// ReadyForQuery.
    async fn sync(&mut self, socket: &mut Socket) -> Result<(), ConnEnd> {
        self.skip_to_sync = false;
        if std::mem::take(&mut self.sync_due) {
            let sid = self.sid;
            let reply = self.call(|reply| Request::Sync { sid, reply }).await?;
            if let Some(e) = reply.outcome.error {
                self.send_error(socket, &e).await?;
            }
        }
        self.send_ready(socket).await?;
        Ok(())
    }

    // ---- simple query -------------------------------------------------

    async fn simple_query(&mut self, socket: &mut Socket, sql: String) -> Result<(), ConnEnd> {
        if is_empty_query(&sql) {
            socket
                .feed(PgWireBackendMessage::EmptyQueryResponse(
                    EmptyQueryResponse::new(),
                ))
                .await?;
            self.send_ready(socket).await?;
            return Ok(());
        }
        let reply = self.submit(sql, Vec::new(), false).await?;
        self.feed_notices(socket).await?;
        let tz = reply.tz.clone();
        for r in &reply.outcome.results {
            self.after_command(&r.command);
        }
        for r in reply.outcome.results {
            match &r.copy {
                Some(CopyMode::In(copy)) => {
                    self.start_copy_in(socket, copy.clone(), false).await?;
                    return Ok(());
                }
                Some(CopyMode::Out(format)) => {
                    let format = format.clone();
                    self.copy_out(socket, &r, &format, &tz).await?;
                }
                None => {
                    if !r.columns.is_empty() {
                        socket
                            .feed(PgWireBackendMessage::RowDescription(row_description(
                                &r,
                                &[],
                            )))
                            .await?;
                    }
                    if let Err(e) = self
                        .send_rows(socket, &r, &[], 0, r.rows.len(), &tz)
                        .await?
                    {
                        self.send_error(socket, &e).await?;
                        self.send_ready(socket).await?;
                        return Ok(());
                    }
                    self.complete(socket, &r.command).await?;
                }
            }
        }
        if let Some(e) = reply.outcome.error {
            self.send_error(socket, &e).await?;
        }
        self.send_ready(socket).await?;
        Ok(())
    }

    /// DEALLOCATE ALL and DISCARD ALL also drop the protocol-level
    /// prepared statements (and DISCARD ALL the portals), as in PostgreSQL,
    /// where both kinds live in one table.
    fn after_command(&mut self, tag: &str) {
        match tag {
            "DEALLOCATE ALL" => self.statements.clear(),
            "DISCARD ALL" => {
                self.statements.clear();
                self.portals.clear();
            }
            _ => {}
        }
    }

    /// Sends the notices the engine raised, in order.
    async fn feed_notices(&mut self, socket: &mut Socket) -> Result<(), ConnEnd> {
        for n in std::mem::take(&mut self.notices) {
            let mut info = error_info(&Error::Sql(n.body));
            info.severity = n.severity.as_str().into();
            socket
                .feed(PgWireBackendMessage::NoticeResponse(NoticeResponse::from(
                    info,
                )))
                .await?;
        }
        Ok(())
    }

    async fn complete(&mut self, socket: &mut Socket, tag: &str) -> Result<(), ConnEnd> {
        self.feed_notices(socket).await?;
        socket
            .feed(PgWireBackendMessage::CommandComplete(CommandComplete::new(
                tag.to_string(),
            )))
            .await?;
        Ok(())
    }

    /// Sends rows `from..to` of `r`; the inner error is a value that could
    /// not be encoded (e.g. binary format of an unsupported type).
    async fn send_rows(
        &mut self,
        socket: &mut Socket,
        r: &QueryResult,
        formats: &[i16],
        from: usize,
        to: usize,
        tz: &TimeZone,
    ) -> Result<Result<(), Error>, ConnEnd> {
        for row in &r.rows[from..to] {
            match data_row(row, formats, tz) {
                Ok(d) => socket.feed(PgWireBackendMessage::DataRow(d)).await?,
                Err(e) => return Ok(Err(e)),
            }
        }
        Ok(Ok(()))
    }

    // ---- COPY ---------------------------------------------------------

    async fn start_copy_in(
        &mut self,
        socket: &mut Socket,
        copy: CopyIn,
        extended: bool,
    ) -> Result<(), ConnEnd> {
        let n = copy.columns.len() as i16;
        socket
            .send(PgWireBackendMessage::CopyInResponse(CopyInResponse::new(
                0,
                n,
                vec![0; n as usize],
            )))
            .await?;
        self.copy = Some(CopyState {
            copy,
            data: Vec::new(),
            extended,
        });
        Ok(())
    }

    async fn copy_message(
        &mut self,
        socket: &mut Socket,
        msg: PgWireFrontendMessage,
    ) -> Result<(), ConnEnd> {
        use PgWireFrontendMessage as M;
        let state = self.copy.as_mut().expect("called in COPY mode");
        let failure = match msg {
            M::CopyData(d) => {
                if state.data.len() + d.data.len() > MAX_COPY_BYTES {
                    Some(sql_error(
                        SqlState::PROGRAM_LIMIT_EXCEEDED,
                        format!("COPY data exceeds {MAX_COPY_BYTES} bytes"),
                    ))
                } else {
                    state.data.extend_from_slice(&d.data);
                    None
                }
            }
            // The protocol lets clients send these during COPY; they are
            // ignored.
            M::Flush(_) | M::Sync(_) => None,
            M::CopyDone(_) => {
                let CopyState {
                    copy,
                    data,
                    extended,
                } = self.copy.take().expect("in COPY mode");
                let sid = self.sid;
                let reply = self
                    .call(|reply| Request::CopyIn {
                        sid,
                        copy,
                        data,
                        reply,
                    })
                    .await?;
                for r in &reply.outcome.results {
                    self.complete(socket, &r.command).await?;
                }
                if let Some(e) = &reply.outcome.error {
                    self.send_error(socket, e).await?;
                    self.skip_to_sync = extended;
                }
                if !extended {
                    self.send_ready(socket).await?;
                }
                return Ok(());
            }
            M::CopyFail(f) => Some(sql_error(
                SqlState::QUERY_CANCELED,
                format!("COPY from stdin failed: {}", f.message),
            )),
            other => Some(protocol_error(format!(
                "unexpected message type during COPY from stdin: {other:?}"
            ))),
        };
        if let Some(e) = failure {
            let extended = state.extended;
            self.copy = None;
            // The failed COPY fails an enclosing transaction block.
            let (tx, rx) = oneshot::channel();
            self.engine
                .send(Request::CopyFail {
                    sid: self.sid,
                    reply: tx,
                })
                .map_err(|_| ConnEnd::EngineGone)?;
            self.status = rx.await.map_err(|_| ConnEnd::EngineGone)?;
            self.send_error(socket, &e).await?;
            if extended {
                self.skip_to_sync = true;
            } else {
                self.send_ready(socket).await?;
            }
        }
        Ok(())
    }

    async fn copy_out(
        &mut self,
        socket: &mut Socket,
        r: &QueryResult,
        format: &crate::sql::parse::ast::CopyFormat,
        tz: &TimeZone,
    ) -> Result<(), ConnEnd> {
        let n = r.columns.len() as i16;
        socket
            .feed(PgWireBackendMessage::CopyOutResponse(CopyOutResponse::new(
                0,
                n,
                vec![0; n as usize],
            )))
            .await?;
        if format.header {
            let names: Vec<String> = r.columns.iter().map(|c| c.name.clone()).collect();
            let line = crate::sql::parse::copy::format_header(&names, format);
            socket
                .feed(PgWireBackendMessage::CopyData(CopyData::new(Bytes::from(
                    line,
                ))))
                .await?;
        }
        for row in &r.rows {
            let line = crate::sql::parse::copy::format_row(row, format, tz);
            socket
                .feed(PgWireBackendMessage::CopyData(CopyData::new(Bytes::from(
                    line,
                ))))
                .await?;
        }
        socket
            .feed(PgWireBackendMessage::CopyDone(CopyDone::new()))
            .await?;
        self.complete(socket, &r.command).await
    }

    // ---- extended query -----------------------------------------------

    async fn parse(&mut self, socket: &mut Socket, p: Parse) -> Result<(), ConnEnd> {
        let name = p.name.unwrap_or_default();
        if !name.is_empty() && self.statements.contains_key(&name) {
            let e = sql_error(
                SqlState("42P05"),
                format!("prepared statement \"{name}\" already exists"),
            );
            return self
                .reply_or_skip(
                    socket,
                    Err(e),
                    PgWireBackendMessage::ParseComplete(ParseComplete::new()),
                )
                .await;
        }
        self.statements.insert(
            name,
            Prepared {
                by_cursor: reads_by_cursor(&p.query),
                sql: p.query,
                param_oids: p.type_oids,
            },
        );
        socket
            .feed(PgWireBackendMessage::ParseComplete(ParseComplete::new()))
            .await?;
        Ok(())
    }

    /// Bind: decodes the parameters (text, or binary by their declared or
    /// inferred types) into a portal.
    async fn bind(&mut self, b: Bind) -> Result<Result<(), Error>, ConnEnd> {
        let stmt_name = b.statement_name.unwrap_or_default();
        let Some(stmt) = self.statements.get(&stmt_name) else {
            return Ok(Err(sql_error(
                SqlState("26000"),
                format!("prepared statement \"{stmt_name}\" does not exist"),
            )));
        };
        let (sql, declared, by_cursor) =
            (stmt.sql.clone(), stmt.param_oids.clone(), stmt.by_cursor);
        let codes = &b.parameter_format_codes;
        if codes.len() > 1 && codes.len() != b.parameters.len() {
            return Ok(Err(protocol_error(format!(
                "bind message has {} parameter formats but {} parameters",
                codes.len(),
                b.parameters.len()
            ))));
        }
        if b.parameter_format_codes
            .iter()
            .chain(&b.result_column_format_codes)
            .any(|f| *f != 0 && *f != 1)
        {
            return Ok(Err(protocol_error("invalid format code")));
        }
        let binary = |i: usize| format_of(codes, i) == FORMAT_CODE_BINARY;
        // Binary parameters without a declared type take the inferred one.
        let needs_inference =
            b.parameters.iter().enumerate().any(|(i, p)| {
                p.is_some() && binary(i) && declared.get(i).copied().unwrap_or(0) == 0
            });
        let inferred = if needs_inference {
            match self.describe_sql(&sql).await? {
                Ok(d) => d.params,
                Err(e) => return Ok(Err(e)),
            }
        } else {
            Vec::new()
        };
        let mut params = Vec::with_capacity(b.parameters.len());
        for (i, p) in b.parameters.iter().enumerate() {
            let ty = declared
                .get(i)
                .and_then(|oid| type_from_oid(*oid))
                .or_else(|| inferred.get(i).cloned());
            let v = match p {
                None => Value::Null,
                // A binary value of no known type is taken as bytea
                // (node-postgres sends Buffers that way).
                Some(bytes) if binary(i) => match ty {
                    Some(t) if t != DataType::Unknown => match decode_binary(bytes, &t) {
                        Ok(v) => v,
                        Err(e) => return Ok(Err(Error::Sql(e))),
                    },
                    _ => Value::Bytea(bytes.to_vec()),
                },
                Some(bytes) => match decode_text(bytes, ty.as_ref(), &self.tz) {
                    Ok(v) => v,
                    Err(e) => return Ok(Err(Error::Sql(e))),
                },
            };
            params.push(v);
        }
        let portal = b.portal_name.unwrap_or_default();
        self.portals.insert(
            portal,
            Portal {
                sql,
                by_cursor,
                params,
                result_formats: b.result_column_format_codes,
                state: PortalState::NotRun,
            },
        );
        Ok(Ok(()))
    }

    async fn describe_sql(
        &mut self,
        sql: &str,
    ) -> Result<Result<crate::engine::Described, Error>, ConnEnd> {
        let (tx, rx) = oneshot::channel();
        self.engine
            .send(Request::Describe {
                sid: self.sid,
                sql: sql.to_string(),
                reply: tx,
            })
            .map_err(|_| ConnEnd::EngineGone)?;
        rx.await.map_err(|_| ConnEnd::EngineGone)
    }

    async fn describe(&mut self, socket: &mut Socket, d: Describe) -> Result<(), ConnEnd> {
        let name = d.name.unwrap_or_default();
        match d.target_type {
            TARGET_TYPE_BYTE_STATEMENT => {
                let Some(stmt) = self.statements.get(&name) else {
                    let e = sql_error(
                        SqlState("26000"),
                        format!("prepared statement \"{name}\" does not exist"),
                    );
                    return self.fail_step(socket, &e).await;
                };
                let (sql, declared) = (stmt.sql.clone(), stmt.param_oids.clone());
                let described = match self.describe_sql(&sql).await? {
                    Ok(d) => d,
                    Err(e) => return self.fail_step(socket, &e).await,
                };
                let n = described.params.len().max(declared.len());
                let oids = (0..n)
                    .map(|i| match declared.get(i) {
                        Some(oid) if *oid != 0 => *oid,
                        _ => type_oid(described.params.get(i).unwrap_or(&DataType::Unknown)),
                    })
                    .collect();
                socket
                    .feed(PgWireBackendMessage::ParameterDescription(
                        ParameterDescription::new(oids),
                    ))
                    .await?;
                match described.columns {
                    Some(cols) if !cols.is_empty() => {
                        let r = QueryResult {
                            command: String::new(),
                            columns: cols,
                            rows: Vec::new(),
                            rows_affected: 0,
                            copy: None,
                        };
                        socket
                            .feed(PgWireBackendMessage::RowDescription(row_description(
                                &r,
                                &[],
                            )))
                            .await?;
                    }
                    _ => {
                        socket
                            .feed(PgWireBackendMessage::NoData(NoData::new()))
                            .await?
                    }
                }
                Ok(())
            }
            TARGET_TYPE_BYTE_PORTAL => {
                // The portal runs now: its columns (and the types of untyped
                // ones) are known exactly once it has run. Execute then
                // sends the rows.
                if let Err(e) = self.run_portal(&name).await? {
                    return self.fail_step(socket, &e).await;
                }
                let portal = self.portals.get(&name).expect("run_portal checked it");
                if let PortalState::Cursor { columns, .. } = &portal.state {
                    let r = QueryResult {
                        command: String::new(),
                        columns: columns.clone(),
                        rows: Vec::new(),
                        rows_affected: 0,
                        copy: None,
                    };
                    let desc = row_description(&r, &portal.result_formats);
                    socket
                        .feed(PgWireBackendMessage::RowDescription(desc))
                        .await?;
                    return Ok(());
                }
                match &portal.state {
                    PortalState::Ran {
                        result: Some(r), ..
                    } if !r.columns.is_empty() && r.copy.is_none() => {
                        let desc = row_description(r, &portal.result_formats);
                        socket
                            .feed(PgWireBackendMessage::RowDescription(desc))
                            .await?;
                    }
                    _ => {
                        socket
                            .feed(PgWireBackendMessage::NoData(NoData::new()))
                            .await?
                    }
                }
                Ok(())
            }
            _ => {
                let e = protocol_error("invalid DESCRIBE message subtype");
                self.fail_step(socket, &e).await
            }
        }
    }

    async fn fail_step(&mut self, socket: &mut Socket, e: &Error) -> Result<(), ConnEnd> {
        self.send_error(socket, e).await?;
        self.skip_to_sync = true;
        Ok(())
    }

    /// Runs portal `name` if it has not run yet.
    async fn run_portal(&mut self, name: &str) -> Result<Result<(), Error>, ConnEnd> {
        let Some(portal) = self.portals.get(name) else {
            return Ok(Err(sql_error(
                SqlState("34000"),
                format!("portal \"{name}\" does not exist"),
            )));
        };
        if !matches!(portal.state, PortalState::NotRun) {
            return Ok(Ok(()));
        }
        let (sql, params) = (portal.sql.clone(), portal.params.clone());
        if portal.by_cursor {
            return self.open_portal_cursor(name, &sql, params).await;
        }
        let result = if is_empty_query(&sql) {
            Ok(None)
        } else {
            let reply = self.submit(sql, params, true).await?;
            if reply
                .outcome
                .results
                .iter()
                .any(|r| r.command == "DEALLOCATE ALL")
            {
                // The running portal stays; the statements go.
                self.statements.clear();
            }
            match reply.outcome.error {
                Some(e) => Err(e),
                // A multi-statement string reports its last result.
                None => Ok(reply.outcome.results.into_iter().last()),
            }
        };
        let portal = self.portals.get_mut(name).expect("checked above");
        let (result, outcome) = match result {
            Ok(Some(r)) => match check_formats(&portal.result_formats, r.columns.len()) {
                Ok(()) => (Some(r), Ok(())),
                Err(e) => (None, Err(e)),
            },
            Ok(None) => (None, Ok(())),
            Err(e) => (None, Err(e)),
        };
        portal.state = PortalState::Ran { result, sent: 0 };
        Ok(outcome)
    }

    /// Declares the engine cursor that portal `name` (a single SELECT)
    /// reads through.
    async fn open_portal_cursor(
        &mut self,
        name: &str,
        sql: &str,
        params: Vec<Value>,
    ) -> Result<Result<(), Error>, ConnEnd> {
        // Named after the portal: re-binding it replaces the cursor too.
        let cursor = format!("{PORTAL_CURSOR_PREFIX}{name}");
        let body = sql.trim_end_matches(|c: char| c == ';' || c.is_whitespace());
        let reply = self
            .submit(
                format!(
                    "DECLARE {} NO SCROLL CURSOR FOR {body}",
                    quote_ident(&cursor)
                ),
                params,
                true,
            )
            .await?;
        let Some(portal) = self.portals.get_mut(name) else {
            return Ok(Ok(()));
        };
        if let Some(e) = reply.outcome.error {
            portal.state = PortalState::Ran {
                result: None,
                sent: 0,
            };
            return Ok(Err(e));
        }
        let columns = reply
            .outcome
            .results
            .into_iter()
            .last()
            .map(|r| r.columns)
            .unwrap_or_default();
        if let Err(e) = check_formats(&portal.result_formats, columns.len()) {
            portal.state = PortalState::Ran {
                result: None,
                sent: 0,
            };
            return Ok(Err(e));
        }
        portal.state = PortalState::Cursor { cursor, columns };
        Ok(Ok(()))
    }

    /// Execute on a portal read through a cursor: FETCH the row limit (all
    /// without one); a full batch leaves the portal suspended.
    async fn execute_cursor(
        &mut self,
        socket: &mut Socket,
        name: &str,
        max_rows: i32,
    ) -> Result<(), ConnEnd> {
        let Some(Portal {
            state: PortalState::Cursor { cursor, columns },
            result_formats,
            ..
        }) = self.portals.get(name)
        else {
            return Ok(());
        };
        let (cursor, columns, formats) = (cursor.clone(), columns.clone(), result_formats.clone());
        let count = match usize::try_from(max_rows) {
            Ok(n) if n > 0 => Some(n),
            _ => None,
        };
        let what = count.map_or("ALL".to_string(), |n| n.to_string());
        let reply = self
            .submit(
                format!("FETCH {what} FROM {}", quote_ident(&cursor)),
                Vec::new(),
                true,
            )
            .await?;
        if let Some(e) = reply.outcome.error {
            // Read to its end (the engine dropped it) or its transaction
            // ended: the portal is gone, as in PostgreSQL.
            let e = if e.sqlstate().0 == "34000" {
                sql_error(
                    SqlState("34000"),
                    format!("portal \"{name}\" does not exist"),
                )
            } else {
                e
            };
            return self.fail_step(socket, &e).await;
        }
        let mut r = reply
            .outcome
            .results
            .into_iter()
            .last()
            .unwrap_or_else(|| QueryResult {
                command: String::new(),
                columns: Vec::new(),
                rows: Vec::new(),
                rows_affected: 0,
                copy: None,
            });
        r.columns = columns;
        let n = r.rows.len();
        let tz = self.tz.clone();
        if let Err(err) = self.send_rows(socket, &r, &formats, 0, n, &tz).await? {
            return self.fail_step(socket, &err).await;
        }
        if count == Some(n) {
            socket
                .feed(PgWireBackendMessage::PortalSuspended(PortalSuspended::new()))
                .await?;
            return Ok(());
        }
        // Read to its end: the engine has dropped the cursor; the portal
        // answers further Executes with no rows.
        if let Some(p) = self.portals.get_mut(name) {
            p.state = PortalState::Ran {
                result: Some(QueryResult {
                    command: "SELECT 0".into(),
                    columns: r.columns.clone(),
                    rows: Vec::new(),
                    rows_affected: 0,
                    copy: None,
                }),
                sent: 0,
            };
        }
        self.complete(socket, &format!("SELECT {n}")).await
    }

    async fn execute(&mut self, socket: &mut Socket, e: Execute) -> Result<(), ConnEnd> {
        let name = e.name.unwrap_or_default();
        if let Err(err) = self.run_portal(&name).await? {
            return self.fail_step(socket, &err).await;
        }
        if let Some(Portal {
            state: PortalState::Cursor { .. },
            ..
        }) = self.portals.get(&name)
        {
            return self.execute_cursor(socket, &name, e.max_rows).await;
        }
        let tz = self.tz.clone();
        let portal = self.portals.get_mut(&name).expect("run_portal checked it");
        let formats = portal.result_formats.clone();
        let (result, from) = match std::mem::replace(&mut portal.state, PortalState::NotRun) {
            PortalState::Ran { result, sent } => (result, sent),
            PortalState::NotRun | PortalState::Cursor { .. } => (None, 0),
        };
        // No result after a successful run: the query string was empty.
        let Some(r) = result else {
            portal.state = PortalState::Ran {
                result: None,
                sent: 0,
            };
            socket
                .feed(PgWireBackendMessage::EmptyQueryResponse(
                    EmptyQueryResponse::new(),
                ))
                .await?;
            return Ok(());
        };
        let to = match usize::try_from(e.max_rows) {
            Ok(max) if max > 0 => (from + max).min(r.rows.len()),
            _ => r.rows.len(),
        };
        let copy = r.copy.clone();
        let outcome = match &copy {
            Some(CopyMode::In(c)) => {
                self.start_copy_in(socket, c.clone(), true).await?;
                Ok(())
            }
            Some(CopyMode::Out(format)) => {
                self.copy_out(socket, &r, format, &tz).await?;
                Ok(())
            }
            None => self.send_rows(socket, &r, &formats, from, to, &tz).await?,
        };
        let suspended = copy.is_none() && to < r.rows.len();
        let tag = if from > 0 && r.command.starts_with("SELECT") {
            format!("SELECT {}", to - from)
        } else {
            r.command.clone()
        };
        if let Some(p) = self.portals.get_mut(&name) {
            p.state = PortalState::Ran {
                result: Some(r),
                sent: to,
            };
        }
        if let Err(err) = outcome {
            return self.fail_step(socket, &err).await;
        }
        if copy.is_some() {
            return Ok(());
        }
        if suspended {
            socket
                .feed(PgWireBackendMessage::PortalSuspended(PortalSuspended::new()))
                .await?;
            return Ok(());
        }
        self.complete(socket, &tag).await
    }

    async fn close(&mut self, socket: &mut Socket, c: Close) -> Result<(), ConnEnd> {
        let name = c.name.unwrap_or_default();
        match c.target_type {
            TARGET_TYPE_BYTE_STATEMENT => {
                self.statements.remove(&name);
            }
            TARGET_TYPE_BYTE_PORTAL => {
                self.portals.remove(&name);
            }
            _ => {
                let e = protocol_error("invalid CLOSE message subtype");
                return self.fail_step(socket, &e).await;
            }
        }
        socket
            .feed(PgWireBackendMessage::CloseComplete(CloseComplete::new()))
            .await?;
        Ok(())
    }
}

/// Whether a portal's SQL is one plain SELECT (no row locks), which the
/// engine reads through a cursor: an Execute with a row limit then holds
/// only that many rows when the plan streams (`sql/exec/cursor.rs`).
fn reads_by_cursor(sql: &str) -> bool {
    use crate::sql::parse::ast::Statement;
    matches!(
        crate::sql::parse::translate::parse(sql).as_deref(),
        Ok([Statement::Query(q)]) if q.locking.is_none()
    )
}

/// `name` as a quoted SQL identifier.
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
