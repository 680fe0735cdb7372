//! Runs the SQL fixture files in `tests/slt/` (sqllogictest format) against
//! the engine. Each file gets a fresh in-memory database; `connection NAME`
//! records open further sessions on it. Errors are reported as
//! `SQLSTATE: message`, so `statement error 23505` checks the code.
//!
//! The engine is single-threaded (not `Send`), so it runs on a thread of
//! its own and connections talk to it over channels.

use std::sync::mpsc::{channel, Receiver, Sender};
use std::thread;

use neuraldb::engine::{Engine, QueryResult};
use neuraldb::value::tz::TimeZone;
use neuraldb::value::{DataType, Value};
use sqllogictest::{DBOutput, DefaultColumnType};

enum Request {
    Connect(Sender<u32>),
    Run(u32, String, Sender<Result<Vec<QueryResult>, String>>),
}

fn engine_thread(rx: Receiver<Request>) {
    let mut engine = Engine::open_memory().expect("in-memory engine opens");
    for req in rx {
        match req {
            Request::Connect(reply) => {
                let _ = reply.send(engine.connect());
            }
            Request::Run(sid, sql, reply) => {
                let r = engine
                    .execute(sid, &sql, Vec::new())
                    .map_err(|e| format!("{}: {}", e.sqlstate(), e));
                let _ = reply.send(r);
            }
        }
    }
}

#[derive(Debug)]
struct SltError(String);

impl std::fmt::Display for SltError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SltError {}

struct Conn {
    tx: Sender<Request>,
    sid: u32,
}

fn column_type(ty: &DataType) -> DefaultColumnType {
    match ty {
        DataType::Int2 | DataType::Int4 | DataType::Int8 => DefaultColumnType::Integer,
        DataType::Float4 | DataType::Float8 | DataType::Numeric(_) => {
            DefaultColumnType::FloatingPoint
        }
        DataType::Text | DataType::Varchar(_) | DataType::Char(_) => DefaultColumnType::Text,
        _ => DefaultColumnType::Any,
    }
}

impl sqllogictest::DB for Conn {
    type Error = SltError;
    type ColumnType = DefaultColumnType;

    fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, SltError> {
        let (reply, rx) = channel();
        self.tx
            .send(Request::Run(self.sid, sql.to_string(), reply))
            .map_err(|e| SltError(e.to_string()))?;
        let results = rx
            .recv()
            .map_err(|e| SltError(e.to_string()))?
            .map_err(SltError)?;
        let last = results.into_iter().last();
        Ok(match last {
            Some(r) if !r.columns.is_empty() => DBOutput::Rows {
                types: r.columns.iter().map(|c| column_type(&c.ty)).collect(),
                rows: r
                    .rows
                    .iter()
                    .map(|row| row.iter().map(format_value).collect())
                    .collect(),
            },
            Some(r) => DBOutput::StatementComplete(r.rows_affected),
            None => DBOutput::StatementComplete(0),
        })
    }
}

fn format_value(v: &Value) -> String {
    match v.to_pg_text(&TimeZone::utc()) {
        None => "NULL".into(),
        Some(s) if s.is_empty() => "(empty)".into(),
        Some(s) => s,
    }
}

fn run_file(path: &std::path::Path) -> Result<(), String> {
    let (tx, rx) = channel();
    let handle = thread::spawn(move || engine_thread(rx));
    let result = {
        let tx = tx.clone();
        let mut runner = sqllogictest::Runner::new(move || {
            let tx = tx.clone();
            async move {
                let (reply, rx) = channel();
                tx.send(Request::Connect(reply))
                    .map_err(|e| SltError(e.to_string()))?;
                let sid = rx.recv().map_err(|e| SltError(e.to_string()))?;
                Ok(Conn { tx, sid })
            }
        });
        runner.with_column_validator(|_, _| true);
        runner
            .run_file(path)
            .map_err(|e| e.display(false).to_string())
    };
    drop(tx);
    let _ = handle.join();
    result
}

#[test]
fn sql_fixtures() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/slt");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/slt exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "slt"))
        // NEURALDB_SLT=name runs only the files whose name contains it.
        .filter(|p| {
            std::env::var("NEURALDB_SLT")
                .map_or(true, |want| p.to_string_lossy().contains(want.as_str()))
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no fixture files found");
    let mut failures = Vec::new();
    for f in &files {
        if let Err(e) = run_file(f) {
            failures.push(format!("{}:\n{e}", f.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} fixture files failed:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
    eprintln!("{} fixture files passed", files.len());
}
