//! SQL speed benchmark: the classic 16-test "speed comparison" suite (as
//! SQLite's old speed page ran it), against NeuralDB's engine and, with the
//! `sqlite-bench` feature, against bundled SQLite through rusqlite. Both
//! engines get the same deterministic statements, one engine call per
//! statement, with durable settings: NeuralDB on files with synchronous
//! commits, SQLite in WAL mode with `synchronous=FULL`.
//!
//! Prints one table: per test the milliseconds of each engine and the
//! ratio, and the total; then checks that every engine ended with the same
//! row counts and sums (and the same counts from the SELECT tests).
//!
//! Usage:
//! `cargo run --release --features sqlite-bench --bin bench-sql [-- OPTIONS]`
//! (without the feature, the SQLite column is left out). Options:
//! - `--dir PATH`   where the database files go (default: a temp dir);
//! - `--memory`     also run NeuralDB on in-memory storage;
//! - `--only-neuraldb` skip SQLite (for profiling NeuralDB alone);
//! - `--seed N`     another deterministic data set;
//! - `--upto N`     stop after test N, and `--repeat K` runs test N K more
//!   times (for profiling one read-only test: `--upto 4 --repeat 20`);
//! - `--perf-ctl FIFO N` write `enable` / `disable` to FIFO around test N,
//!   to profile that test alone: `mkfifo /tmp/ctl; perf record -D -1
//!   --control fifo:/tmp/ctl ... -- bench-sql --perf-ctl /tmp/ctl 13`.

use std::path::PathBuf;
use std::time::Instant;

use neuraldb::engine::{Engine, EngineConfig, SessionId};
use neuraldb::storage::FileStorage;
use neuraldb::util::Rng;
use neuraldb::value::Value;

type BenchResult<T> = Result<T, Box<dyn std::error::Error>>;

struct Args {
    dir: PathBuf,
    memory: bool,
    sqlite: bool,
    seed: u64,
    upto: usize,
    repeat: usize,
    /// A perf control FIFO and the test to profile.
    perf_ctl: Option<(PathBuf, usize)>,
}

fn parse_args() -> Args {
    let mut args = Args {
        dir: std::env::temp_dir().join(format!("neuraldb-bench-sql-{}", std::process::id())),
        memory: false,
        sqlite: cfg!(feature = "sqlite-bench"),
        seed: 1,
        upto: usize::MAX,
        repeat: 0,
        perf_ctl: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--dir" => {
                if let Some(d) = it.next() {
                    args.dir = PathBuf::from(d);
                }
            }
            "--memory" => args.memory = true,
            "--only-neuraldb" => args.sqlite = false,
            "--seed" => {
                if let Some(n) = it.next().and_then(|n| n.parse().ok()) {
                    args.seed = n;
                }
            }
            "--upto" => {
                if let Some(n) = it.next().and_then(|n| n.parse().ok()) {
                    args.upto = n;
                }
            }
            "--repeat" => {
                if let Some(n) = it.next().and_then(|n| n.parse().ok()) {
                    args.repeat = n;
                }
            }
            "--perf-ctl" => {
                let fifo = it.next().map(PathBuf::from);
                let test = it.next().and_then(|n| n.parse().ok());
                args.perf_ctl = fifo.zip(test);
            }
            other => eprintln!("ignoring unknown argument {other}"),
        }
    }
    args
}

// ---------------------------------------------------------------------------
// The statements

const ONES: [&str; 20] = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
];
const TENS: [&str; 10] = [
    "", "ten", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
];

/// `n` spelled out in English words, as the classic suite's `c` column.
fn words(n: u64) -> String {
    fn below_thousand(n: u64, out: &mut Vec<&'static str>) {
        if n >= 100 {
            out.push(ONES[(n / 100) as usize]);
            out.push("hundred");
        }
        let r = n % 100;
        if r >= 20 {
            out.push(TENS[(r / 10) as usize]);
            if !r.is_multiple_of(10) {
                out.push(ONES[(r % 10) as usize]);
            }
        } else if r > 0 || n == 0 {
            out.push(ONES[r as usize]);
        }
    }
    let mut out = Vec::new();
    if n >= 1_000_000 {
        below_thousand(n / 1_000_000, &mut out);
        out.push("million");
    }
    let thousands = (n / 1000) % 1000;
    if thousands > 0 {
        below_thousand(thousands, &mut out);
        out.push("thousand");
    }
    let rest = n % 1000;
    if rest > 0 || out.is_empty() {
        below_thousand(rest, &mut out);
    }
    out.join(" ")
}

struct Test {
    name: &'static str,
    stmts: Vec<String>,
}

fn suite(seed: u64) -> Vec<Test> {
    let mut rng = Rng::new(seed);
    let mut tests = Vec::new();
    let create = |t: &str| format!("CREATE TABLE {t}(a INTEGER, b INTEGER, c VARCHAR(100))");
    let insert =
        |t: &str, a: u64, b: u64| format!("INSERT INTO {t} VALUES({a},{b},'{}')", words(b));

    // 1
    let mut s = vec![create("t1")];
    for i in 1..=1000 {
        s.push(insert("t1", i, rng.below(100_000)));
    }
    tests.push(Test {
        name: "1000 INSERTs (autocommit)",
        stmts: s,
    });
    // 2
    let mut s = vec!["BEGIN".to_string(), create("t2")];
    for i in 1..=25_000 {
        s.push(insert("t2", i, rng.below(500_000)));
    }
    s.push("COMMIT".into());
    tests.push(Test {
        name: "25000 INSERTs in a transaction",
        stmts: s,
    });
    // 3
    let mut s = vec![
        "BEGIN".to_string(),
        create("t3"),
        "CREATE INDEX i3 ON t3(c)".into(),
    ];
    for i in 1..=25_000 {
        s.push(insert("t3", i, rng.below(500_000)));
    }
    s.push("COMMIT".into());
    tests.push(Test {
        name: "25000 INSERTs into an indexed table",
        stmts: s,
    });
    // 4
    let mut s = vec!["BEGIN".to_string()];
    for i in 0..100 {
        s.push(format!(
            "SELECT count(*), avg(b) FROM t2 WHERE b>={} AND b<{}",
            i * 100,
            i * 100 + 1000
        ));
    }
    s.push("COMMIT".into());
    tests.push(Test {
        name: "100 SELECTs without an index",
        stmts: s,
    });
    // 5
    let mut s = vec!["BEGIN".to_string()];
    for i in 1..=100 {
        s.push(format!(
            "SELECT count(*), avg(b) FROM t2 WHERE c LIKE '%{}%'",
            words(i)
        ));
    }
    s.push("COMMIT".into());
    tests.push(Test {
        name: "100 SELECTs on a string comparison",
        stmts: s,
    });
    // 6
    tests.push(Test {
        name: "CREATE INDEX x2",
        stmts: vec![
            "CREATE INDEX i2a ON t2(a)".into(),
            "CREATE INDEX i2b ON t2(b)".into(),
        ],
    });
    // 7
    let mut s = Vec::new();
    for i in 0..5000 {
        s.push(format!(
            "SELECT count(*), avg(b) FROM t2 WHERE b>={} AND b<{}",
            i * 100,
            i * 100 + 100
        ));
    }
    tests.push(Test {
        name: "5000 SELECTs with an index",
        stmts: s,
    });
    // 8
    let mut s = vec!["BEGIN".to_string()];
    for i in 0..1000 {
        s.push(format!(
            "UPDATE t1 SET b=b*2 WHERE a>={} AND a<{}",
            i * 10,
            i * 10 + 10
        ));
    }
    s.push("COMMIT".into());
    tests.push(Test {
        name: "1000 UPDATEs without an index",
        stmts: s,
    });
    // 9
    let mut s = vec!["BEGIN".to_string()];
    for i in 1..=25_000 {
        s.push(format!(
            "UPDATE t2 SET b={} WHERE a={i}",
            rng.below(500_000)
        ));
    }
    s.push("COMMIT".into());
    tests.push(Test {
        name: "25000 UPDATEs with an index",
        stmts: s,
    });
    // 10
    let mut s = vec!["BEGIN".to_string()];
    for i in 1..=25_000 {
        s.push(format!(
            "UPDATE t2 SET c='{}' WHERE a={i}",
            words(rng.below(500_000))
        ));
    }
    s.push("COMMIT".into());
    tests.push(Test {
        name: "25000 text UPDATEs with an index",
        stmts: s,
    });
    // 11
    tests.push(Test {
        name: "INSERTs from a SELECT",
        stmts: vec![
            "BEGIN".into(),
            "INSERT INTO t1 SELECT b,a,c FROM t2".into(),
            "INSERT INTO t2 SELECT b,a,c FROM t1".into(),
            "COMMIT".into(),
        ],
    });
    // 12
    tests.push(Test {
        name: "DELETE without an index",
        stmts: vec!["DELETE FROM t2 WHERE c LIKE '%fifty%'".into()],
    });
    // 13
    tests.push(Test {
        name: "DELETE with an index",
        stmts: vec!["DELETE FROM t2 WHERE a>10 AND a<20000".into()],
    });
    // 14
    tests.push(Test {
        name: "A big INSERT after a big DELETE",
        stmts: vec!["INSERT INTO t2 SELECT * FROM t1".into()],
    });
    // 15
    let mut s = vec!["BEGIN".to_string(), "DELETE FROM t1".into()];
    for i in 1..=12_000 {
        s.push(insert("t1", i, rng.below(100_000)));
    }
    s.push("COMMIT".into());
    tests.push(Test {
        name: "A big DELETE, 12000 small INSERTs",
        stmts: s,
    });
    // 16
    tests.push(Test {
        name: "DROP TABLE x3",
        stmts: vec![
            "DROP TABLE t1".into(),
            "DROP TABLE t2".into(),
            "DROP TABLE t3".into(),
        ],
    });
    tests
}

/// Run before test 16: what every engine must agree on.
const CHECK: &str = "SELECT (SELECT count(*) FROM t1), (SELECT sum(a) + sum(b) FROM t1), \
    (SELECT sum(length(c)) FROM t1), (SELECT count(*) FROM t2), (SELECT sum(a) + sum(b) FROM t2), \
    (SELECT sum(length(c)) FROM t2), (SELECT count(*) FROM t3), (SELECT sum(a) + sum(b) FROM t3), \
    (SELECT sum(length(c)) FROM t3)";

// ---------------------------------------------------------------------------
// The engines

trait Db {
    /// Runs one statement; returns the first column of its first row as an
    /// integer (the count of a SELECT), 0 when there is none.
    fn run(&mut self, sql: &str) -> BenchResult<i64>;
    /// Runs `sql` and returns its first row as text.
    fn row(&mut self, sql: &str) -> BenchResult<Vec<String>>;
}

struct NeuralDb {
    engine: Engine,
    sid: SessionId,
}

impl NeuralDb {
    fn on_files(dir: &std::path::Path) -> BenchResult<NeuralDb> {
        let path = dir.join("bench.ndb");
        let data = FileStorage::open(&path)?;
        let wal = FileStorage::open(dir.join("bench.ndb-wal"))?;
        let mut engine = Engine::open(Box::new(data), Box::new(wal), EngineConfig::default())?;
        let sid = engine.connect();
        Ok(NeuralDb { engine, sid })
    }

    fn in_memory() -> BenchResult<NeuralDb> {
        let mut engine = Engine::open_memory()?;
        let sid = engine.connect();
        Ok(NeuralDb { engine, sid })
    }
}

fn value_text(v: &Value) -> String {
    match v {
        Value::Null => "NULL".into(),
        Value::Int2(n) => n.to_string(),
        Value::Int4(n) => n.to_string(),
        Value::Int8(n) => n.to_string(),
        other => format!("{other:?}"),
    }
}

impl Db for NeuralDb {
    fn run(&mut self, sql: &str) -> BenchResult<i64> {
        let results = self.engine.execute(self.sid, sql, Vec::new())?;
        let first = results
            .first()
            .and_then(|r| r.rows.first())
            .and_then(|row| row.first());
        Ok(match first {
            Some(Value::Int8(n)) => *n,
            Some(Value::Int4(n)) => i64::from(*n),
            _ => 0,
        })
    }

    fn row(&mut self, sql: &str) -> BenchResult<Vec<String>> {
        let results = self.engine.execute(self.sid, sql, Vec::new())?;
        Ok(results
            .first()
            .and_then(|r| r.rows.first())
            .map(|row| row.iter().map(value_text).collect())
            .unwrap_or_default())
    }
}

#[cfg(feature = "sqlite-bench")]
struct Sqlite {
    conn: rusqlite::Connection,
}

#[cfg(feature = "sqlite-bench")]
impl Sqlite {
    fn on_files(dir: &std::path::Path) -> BenchResult<Sqlite> {
        let conn = rusqlite::Connection::open(dir.join("bench.sqlite"))?;
        let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(format!("SQLite refused WAL mode ({mode})").into());
        }
        conn.execute_batch("PRAGMA synchronous=FULL")?;
        Ok(Sqlite { conn })
    }
}

#[cfg(feature = "sqlite-bench")]
fn sqlite_text(v: rusqlite::types::ValueRef<'_>) -> String {
    use rusqlite::types::ValueRef;
    match v {
        ValueRef::Null => "NULL".into(),
        ValueRef::Integer(n) => n.to_string(),
        ValueRef::Real(f) => f.to_string(),
        ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
        ValueRef::Blob(b) => format!("{b:?}"),
    }
}

#[cfg(feature = "sqlite-bench")]
impl Db for Sqlite {
    fn run(&mut self, sql: &str) -> BenchResult<i64> {
        // Prepared afresh each time (no statement cache), as `exec` does.
        let mut stmt = self.conn.prepare(sql)?;
        let mut rows = stmt.raw_query();
        let mut first = 0;
        if let Some(row) = rows.next()? {
            if let rusqlite::types::ValueRef::Integer(n) = row.get_ref(0)? {
                first = n;
            }
            while rows.next()?.is_some() {}
        }
        Ok(first)
    }

    fn row(&mut self, sql: &str) -> BenchResult<Vec<String>> {
        let mut stmt = self.conn.prepare(sql)?;
        let n = stmt.column_count();
        let mut rows = stmt.raw_query();
        let mut out = Vec::new();
        if let Some(row) = rows.next()? {
            for i in 0..n {
                out.push(sqlite_text(row.get_ref(i)?));
            }
        }
        Ok(out)
    }
}

struct Run {
    label: String,
    ms: Vec<f64>,
    /// Per test, the sum of the first column of its statements' results
    /// (the SELECT tests' counts).
    counts: Vec<i64>,
    check: Vec<String>,
}

/// Prints the files an engine left after the suite (still open), as the
/// browser benchmark's "OPFS after the tests".
fn print_files(label: &str, dir: &std::path::Path) {
    let mut files: Vec<(String, u64)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            Some((
                e.file_name().to_string_lossy().into_owned(),
                e.metadata().ok()?.len(),
            ))
        })
        .collect();
    files.sort();
    let total: u64 = files.iter().map(|f| f.1).sum();
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    let list: Vec<String> = files
        .iter()
        .map(|(n, b)| format!("{n} {:.2} MiB", mib(*b)))
        .collect();
    eprintln!(
        "{label} files after the suite: {:.2} MiB ({})",
        mib(total),
        list.join(", ")
    );
}

/// Tells perf (through its control FIFO) to start or stop sampling.
fn perf_control(ctl: Option<&(PathBuf, usize)>, test: usize, command: &str) -> BenchResult<()> {
    if let Some((fifo, n)) = ctl {
        if *n == test {
            std::fs::write(fifo, format!("{command}\n"))?;
        }
    }
    Ok(())
}

fn run_suite(
    label: &str,
    db: &mut dyn Db,
    tests: &[Test],
    perf_ctl: Option<&(PathBuf, usize)>,
) -> BenchResult<Run> {
    let mut run = Run {
        label: label.to_string(),
        ms: Vec::new(),
        counts: Vec::new(),
        check: Vec::new(),
    };
    for (i, test) in tests.iter().enumerate() {
        if i + 1 == tests.len() && test.name.starts_with("DROP") {
            run.check = db.row(CHECK)?;
        }
        let mut sum = 0i64;
        perf_control(perf_ctl, i + 1, "enable")?;
        let start = Instant::now();
        for sql in &test.stmts {
            sum += db
                .run(sql)
                .map_err(|e| format!("{label}, test {}: {sql}: {e}", i + 1))?;
        }
        run.ms.push(start.elapsed().as_secs_f64() * 1000.0);
        perf_control(perf_ctl, i + 1, "disable")?;
        run.counts.push(sum);
        eprintln!("{label}: test {:2} done ({:.0} ms)", i + 1, run.ms[i]);
    }
    Ok(run)
}

fn main() -> BenchResult<()> {
    let args = parse_args();
    let mut tests = suite(args.seed);
    if args.upto < tests.len() {
        tests.truncate(args.upto);
        if let Some(last) = tests.pop() {
            for _ in 0..args.repeat {
                tests.push(Test {
                    name: last.name,
                    stmts: last.stmts.clone(),
                });
            }
            tests.push(last);
        }
    }
    std::fs::create_dir_all(&args.dir)?;
    let mut runs = Vec::new();
    {
        let dir = args.dir.join("neuraldb");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        let mut db = NeuralDb::on_files(&dir)?;
        runs.push(run_suite(
            "NeuralDB",
            &mut db,
            &tests,
            args.perf_ctl.as_ref(),
        )?);
        print_files("NeuralDB", &dir);
    }
    if args.memory {
        let mut db = NeuralDb::in_memory()?;
        runs.push(run_suite("NDB memory", &mut db, &tests, None)?);
    }
    #[cfg(feature = "sqlite-bench")]
    if args.sqlite {
        let dir = args.dir.join("sqlite");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        let mut db = Sqlite::on_files(&dir)?;
        eprintln!("SQLite {}", rusqlite::version());
        runs.push(run_suite("SQLite", &mut db, &tests, None)?);
        print_files("SQLite", &dir);
    }
    let _ = std::fs::remove_dir_all(&args.dir);
    if !args.sqlite {
        eprintln!("SQLite not run (it needs --features sqlite-bench; --only-neuraldb skips it)");
    }

    // The table: NeuralDB's columns, SQLite's, and the ratio of the first
    // NeuralDB run to SQLite.
    let sqlite = runs.iter().position(|r| r.label.starts_with("SQLite"));
    let mut header = format!("{:>3}  {:<36}", "#", "test");
    for r in &runs {
        header.push_str(&format!(" {:>14}", format!("{} ms", r.label)));
    }
    if sqlite.is_some() {
        header.push_str(&format!(" {:>8}", "ratio"));
    }
    println!("{header}");
    if let Some(s) = sqlite {
        println!("(ratio: {} / {})", runs[0].label, runs[s].label);
    }
    let ratio = |a: f64, b: f64| {
        if b > 0.0 {
            format!("{:.2}x", a / b)
        } else {
            "-".into()
        }
    };
    for (i, test) in tests.iter().enumerate() {
        let mut line = format!("{:>3}  {:<36}", i + 1, test.name);
        for r in &runs {
            line.push_str(&format!(" {:>14.1}", r.ms[i]));
        }
        if let Some(s) = sqlite {
            line.push_str(&format!(" {:>8}", ratio(runs[0].ms[i], runs[s].ms[i])));
        }
        println!("{line}");
    }
    let totals: Vec<f64> = runs.iter().map(|r| r.ms.iter().sum()).collect();
    let mut line = format!("{:>3}  {:<36}", "", "total");
    for t in &totals {
        line.push_str(&format!(" {:>14.1}", t));
    }
    if let Some(s) = sqlite {
        line.push_str(&format!(" {:>8}", ratio(totals[0], totals[s])));
    }
    println!("{line}");

    // Every engine must agree.
    let mut ok = true;
    for r in &runs[1..] {
        if r.counts != runs[0].counts {
            eprintln!(
                "MISMATCH: SELECT counts per test differ: {} {:?} vs {} {:?}",
                runs[0].label, runs[0].counts, r.label, r.counts
            );
            ok = false;
        }
        if r.check != runs[0].check {
            eprintln!(
                "MISMATCH: final counts/sums differ: {} {:?} vs {} {:?}",
                runs[0].label, runs[0].check, r.label, r.check
            );
            ok = false;
        }
    }
    println!(
        "final counts/sums (t1 rows, a+b, len(c); t2 ...; t3 ...): {:?}",
        runs[0].check
    );
    if !ok {
        return Err("the engines disagree".into());
    }
    if runs.len() > 1 {
        println!("all engines agree");
    }
    Ok(())
}
