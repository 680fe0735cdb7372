//! HNSW recall against an exact scan, as users meet it through SQL:
//! seeded embeddings with the structure of real ones (a low-rank signal
//! plus noise, normalised), k-NN queries through the index compared with
//! the true neighbours computed here.

use neuraldb::engine::{Engine, SessionId};
use neuraldb::util::Rng;
use neuraldb::value::Value;

const DIMS: usize = 128;
const RANK: usize = 16;
const K: usize = 10;

fn gaussian(rng: &mut Rng) -> f32 {
    // Box-Muller; u1 in (0, 1] so the log is finite.
    let u1 = ((rng.next_u64() >> 11) as f64 + 1.0) / (1u64 << 53) as f64;
    let u2 = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
}

fn normalised(mut v: Vec<f32>) -> Vec<f32> {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    for x in &mut v {
        *x /= n;
    }
    v
}

/// `n` data points and `q` queries near one `RANK`-dimensional subspace,
/// on the unit sphere.
fn embeddings(n: usize, q: usize, seed: u64) -> (Vec<Vec<f32>>, Vec<Vec<f32>>) {
    let mut rng = Rng::new(seed);
    let basis: Vec<Vec<f32>> = (0..RANK)
        .map(|_| (0..DIMS).map(|_| gaussian(&mut rng)).collect())
        .collect();
    let mut point = || {
        let coef: Vec<f32> = (0..RANK).map(|_| gaussian(&mut rng)).collect();
        let v = (0..DIMS)
            .map(|d| {
                let signal: f32 = (0..RANK).map(|r| coef[r] * basis[r][d]).sum();
                signal + 2.0 * gaussian(&mut rng)
            })
            .collect();
        normalised(v)
    };
    let data = (0..n).map(|_| point()).collect();
    let queries = (0..q).map(|_| point()).collect();
    (data, queries)
}

#[derive(Clone, Copy)]
enum Metric {
    L2,
    Cosine,
    Ip,
}

impl Metric {
    fn op(self) -> &'static str {
        match self {
            Metric::L2 => "<->",
            Metric::Cosine => "<=>",
            Metric::Ip => "<#>",
        }
    }

    fn opclass(self) -> &'static str {
        match self {
            Metric::L2 => "vector_l2_ops",
            Metric::Cosine => "vector_cosine_ops",
            Metric::Ip => "vector_ip_ops",
        }
    }

    fn distance(self, a: &[f32], b: &[f32]) -> f64 {
        let dot: f64 = a.iter().zip(b).map(|(x, y)| f64::from(x * y)).sum();
        match self {
            Metric::L2 => a
                .iter()
                .zip(b)
                .map(|(x, y)| f64::from((x - y) * (x - y)))
                .sum::<f64>()
                .sqrt(),
            Metric::Cosine => {
                let na: f64 = a.iter().map(|x| f64::from(x * x)).sum::<f64>().sqrt();
                let nb: f64 = b.iter().map(|x| f64::from(x * x)).sum::<f64>().sqrt();
                1.0 - dot / (na * nb)
            }
            Metric::Ip => -dot,
        }
    }
}

/// The ids of the `k` nearest rows among those `keep` accepts.
fn exact(
    data: &[Vec<f32>],
    q: &[f32],
    metric: Metric,
    k: usize,
    keep: impl Fn(usize) -> bool,
) -> Vec<i32> {
    let mut scored: Vec<(f64, usize)> = data
        .iter()
        .enumerate()
        .filter(|(i, _)| keep(*i))
        .map(|(i, v)| (metric.distance(v, q), i))
        .collect();
    scored.sort_by(|a, b| a.partial_cmp(b).expect("finite distances"));
    scored.iter().take(k).map(|&(_, i)| i as i32).collect()
}

fn ids(e: &mut Engine, s: SessionId, sql: &str, q: &[f32]) -> Vec<i32> {
    let out = e
        .execute(s, sql, vec![Value::Vector(q.to_vec())])
        .unwrap_or_else(|err| panic!("{sql}: {err}"));
    out[0]
        .rows
        .iter()
        .map(|r| match r[0] {
            Value::Int4(id) => id,
            ref other => panic!("id is {other:?}"),
        })
        .collect()
}

fn plan(e: &mut Engine, s: SessionId, sql: &str) -> String {
    let out = e
        .execute(
            s,
            &format!("EXPLAIN {sql}"),
            vec![Value::Vector(vec![0.0; DIMS])],
        )
        .expect("EXPLAIN runs");
    out[0]
        .rows
        .iter()
        .map(|r| match &r[0] {
            Value::Text(t) => t.clone(),
            other => format!("{other:?}"),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn load(e: &mut Engine, s: SessionId, data: &[Vec<f32>]) {
    e.execute(
        s,
        "CREATE TABLE items (id int PRIMARY KEY, cat int NOT NULL, e vector(128))",
        vec![],
    )
    .expect("create table");
    load_rows(e, s, data);
}

fn load_rows(e: &mut Engine, s: SessionId, data: &[Vec<f32>]) {
    e.execute(s, "BEGIN", vec![]).expect("begin");
    for (i, v) in data.iter().enumerate() {
        e.execute(
            s,
            "INSERT INTO items VALUES ($1, $2, $3)",
            vec![
                Value::Int4(i as i32),
                Value::Int4((i % 20) as i32),
                Value::Vector(v.clone()),
            ],
        )
        .expect("insert");
    }
    e.execute(s, "COMMIT", vec![]).expect("commit");
}

fn recall(found: &[i32], truth: &[i32]) -> usize {
    found.iter().filter(|id| truth.contains(id)).count()
}

/// Recall@10 at the default `hnsw.ef_search` (40) of an index built on a
/// loaded table, for each of the float metrics, and the same with a
/// 1-in-20 filter under an iterative scan (which must also return LIMIT
/// rows, where a single ef_search-bounded search would find about 2).
#[test]
fn hnsw_recall_against_exact_scan() {
    const ROWS: usize = 10_000;
    const QUERIES: usize = 40;
    let (data, queries) = embeddings(ROWS, QUERIES, 11);
    let mut e = Engine::open_memory().expect("engine opens");
    let s = e.connect();
    load(&mut e, s, &data);
    for metric in [Metric::L2, Metric::Cosine, Metric::Ip] {
        e.execute(
            s,
            &format!(
                "CREATE INDEX items_e ON items USING hnsw (e {})",
                metric.opclass()
            ),
            vec![],
        )
        .expect("create index");
        let knn = format!(
            "SELECT id FROM items ORDER BY e {} $1 LIMIT 10",
            metric.op()
        );
        let filtered = format!(
            "SELECT id FROM items WHERE cat = 7 ORDER BY e {} $1 LIMIT 10",
            metric.op()
        );
        let shown = plan(&mut e, s, &knn);
        assert!(shown.contains("Index Scan using items_e"), "{shown}");
        let (mut hits, mut filtered_hits) = (0, 0);
        for q in &queries {
            let truth = exact(&data, q, metric, K, |_| true);
            let got = ids(&mut e, s, &knn, q);
            assert_eq!(got.len(), K);
            hits += recall(&got, &truth);
        }
        e.execute(s, "SET hnsw.iterative_scan = relaxed_order", vec![])
            .expect("set");
        for q in &queries {
            let truth = exact(&data, q, metric, K, |i| i % 20 == 7);
            let got = ids(&mut e, s, &filtered, q);
            assert_eq!(got.len(), K, "an iterative scan returns LIMIT rows");
            assert!(got.iter().all(|id| id % 20 == 7));
            filtered_hits += recall(&got, &truth);
        }
        e.execute(s, "RESET hnsw.iterative_scan", vec![])
            .expect("reset");
        let r = hits as f64 / (QUERIES * K) as f64;
        let rf = filtered_hits as f64 / (QUERIES * K) as f64;
        eprintln!(
            "{}: recall@10 {r:.3}, filtered 1-in-20 {rf:.3}",
            metric.op()
        );
        assert!(r >= 0.95, "{} recall@10 {r}", metric.op());
        assert!(rf >= 0.9, "{} filtered recall@10 {rf}", metric.op());
        e.execute(s, "DROP INDEX items_e", vec![])
            .expect("drop index");
    }
}

/// An index four times the buffer pool is searched through evictions,
/// and after the database is closed and reopened it answers the same
/// without being rebuilt.
#[test]
fn hnsw_larger_than_the_buffer_pool_and_reopened() {
    use neuraldb::storage::{FaultController, FaultyStorage};
    const ROWS: usize = 3300;
    let (data, queries) = embeddings(ROWS, 20, 5);
    let config = || neuraldb::engine::EngineConfig {
        pager: neuraldb::pager::PagerConfig {
            pool_bytes: 1 << 20,
            ..Default::default()
        },
        ..Default::default()
    };
    let ctl = FaultController::new(0);
    let (dfile, wfile) = (
        FaultyStorage::new(&ctl, Vec::new()),
        FaultyStorage::new(&ctl, Vec::new()),
    );
    let knn = "SELECT id FROM items ORDER BY e <-> $1 LIMIT 10";
    let mut e = Engine::open(Box::new(dfile.clone()), Box::new(wfile.clone()), config())
        .expect("engine opens");
    let s = e.connect();
    e.execute(
        s,
        "CREATE TABLE items (id int PRIMARY KEY, cat int NOT NULL, e vector(128))",
        vec![],
    )
    .expect("create table");
    e.execute(
        s,
        "CREATE INDEX ON items USING hnsw (e vector_l2_ops)",
        vec![],
    )
    .expect("create index");
    load_rows(&mut e, s, &data);
    let pages = e.database_pages() as usize;
    assert!(pages * 8192 > 4 * (1 << 20), "{pages} pages");
    let before: Vec<Vec<i32>> = queries.iter().map(|q| ids(&mut e, s, knn, q)).collect();
    let hits: usize = queries
        .iter()
        .zip(&before)
        .map(|(q, got)| recall(got, &exact(&data, q, Metric::L2, K, |_| true)))
        .sum();
    assert!(
        hits as f64 >= 0.95 * (queries.len() * K) as f64,
        "recall {hits}"
    );
    drop(e);
    let calm = FaultController::new(1);
    let mut e = Engine::open(
        Box::new(FaultyStorage::new(&calm, dfile.current_bytes())),
        Box::new(FaultyStorage::new(&calm, wfile.current_bytes())),
        config(),
    )
    .expect("engine reopens");
    let s = e.connect();
    let after: Vec<Vec<i32>> = queries.iter().map(|q| ids(&mut e, s, knn, q)).collect();
    assert_eq!(before, after);
}

/// CREATE INDEX builds the graph in memory and writes it out through a
/// buffer pool a quarter of its size; with `maintenance_work_mem` too
/// small for the graph it writes out what it built and inserts the rest
/// into the pages. Either way the index answers as the exact scan does at
/// a high ef_search, recall holds at the default, and a reopened database
/// answers the same.
#[test]
fn hnsw_build_beyond_its_memory_budget_and_the_pool() {
    use neuraldb::storage::{FaultController, FaultyStorage};
    const ROWS: usize = 3000;
    let (data, queries) = embeddings(ROWS, 20, 9);
    let config = || neuraldb::engine::EngineConfig {
        pager: neuraldb::pager::PagerConfig {
            pool_bytes: 1 << 20,
            ..Default::default()
        },
        ..Default::default()
    };
    let knn = "SELECT id FROM items ORDER BY e <-> $1 LIMIT 10";
    for budget in ["64MB", "1MB"] {
        let ctl = FaultController::new(0);
        let (dfile, wfile) = (
            FaultyStorage::new(&ctl, Vec::new()),
            FaultyStorage::new(&ctl, Vec::new()),
        );
        let mut e = Engine::open(Box::new(dfile.clone()), Box::new(wfile.clone()), config())
            .expect("engine opens");
        let s = e.connect();
        load(&mut e, s, &data);
        e.execute(s, &format!("SET maintenance_work_mem = '{budget}'"), vec![])
            .expect("set");
        e.execute(
            s,
            "CREATE INDEX ON items USING hnsw (e vector_l2_ops)",
            vec![],
        )
        .expect("create index");
        e.execute(s, "SET hnsw.ef_search = 1000", vec![])
            .expect("set");
        for q in &queries[..5] {
            let truth = exact(&data, q, Metric::L2, K, |_| true);
            assert_eq!(
                ids(&mut e, s, knn, q),
                truth,
                "{budget}: ef_search 1000 is exact"
            );
        }
        e.execute(s, "RESET hnsw.ef_search", vec![]).expect("reset");
        let before: Vec<Vec<i32>> = queries.iter().map(|q| ids(&mut e, s, knn, q)).collect();
        let hits: usize = queries
            .iter()
            .zip(&before)
            .map(|(q, got)| recall(got, &exact(&data, q, Metric::L2, K, |_| true)))
            .sum();
        assert!(
            hits as f64 >= 0.95 * (queries.len() * K) as f64,
            "{budget}: recall {hits}"
        );
        drop(e);
        let calm = FaultController::new(1);
        let mut e = Engine::open(
            Box::new(FaultyStorage::new(&calm, dfile.current_bytes())),
            Box::new(FaultyStorage::new(&calm, wfile.current_bytes())),
            config(),
        )
        .expect("engine reopens");
        let s = e.connect();
        let after: Vec<Vec<i32>> = queries.iter().map(|q| ids(&mut e, s, knn, q)).collect();
        assert_eq!(before, after, "{budget}: same answers after reopening");
    }
}

/// Recall does not decay under a steady update workload: 10 rounds of
/// moving 10% of the rows to new vectors and vacuuming, recall@10 after
/// each round against an exact scan of the current rows; VACUUM's graph
/// repair and slot reuse keep the index from growing.
#[test]
fn hnsw_recall_holds_under_updates_and_vacuum() {
    const ROWS: usize = 3000;
    const QUERIES: usize = 30;
    let (mut data, queries) = embeddings(ROWS, QUERIES, 23);
    let (fresh, _) = embeddings(ROWS, 0, 29);
    let mut e = Engine::open_memory().expect("engine opens");
    let s = e.connect();
    load(&mut e, s, &data);
    e.execute(
        s,
        "CREATE INDEX ON items USING hnsw (e vector_l2_ops)",
        vec![],
    )
    .expect("create index");
    let knn = "SELECT id FROM items ORDER BY e <-> $1 LIMIT 10";
    let mut rng = Rng::new(31);
    let mut pages_after_first = 0;
    let mut next_fresh = 0;
    for round in 0..10 {
        e.execute(s, "BEGIN", vec![]).expect("begin");
        for _ in 0..ROWS / 10 {
            let id = rng.below(ROWS as u64) as usize;
            let v = fresh[next_fresh % ROWS].clone();
            next_fresh += 1;
            e.execute(
                s,
                "UPDATE items SET e = $1 WHERE id = $2",
                vec![Value::Vector(v.clone()), Value::Int4(id as i32)],
            )
            .expect("update");
            data[id] = v;
        }
        e.execute(s, "COMMIT", vec![]).expect("commit");
        e.execute(s, "VACUUM items", vec![]).expect("vacuum");
        let hits: usize = queries
            .iter()
            .map(|q| {
                recall(
                    &ids(&mut e, s, knn, q),
                    &exact(&data, q, Metric::L2, K, |_| true),
                )
            })
            .sum();
        let r = hits as f64 / (QUERIES * K) as f64;
        let pages = e.database_pages();
        eprintln!("round {round}: recall@10 {r:.3}, {pages} pages");
        assert!(r >= 0.95, "round {round}: recall@10 {r}");
        if round == 0 {
            pages_after_first = pages;
        } else {
            assert!(
                f64::from(pages) <= 1.15 * f64::from(pages_after_first),
                "round {round}: {pages} pages, {pages_after_first} after the first"
            );
        }
    }
    // Every row is still reachable: an exact-order scan at a high
    // ef_search returns the true neighbours.
    e.execute(s, "SET hnsw.ef_search = 400", vec![])
        .expect("set");
    for q in queries.iter().take(5) {
        let got = ids(&mut e, s, knn, q);
        assert_eq!(got, exact(&data, q, Metric::L2, K, |_| true));
    }
}

/// halfvec and bit indexes: the same recall check on f16 storage, and
/// binary-quantized embeddings searched by Hamming distance with exact
/// re-ranking in SQL (pgvector's binary quantization recipe).
#[test]
fn hnsw_on_halfvec_and_bit() {
    const ROWS: usize = 3000;
    const QUERIES: usize = 20;
    let (data, queries) = embeddings(ROWS, QUERIES, 41);
    let mut e = Engine::open_memory().expect("engine opens");
    let s = e.connect();
    e.execute(
        s,
        "CREATE TABLE items (id int PRIMARY KEY, h halfvec(128), b bit(128), e vector(128))",
        vec![],
    )
    .expect("create table");
    e.execute(
        s,
        "CREATE INDEX items_h ON items USING hnsw (h halfvec_cosine_ops)",
        vec![],
    )
    .expect("halfvec index");
    e.execute(
        s,
        "CREATE INDEX items_b ON items USING hnsw (b bit_hamming_ops)",
        vec![],
    )
    .expect("bit index");
    e.execute(s, "BEGIN", vec![]).expect("begin");
    for (i, v) in data.iter().enumerate() {
        // Parameters arrive as float32 vectors (as from a Float32Array)
        // and are cast to the column types.
        e.execute(
            s,
            "INSERT INTO items VALUES ($1, $2, binary_quantize($2)::bit(128), $2)",
            vec![Value::Int4(i as i32), Value::Vector(v.clone())],
        )
        .expect("insert");
    }
    e.execute(s, "COMMIT", vec![]).expect("commit");
    let knn = "SELECT id FROM items ORDER BY h <=> $1 LIMIT 10";
    assert!(plan(&mut e, s, knn).contains("Index Scan using items_h"));
    let bits = "SELECT id FROM items ORDER BY b <~> binary_quantize($1) LIMIT 10";
    assert!(plan(&mut e, s, bits).contains("Index Scan using items_b"));
    // Re-rank the 100 nearest by Hamming distance exactly.
    let rerank =
        "SELECT id FROM (SELECT id, e FROM items ORDER BY b <~> binary_quantize($1) LIMIT 100) c \
                  ORDER BY e <=> $1 LIMIT 10";
    e.execute(s, "SET hnsw.ef_search = 100", vec![])
        .expect("set");
    let (mut hits, mut bit_hits, mut reranked) = (0, 0, 0);
    for q in &queries {
        let truth = exact(&data, q, Metric::Cosine, K, |_| true);
        hits += recall(&ids(&mut e, s, knn, q), &truth);
        // The index's Hamming neighbours against exact Hamming ones.
        let qb: Vec<bool> = q.iter().map(|x| *x > 0.0).collect();
        let mut by_hamming: Vec<(usize, usize)> = data
            .iter()
            .enumerate()
            .map(|(i, v)| {
                (
                    v.iter()
                        .zip(&qb)
                        .filter(|(x, b)| (**x > 0.0) != **b)
                        .count(),
                    i,
                )
            })
            .collect();
        by_hamming.sort();
        let got = ids(&mut e, s, bits, q);
        let kth = by_hamming[K - 1].0;
        bit_hits += got
            .iter()
            .filter(|id| {
                by_hamming
                    .iter()
                    .find(|(_, i)| *i == **id as usize)
                    .is_some_and(|(d, _)| *d <= kth)
            })
            .count();
        reranked += recall(&ids(&mut e, s, rerank, q), &truth);
    }
    let total = (QUERIES * K) as f64;
    let (r, rb, rr) = (
        hits as f64 / total,
        bit_hits as f64 / total,
        reranked as f64 / total,
    );
    eprintln!("halfvec cosine recall@10 {r:.3}; bit hamming recall@10 {rb:.3}; re-ranked {rr:.3}");
    assert!(r >= 0.95, "halfvec recall {r}");
    assert!(rb >= 0.9, "bit recall {rb}");
    assert!(rr >= 0.75, "re-ranked recall {rr}");
}

/// A long CREATE INDEX stops at statement_timeout and at a cancel
/// request from another thread (57014); the half-built index is gone with
/// the statement and a later build succeeds.
#[test]
fn hnsw_build_is_cancellable() {
    const ROWS: usize = 3000;
    let (data, _) = embeddings(ROWS, 0, 3);
    let mut e = Engine::open_memory().expect("engine opens");
    let s = e.connect();
    load(&mut e, s, &data);
    let build = "CREATE INDEX items_e ON items USING hnsw (e vector_l2_ops)";
    e.execute(s, "SET statement_timeout = '30ms'", vec![])
        .expect("set");
    let t0 = std::time::Instant::now();
    let err = e.execute(s, build, vec![]).expect_err("times out");
    assert_eq!(err.sqlstate(), neuraldb::SqlState::QUERY_CANCELED, "{err}");
    assert!(
        t0.elapsed() < std::time::Duration::from_secs(2),
        "{:?}",
        t0.elapsed()
    );
    e.execute(s, "RESET statement_timeout", vec![])
        .expect("reset");
    // A cancel request from another thread while the build runs.
    let handle = e.cancel_handle();
    let canceller = std::thread::spawn(move || {
        let t0 = std::time::Instant::now();
        while !handle.cancel_running(s) {
            assert!(
                t0.elapsed() < std::time::Duration::from_secs(20),
                "the build never ran"
            );
            std::thread::yield_now();
        }
    });
    let err = e.execute(s, build, vec![]).expect_err("cancelled");
    canceller.join().expect("canceller");
    assert_eq!(err.sqlstate(), neuraldb::SqlState::QUERY_CANCELED, "{err}");
    let out = e
        .execute(
            s,
            "SELECT count(*) FROM pg_indexes WHERE indexname = 'items_e'",
            vec![],
        )
        .expect("catalog");
    assert_eq!(out[0].rows, vec![vec![Value::Int8(0)]]);
    // Progress: reported at the start, along the way, and at the end.
    let seen = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let sink = seen.clone();
    e.set_progress_hook(Box::new(move |sid, p| {
        sink.borrow_mut().push((sid, p.clone()))
    }));
    e.execute(s, build, vec![]).expect("builds when left alone");
    let seen = seen.borrow();
    assert!(seen.len() >= 3, "{} reports", seen.len());
    assert!(seen.iter().all(|(sid, p)| *sid == s
        && p.command == "CREATE INDEX"
        && p.index == "items_e"
        && p.tuples_total == ROWS as u64));
    assert_eq!(seen.first().map(|r| r.1.tuples_done), Some(0));
    assert_eq!(seen.last().map(|r| r.1.tuples_done), Some(ROWS as u64));
    assert!(seen
        .windows(2)
        .all(|w| w[0].1.tuples_done <= w[1].1.tuples_done));
}

// ---- crash simulation with an HNSW index ------------------------------------

mod crash {
    use super::{Engine, Rng, SessionId, Value};
    use neuraldb::engine::EngineConfig;
    use neuraldb::pager::PagerConfig;
    use neuraldb::storage::{CrashMode, FaultController, FaultyStorage};
    use std::collections::BTreeMap;

    const DIMS: usize = 8;
    type Rows = BTreeMap<i32, Vec<f32>>;

    fn config() -> EngineConfig {
        EngineConfig {
            // 24 pages of 4 KiB: the table and index outgrow the pool.
            pager: PagerConfig {
                page_size: 4096,
                pool_bytes: 24 * 4096,
                checkpoint_wal_bytes: 48 << 10,
            },
            ..EngineConfig::default()
        }
    }

    fn open(ctl: &FaultController, data: Vec<u8>, wal: Vec<u8>) -> (FaultyStorage, FaultyStorage) {
        (FaultyStorage::new(ctl, data), FaultyStorage::new(ctl, wal))
    }

    fn random_vector(rng: &mut Rng) -> Vec<f32> {
        (0..DIMS)
            .map(|_| (rng.below(2001) as f32 - 1000.0) / 100.0)
            .collect()
    }

    fn literal(v: &[f32]) -> String {
        let parts: Vec<String> = v.iter().map(|x| x.to_string()).collect();
        format!("'[{}]'", parts.join(","))
    }

    fn l2(a: &[f32], b: &[f32]) -> f64 {
        a.iter()
            .zip(b)
            .map(|(x, y)| f64::from(x - y) * f64::from(x - y))
            .sum()
    }

    /// One transaction's statements and the committed state it leads to.
    fn transaction(rng: &mut Rng, rows: &Rows, next_id: &mut i32) -> (Vec<String>, Rows) {
        let mut after = rows.clone();
        let mut stmts = Vec::new();
        for _ in 0..1 + rng.below(6) {
            let existing: Vec<i32> = after.keys().copied().collect();
            match rng.below(10) {
                0..=4 => {
                    let n = 1 + rng.below(8);
                    let mut values = Vec::new();
                    for _ in 0..n {
                        let v = random_vector(rng);
                        values.push(format!("({}, {})", *next_id, literal(&v)));
                        after.insert(*next_id, v);
                        *next_id += 1;
                    }
                    stmts.push(format!("INSERT INTO vt VALUES {}", values.join(", ")));
                }
                5..=7 if !existing.is_empty() => {
                    let id = existing[rng.below(existing.len() as u64) as usize];
                    let v = random_vector(rng);
                    stmts.push(format!("UPDATE vt SET e = {} WHERE id = {id}", literal(&v)));
                    after.insert(id, v);
                }
                _ if !existing.is_empty() => {
                    let id = existing[rng.below(existing.len() as u64) as usize];
                    stmts.push(format!("DELETE FROM vt WHERE id = {id}"));
                    after.remove(&id);
                }
                _ => {}
            }
        }
        (stmts, after)
    }

    fn read_rows(e: &mut Engine, s: SessionId) -> Result<Rows, String> {
        let out = e
            .execute(s, "SELECT id, e FROM vt ORDER BY id", vec![])
            .map_err(|err| format!("heap scan: {err}"))?;
        out[0]
            .rows
            .iter()
            .map(|r| match (&r[0], &r[1]) {
                (Value::Int4(id), Value::Vector(v)) => Ok((*id, v.clone())),
                other => Err(format!("unexpected row {other:?}")),
            })
            .collect()
    }

    /// The index agrees with the heap: k-NN through it at a high
    /// ef_search equals the exact answer over the rows the heap holds.
    fn check_index(e: &mut Engine, s: SessionId, rows: &Rows, rng: &mut Rng) -> Result<(), String> {
        e.execute(s, "SET hnsw.ef_search = 1000", vec![])
            .map_err(|err| err.to_string())?;
        for _ in 0..4 {
            let q = random_vector(rng);
            let sql = "SELECT id FROM vt ORDER BY e <-> $1 LIMIT 10";
            let got: Vec<i32> = e
                .execute(s, sql, vec![Value::Vector(q.clone())])
                .map_err(|err| format!("index scan: {err}"))?[0]
                .rows
                .iter()
                .map(|r| match r[0] {
                    Value::Int4(id) => id,
                    _ => -1,
                })
                .collect();
            let mut exact: Vec<(f64, i32)> = rows.iter().map(|(id, v)| (l2(v, &q), *id)).collect();
            exact.sort_by(|a, b| a.partial_cmp(b).expect("finite"));
            let want: Vec<i32> = exact.iter().take(10).map(|x| x.1).collect();
            if got != want {
                return Err(format!("index scan {got:?}, exact scan {want:?}"));
            }
        }
        Ok(())
    }

    /// Returns how many of its rounds crashed (the rest ran out of work).
    fn run_seed(seed: u64) -> Result<usize, String> {
        let mut rng = Rng::new(seed);
        let (mut data_img, mut wal_img) = (Vec::new(), Vec::new());
        let mut committed = Rows::new();
        let mut next_id = 1;
        let mut crashes = 0;
        for round in 0..2 {
            let ctl = FaultController::new(seed * 7 + round);
            let (data, wal) = open(
                &ctl,
                std::mem::take(&mut data_img),
                std::mem::take(&mut wal_img),
            );
            let mut e = Engine::open(Box::new(data.clone()), Box::new(wal.clone()), config())
                .map_err(|err| format!("round {round}: open: {err}"))?;
            let s = e.connect();
            if round == 0 {
                for ddl in [
                    "CREATE TABLE vt (id int PRIMARY KEY, e vector(8))",
                    "CREATE INDEX vt_e ON vt USING hnsw (e vector_l2_ops) WITH (m = 4, ef_construction = 16)",
                ] {
                    e.execute(s, ddl, vec![]).map_err(|err| format!("{ddl}: {err}"))?;
                }
            }
            // States the heap may be in after the crash.
            let mut allowed = vec![committed.clone()];
            ctl.crash_at_call(ctl.calls() + 1 + rng.below(400));
            'work: for _ in 0..60 {
                let (stmts, after) = transaction(&mut rng, &committed, &mut next_id);
                let abort = rng.chance(15);
                if e.execute(s, "BEGIN", vec![]).is_err() {
                    break;
                }
                for st in &stmts {
                    if let Err(err) = e.execute(s, st, vec![]) {
                        if ctl.has_crashed() {
                            break 'work;
                        }
                        return Err(format!("round {round}: {st}: {err}"));
                    }
                }
                let end = if abort { "ROLLBACK" } else { "COMMIT" };
                if !abort {
                    allowed.push(after.clone());
                }
                match e.execute(s, end, vec![]) {
                    Ok(_) if abort => {}
                    Ok(_) => {
                        committed = after;
                        allowed = vec![committed.clone()];
                    }
                    Err(_) if ctl.has_crashed() => break,
                    Err(err) => return Err(format!("round {round}: {end}: {err}")),
                }
                if rng.chance(20) {
                    match e.execute(s, "VACUUM vt", vec![]) {
                        Ok(_) => {}
                        Err(_) if ctl.has_crashed() => break,
                        Err(err) => return Err(format!("round {round}: VACUUM: {err}")),
                    }
                }
            }
            let mode = match rng.below(3) {
                0 => CrashMode::DropUnsynced,
                1 => CrashMode::TearLast,
                _ => CrashMode::Reorder,
            };
            crashes += usize::from(ctl.has_crashed());
            drop(e);
            let calm = FaultController::new(0);
            let (rdata, rwal) = open(&calm, data.crash_image(mode), wal.crash_image(mode));
            let mut e = Engine::open(Box::new(rdata.clone()), Box::new(rwal.clone()), config())
                .map_err(|err| format!("round {round}: recovery after {mode:?}: {err}"))?;
            let s = e.connect();
            let rows = read_rows(&mut e, s)?;
            if !allowed.contains(&rows) {
                return Err(format!(
                    "round {round} ({mode:?}): recovered {} rows, none of the {} allowed states",
                    rows.len(),
                    allowed.len()
                ));
            }
            check_index(&mut e, s, &rows, &mut rng)
                .map_err(|err| format!("round {round} ({mode:?}) after recovery: {err}"))?;
            committed = rows;
            next_id = committed
                .keys()
                .next_back()
                .map_or(1, |id| id + 1)
                .max(next_id);
            drop(e);
            data_img = rdata.current_bytes();
            wal_img = rwal.current_bytes();
        }
        Ok(crashes)
    }

    /// Crashes at random storage calls during transactions that insert,
    /// move and delete indexed vectors (with vacuums, checkpoints and an
    /// index several times the buffer pool); after recovery the heap holds
    /// a committed state and the index answers as an exact scan does.
    #[test]
    fn hnsw_crash_simulation_index_agrees_with_heap() {
        let (crashes, rounds) =
            crate::common::run_crash_seeds("NEURALDB_VECTOR_CRASH_SEED", 100, run_seed);
        // The workload is long enough that most rounds end in a crash.
        assert!(
            crashes * 4 >= rounds * 3,
            "only {crashes} of {rounds} rounds crashed"
        );
    }
}

/// CREATE INDEX runs in slices: between two, other sessions read the
/// table and see the build in `pg_stat_progress_create_index`, writers
/// and VACUUM are kept out (Share lock), and a cancel request ends it.
#[test]
fn hnsw_build_yields_to_other_sessions() {
    use neuraldb::engine::{EngineConfig, Submitted};
    use neuraldb::storage::MemoryStorage;
    const ROWS: usize = 600;
    let (data, _) = embeddings(ROWS, 0, 9);
    let config = EngineConfig {
        slice_micros: 0,
        ..Default::default()
    };
    let mut e = Engine::open(
        Box::new(MemoryStorage::new()),
        Box::new(MemoryStorage::new()),
        config,
    )
    .expect("engine opens");
    let (a, b) = (e.connect(), e.connect());
    load(&mut e, a, &data);
    e.execute(a, "DELETE FROM items WHERE id < 10", vec![])
        .expect("dead versions for vacuum");
    let build = "CREATE INDEX items_e ON items USING hnsw (e vector_l2_ops)";
    let progress = "SELECT pid, relid = 'items'::regclass, index_relid > 0, command, phase, \
                    tuples_done, tuples_total FROM pg_stat_progress_create_index";
    let count = |e: &mut Engine| -> Value {
        e.execute(b, "SELECT count(*) FROM items", vec![])
            .expect("reads")[0]
            .rows[0][0]
            .clone()
    };
    // Builds cancelled between two slices free what they built: the
    // next one reuses those pages, so the file does not grow.
    let mut pages = Vec::new();
    for _ in 0..3 {
        assert!(matches!(e.submit(a, build, vec![]), Submitted::Parked));
        assert!(e.has_work());
        assert!(e.cancel(a));
        let done = e.take_completions();
        assert_eq!(done.len(), 1);
        let err = done[0].1.error.as_ref().expect("cancelled");
        assert_eq!(err.sqlstate(), neuraldb::SqlState::QUERY_CANCELED, "{err}");
        assert!(!e.has_work());
        pages.push(e.database_pages());
    }
    assert_eq!(pages[0], pages[2], "{pages:?}");
    // The second runs while session b works beside it; a writer waits
    // for it (Share lock), and goes on when it ends.
    assert!(matches!(e.submit(a, build, vec![]), Submitted::Parked));
    let w = e.connect();
    assert!(matches!(
        e.submit(
            w,
            "INSERT INTO items VALUES (100001, 0, $1)",
            vec![Value::Vector(data[1].clone())],
        ),
        Submitted::Parked
    ));
    let mut last_done = 0;
    let mut rounds = 0;
    while e.has_work() {
        let rows = e.execute(b, progress, vec![]).expect("progress view")[0]
            .rows
            .clone();
        assert_eq!(rows.len(), 1, "{rows:?}");
        let r = &rows[0];
        assert_eq!(r[0], Value::Int4(a as i32));
        assert_eq!(
            r[1..4],
            [
                Value::Bool(true),
                Value::Bool(true),
                Value::Text("CREATE INDEX".into())
            ]
        );
        assert_eq!(r[4], Value::Text("building index: loading tuples".into()));
        let Value::Int8(done) = r[5] else {
            panic!("{r:?}")
        };
        assert_eq!(r[6], Value::Int8(ROWS as i64));
        assert!(done >= last_done && done < ROWS as i64, "{done}");
        last_done = done;
        assert_eq!(count(&mut e), Value::Int8(ROWS as i64 - 10));
        assert!(e.is_parked(w), "the writer waits for the build");
        let vacuumed = e.execute(b, "VACUUM items", vec![]);
        assert!(vacuumed.is_ok(), "{vacuumed:?}");
        e.work();
        rounds += 1;
    }
    assert!(rounds > 5, "{rounds} slices");
    let done = e.take_completions();
    assert_eq!(done.len(), 2, "the build and the writer that waited for it");
    assert!(done.iter().all(|(_, o)| o.error.is_none()), "{done:?}");
    assert!(e.execute(b, progress, vec![]).expect("view")[0]
        .rows
        .is_empty());
    // The deleted rows were not vacuumed away under the build: vacuum now
    // removes them from the index too, and the index answers exactly.
    e.execute(b, "VACUUM items", vec![]).expect("vacuum");
    e.execute(
        b,
        "INSERT INTO items VALUES (100000, 0, $1)",
        vec![Value::Vector(data[0].clone())],
    )
    .expect("writers are back");
    e.execute(b, "SET hnsw.ef_search = 400", vec![])
        .expect("set");
    let out = e
        .execute(
            b,
            "SELECT id FROM items ORDER BY e <-> $1 LIMIT 2",
            vec![Value::Vector(data[0].clone())],
        )
        .expect("knn");
    let exact = e
        .execute(
            b,
            "SELECT id FROM items ORDER BY (e <-> $1) + 0 LIMIT 2",
            vec![Value::Vector(data[0].clone())],
        )
        .expect("exact");
    assert_eq!(out[0].rows, exact[0].rows);
    assert_eq!(out[0].rows[0], vec![Value::Int4(100000)]);
    e.execute(b, "SET hnsw.ef_search = 1000", vec![])
        .expect("set");
    let all = e
        .execute(
            b,
            "SELECT count(DISTINCT id) FROM (SELECT id FROM items ORDER BY e <-> $1 LIMIT 1000) s",
            vec![Value::Vector(data[0].clone())],
        )
        .expect("all through the index");
    assert_eq!(all[0].rows, vec![vec![Value::Int8(ROWS as i64 - 10 + 2)]]);
}

/// A CREATE INDEX in an open transaction keeps writers waiting until it
/// ends, so no row written meanwhile goes unindexed.
#[test]
fn create_index_in_a_block_keeps_writers_out_until_commit() {
    let mut e = Engine::open_memory().expect("engine opens");
    let (a, b) = (e.connect(), e.connect());
    e.execute(a, "CREATE TABLE t (id int, v vector(2))", vec![])
        .expect("create");
    e.execute(a, "INSERT INTO t VALUES (1, '[1,1]')", vec![])
        .expect("insert");
    e.execute(a, "BEGIN", vec![]).expect("begin");
    e.execute(a, "CREATE INDEX t_v ON t USING hnsw (v)", vec![])
        .expect("index");
    assert!(matches!(
        e.submit(b, "INSERT INTO t VALUES (2, '[2,2]')", vec![]),
        neuraldb::engine::Submitted::Parked
    ));
    let c = e.connect();
    let out = e
        .execute(c, "SELECT count(*) FROM t", vec![])
        .expect("readers go on");
    assert_eq!(out[0].rows, vec![vec![Value::Int8(1)]]);
    e.execute(a, "COMMIT", vec![]).expect("commit");
    let done = e.take_completions();
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].0, b);
    assert!(done[0].1.error.is_none(), "{:?}", done[0].1.error);
    let out = e
        .execute(b, "SELECT id FROM t ORDER BY v <-> '[2,2]' LIMIT 1", vec![])
        .expect("knn");
    assert_eq!(out[0].rows, vec![vec![Value::Int4(2)]]);
}
