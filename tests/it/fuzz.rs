//! Random SQL against the engine: whatever the input, the engine returns a
//! result or an error with a SQLSTATE, never panics, and stays usable.
//!
//! `npm test` runs 4000 statements; more with
//! `NEURALDB_FUZZ_ITERS=200000 cargo test --release --test it fuzz -- --nocapture`
//! (`NEURALDB_FUZZ_SEED` picks the seed; a panic prints the statement).

use std::panic::{catch_unwind, AssertUnwindSafe};

use neuraldb::engine::Engine;
use neuraldb::util::Rng;

const TOKENS: &[&str] = &[
    "SELECT",
    "FROM",
    "WHERE",
    "AND",
    "OR",
    "NOT",
    "NULL",
    "(",
    ")",
    ",",
    "*",
    "+",
    "-",
    "/",
    "%",
    "=",
    "<>",
    "<",
    ">=",
    "||",
    "::",
    "t",
    "u",
    "a",
    "b",
    "c",
    "1",
    "0",
    "-1",
    "'x'",
    "''",
    "GROUP",
    "BY",
    "ORDER",
    "HAVING",
    "LIMIT",
    "OFFSET",
    "JOIN",
    "ON",
    "LEFT",
    "UNION",
    "ALL",
    "DISTINCT",
    "CASE",
    "WHEN",
    "THEN",
    "ELSE",
    "END",
    "IN",
    "EXISTS",
    "BETWEEN",
    "LIKE",
    "IS",
    "AS",
    "INSERT",
    "INTO",
    "VALUES",
    "UPDATE",
    "SET",
    "DELETE",
    "CREATE",
    "TABLE",
    "INDEX",
    "DROP",
    "BEGIN",
    "COMMIT",
    "ROLLBACK",
    "SAVEPOINT",
    "WITH",
    "RECURSIVE",
    "count",
    "sum",
    "abs",
    "$1",
    ";",
    "[",
    "]",
    "->",
    "->>",
    "'{\"k\":1}'",
    "int",
    "text",
    "numeric",
    "date",
    "jsonb",
    "true",
];

const LITERALS: &[&str] = &[
    "0",
    "1",
    "-1",
    "2147483647",
    "-2147483648",
    "9223372036854775807",
    "-9223372036854775808",
    "1.5",
    "1e308",
    "'NaN'::float8",
    "'Infinity'::float8",
    "NULL",
    "''",
    "'abc'",
    "'2024-02-29'",
    "'2024-13-45'",
    "'1 day'",
    "'{\"a\": [1, 2]}'",
    "'[1,2,3]'",
    "true",
    "false",
    "'\\x00ff'",
    "99999999999999999999999999.99",
    "'a%b_c'",
];

const FUNCS: &[&str] = &[
    "abs",
    "length",
    "lower",
    "upper",
    "substr",
    "coalesce",
    "nullif",
    "greatest",
    "least",
    "round",
    "trunc",
    "sqrt",
    "power",
    "date_trunc",
    "date_part",
    "to_char",
    "md5",
    "replace",
    "split_part",
    "lpad",
    "jsonb_typeof",
    "jsonb_build_object",
    "concat",
    "now",
    "random",
    "left",
    "repeat",
    "mod",
    "ln",
    "exp",
    "age",
    "txid_status",
];

const TYPES: &[&str] = &[
    "int",
    "bigint",
    "smallint",
    "numeric(5,2)",
    "real",
    "double precision",
    "text",
    "varchar(3)",
    "char(2)",
    "bool",
    "date",
    "timestamp",
    "timestamptz",
    "interval",
    "uuid",
    "jsonb",
    "bytea",
    "int[]",
];

fn pick<'a>(rng: &mut Rng, items: &[&'a str]) -> &'a str {
    items[rng.below(items.len() as u64) as usize]
}

fn expr(rng: &mut Rng, depth: u32) -> String {
    if depth == 0 || rng.chance(30) {
        return match rng.below(3) {
            0 => pick(rng, &["a", "b", "c", "t.a", "u.b"]).to_string(),
            _ => pick(rng, LITERALS).to_string(),
        };
    }
    match rng.below(9) {
        0 => format!(
            "({} {} {})",
            expr(rng, depth - 1),
            pick(
                rng,
                &[
                    "+", "-", "*", "/", "%", "||", "=", "<>", "<", ">=", "AND", "OR", "^", "->",
                    "->>"
                ]
            ),
            expr(rng, depth - 1)
        ),
        1 => {
            let n = rng.below(4);
            let args: Vec<String> = (0..n).map(|_| expr(rng, depth - 1)).collect();
            format!("{}({})", pick(rng, FUNCS), args.join(", "))
        }
        2 => format!("CAST({} AS {})", expr(rng, depth - 1), pick(rng, TYPES)),
        3 => format!("{}::{}", expr(rng, depth - 1), pick(rng, TYPES)),
        4 => format!(
            "CASE WHEN {} THEN {} ELSE {} END",
            expr(rng, depth - 1),
            expr(rng, depth - 1),
            expr(rng, depth - 1)
        ),
        5 => format!(
            "{} IN ({}, {})",
            expr(rng, depth - 1),
            expr(rng, depth - 1),
            expr(rng, depth - 1)
        ),
        6 => format!("(SELECT {} FROM t LIMIT 1)", expr(rng, depth - 1)),
        7 => format!("{} LIKE {}", expr(rng, depth - 1), expr(rng, depth - 1)),
        _ => format!("NOT {}", expr(rng, depth - 1)),
    }
}

fn statement(rng: &mut Rng) -> String {
    match rng.below(10) {
        0 => {
            let n = 1 + rng.below(12);
            (0..n)
                .map(|_| pick(rng, TOKENS))
                .collect::<Vec<_>>()
                .join(" ")
        }
        1 => format!(
            "INSERT INTO t VALUES ({}, {}, {})",
            expr(rng, 2),
            expr(rng, 2),
            expr(rng, 2)
        ),
        2 => format!("UPDATE t SET b = {} WHERE {}", expr(rng, 2), expr(rng, 2)),
        3 => format!("DELETE FROM t WHERE {}", expr(rng, 2)),
        4 => format!(
            "SELECT {}, count(*) FROM t GROUP BY 1 HAVING {} ORDER BY 1 LIMIT {}",
            expr(rng, 2),
            expr(rng, 1),
            rng.below(5)
        ),
        5 => format!(
            "SELECT * FROM t LEFT JOIN u ON {} WHERE {}",
            expr(rng, 2),
            expr(rng, 2)
        ),
        6 => pick(
            rng,
            &[
                "BEGIN",
                "COMMIT",
                "ROLLBACK",
                "SAVEPOINT s",
                "ROLLBACK TO SAVEPOINT s",
            ],
        )
        .to_string(),
        _ => format!("SELECT {}, {}", expr(rng, 3), expr(rng, 3)),
    }
}

#[test]
fn random_sql_never_panics() {
    let iters: u64 = std::env::var("NEURALDB_FUZZ_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4000);
    let seed: u64 = std::env::var("NEURALDB_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(7);
    let mut rng = Rng::new(seed);
    let mut engine = Engine::open_memory().expect("opens");
    let s = engine.connect();
    engine
        .execute(s, "CREATE TABLE t (a int PRIMARY KEY, b text, c numeric); CREATE TABLE u (a int, b jsonb)", vec![])
        .expect("setup");
    engine
        .execute(s, "INSERT INTO t VALUES (1, 'x', 1.5), (2, NULL, -3); INSERT INTO u VALUES (1, '{\"k\": 2}')", vec![])
        .expect("setup");
    let mut errors = 0u64;
    for i in 0..iters {
        let sql = statement(&mut rng);
        let r = catch_unwind(AssertUnwindSafe(|| engine.execute(s, &sql, vec![])));
        match r {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                errors += 1;
                assert_eq!(e.sqlstate().as_str().len(), 5, "bad SQLSTATE for {sql}");
            }
            Err(_) => panic!("statement {i} (seed {seed}) panicked: {sql}"),
        }
    }
    // Still usable afterwards.
    let _ = engine.execute(s, "ROLLBACK", vec![]);
    let rows = engine
        .execute(s, "SELECT count(*) FROM t", vec![])
        .expect("usable");
    assert_eq!(rows[0].rows.len(), 1);
    eprintln!("fuzz: {iters} statements, {errors} errors, no panic");
}
