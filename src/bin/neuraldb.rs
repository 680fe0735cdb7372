//! The NeuralDB command-line shell.
//!
//! `neuraldb FILE` opens (or creates) the database `FILE` (its WAL is
//! `FILE-wal`) and runs SQL from standard input: statements end with `;`.
//! Results print as psql's aligned tables; errors as `ERROR:  message`
//! with the SQLSTATE. `neuraldb FILE -c "SQL"` runs one command string.
//!
//! `neuraldb serve --data FILE [--listen ADDR]` serves the database over the
//! PostgreSQL wire protocol (default 127.0.0.1:5433). With the environment
//! variable `NEURALDB_PASSWORD` set, clients authenticate with
//! SCRAM-SHA-256; a non-loopback address requires it.
//!
//! `neuraldb dump --data FILE [OUT|-]` writes the database as a plain SQL
//! script (to standard output for `-` or no OUT); `neuraldb restore --data
//! FILE SCRIPT` loads such a script (ours or pg_dump's plain format) in one
//! transaction.

use std::io::{BufRead, IsTerminal, Write};

use neuraldb::engine::{Engine, EngineConfig, QueryResult};
use neuraldb::storage::FileStorage;
use neuraldb::value::tz::TimeZone;
use neuraldb::Error;

fn usage() -> ! {
    eprintln!(
        "usage: neuraldb FILE [-c SQL]\n       neuraldb serve --data FILE [--listen ADDR]\n       neuraldb dump --data FILE [OUT|-]\n       neuraldb restore --data FILE SCRIPT"
    );
    std::process::exit(2)
}

fn open_files(path: &str) -> Result<Engine, Error> {
    let data = FileStorage::open(path)?;
    let wal = FileStorage::open(format!("{path}-wal"))?;
    Engine::open(Box::new(data), Box::new(wal), EngineConfig::default())
}

fn serve(args: &[String]) -> ! {
    let mut data = None;
    let mut listen = "127.0.0.1:5433".to_string();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--data" => data = Some(it.next().cloned().unwrap_or_else(|| usage())),
            "--listen" => listen = it.next().cloned().unwrap_or_else(|| usage()),
            _ => usage(),
        }
    }
    let Some(path) = data else { usage() };
    let Ok(listen) = listen.parse() else {
        eprintln!("neuraldb: --listen needs an address like 127.0.0.1:5433");
        std::process::exit(2)
    };
    let password = std::env::var("NEURALDB_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty());
    let config = neuraldb::server::ServerConfig { listen, password };
    match neuraldb::server::Server::start(move || open_files(&path), config) {
        Ok(server) => {
            eprintln!("neuraldb: listening on {}", server.local_addr());
            server.wait();
            std::process::exit(0)
        }
        Err(e) => {
            eprintln!("neuraldb: {e}");
            std::process::exit(1)
        }
    }
}

/// Prints `e` as `run` does and exits with status 1.
fn fail(what: &str, e: &Error) -> ! {
    eprintln!("neuraldb: {what}: {e}");
    if let Error::Sql(s) = e {
        if let Some(d) = &s.detail {
            eprintln!("DETAIL:  {d}");
        }
        if let Some(h) = &s.hint {
            eprintln!("HINT:  {h}");
        }
    }
    eprintln!("SQLSTATE: {}", e.sqlstate());
    std::process::exit(1)
}

/// `dump --data FILE [OUT|-]` and `restore --data FILE SCRIPT`: the
/// database file after `--data`, then one optional (dump) or required
/// (restore) path.
fn dump_or_restore(command: &str, args: &[String]) -> ! {
    let mut data = None;
    let mut path = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--data" => data = Some(it.next().cloned().unwrap_or_else(|| usage())),
            p if path.is_none() && (p == "-" || !p.starts_with('-')) => path = Some(p.to_string()),
            _ => usage(),
        }
    }
    let Some(data) = data else { usage() };
    let mut engine = match open_files(&data) {
        Ok(e) => e,
        Err(e) => fail(&format!("cannot open {data}"), &e),
    };
    let session = engine.connect();
    if command == "dump" {
        let script = match engine.dump(session) {
            Ok(s) => s,
            Err(e) => fail("dump failed", &e),
        };
        let written = match path.as_deref() {
            None | Some("-") => std::io::stdout().write_all(script.as_bytes()),
            Some(p) => std::fs::write(p, script),
        };
        if let Err(e) = written {
            eprintln!("neuraldb: cannot write the dump: {e}");
            std::process::exit(1)
        }
    } else {
        let Some(p) = path else { usage() };
        let script = match std::fs::read_to_string(&p) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("neuraldb: cannot read {p}: {e}");
                std::process::exit(1)
            }
        };
        match engine.restore(session, &script) {
            Ok(s) => eprintln!(
                "neuraldb: restored {} statements, {} rows",
                s.statements, s.rows
            ),
            Err(e) => fail("restore failed", &e),
        }
    }
    engine.disconnect(session);
    std::process::exit(0)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = args.first() else { usage() };
    // An option is never a database file name (`neuraldb --help` once
    // created a database called "--help").
    if path.starts_with('-') {
        usage();
    }
    if path == "serve" {
        serve(&args[1..]);
    }
    if path == "dump" || path == "restore" {
        dump_or_restore(path, &args[1..]);
    }
    let command = match args.get(1).map(String::as_str) {
        Some("-c") => Some(args.get(2).cloned().unwrap_or_else(|| usage())),
        Some(_) => usage(),
        None => None,
    };
    let mut engine = match open_files(path) {
        Ok(e) => e,
        Err(e) => {
            eprintln!(
                "neuraldb: cannot open {path}: {e} (SQLSTATE {})",
                e.sqlstate()
            );
            std::process::exit(1);
        }
    };
    let session = engine.connect();
    let mut failed = false;
    if let Some(sql) = command {
        failed |= run(&mut engine, session, &sql);
        std::process::exit(i32::from(failed));
    }
    let interactive = std::io::stdin().is_terminal();
    let mut buffer = String::new();
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    loop {
        if interactive {
            print!(
                "{}",
                if buffer.is_empty() {
                    "neuraldb=> "
                } else {
                    "neuraldb-> "
                }
            );
            let _ = std::io::stdout().flush();
        }
        let Some(Ok(line)) = lines.next() else { break };
        buffer.push_str(&line);
        buffer.push('\n');
        if line.trim_end().ends_with(';') {
            failed |= run(&mut engine, session, &buffer);
            buffer.clear();
        }
    }
    if !buffer.trim().is_empty() {
        failed |= run(&mut engine, session, &buffer);
    }
    std::process::exit(i32::from(failed && !interactive));
}

/// Runs one input chunk; returns true on error.
fn run(engine: &mut Engine, session: u32, sql: &str) -> bool {
    let mut submitted = engine.submit(session, sql, Vec::new());
    // A statement that yields between slices (CREATE INDEX) runs to its end.
    while matches!(submitted, neuraldb::engine::Submitted::Parked) && engine.has_work() {
        engine.work();
        if let Some((_, outcome)) = engine
            .take_completions()
            .into_iter()
            .find(|(s, _)| *s == session)
        {
            submitted = neuraldb::engine::Submitted::Done(outcome);
        }
    }
    match submitted {
        neuraldb::engine::Submitted::Done(outcome) => {
            for r in &outcome.results {
                print_result(r);
            }
            match outcome.error {
                Some(e) => {
                    eprintln!("ERROR:  {e}");
                    if let Error::Sql(s) = &e {
                        if let Some(d) = &s.detail {
                            eprintln!("DETAIL:  {d}");
                        }
                        if let Some(h) = &s.hint {
                            eprintln!("HINT:  {h}");
                        }
                    }
                    eprintln!("SQLSTATE: {}", e.sqlstate());
                    true
                }
                None => false,
            }
        }
        // One session: nothing else can release the lock.
        neuraldb::engine::Submitted::Parked => {
            eprintln!("ERROR:  statement waits for a lock held by another session");
            true
        }
    }
}

fn print_result(r: &QueryResult) {
    if r.columns.is_empty() {
        println!("{}", r.command);
        return;
    }
    let tz = TimeZone::utc();
    let cells: Vec<Vec<String>> = r
        .rows
        .iter()
        .map(|row| {
            row.iter()
                .map(|v| v.to_pg_text(&tz).unwrap_or_default())
                .collect()
        })
        .collect();
    let mut widths: Vec<usize> = r.columns.iter().map(|c| c.name.chars().count()).collect();
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let header: Vec<String> = r
        .columns
        .iter()
        .zip(&widths)
        .map(|(c, w)| format!(" {:^w$} ", c.name, w = *w))
        .collect();
    println!("{}", header.join("|"));
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(w + 2)).collect();
    println!("{}", rule.join("+"));
    for row in &cells {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!(" {c:<w$} ", w = *w))
            .collect();
        println!("{}", line.join("|").trim_end());
    }
    let n = r.rows.len();
    println!("({n} row{})\n", if n == 1 { "" } else { "s" });
}
