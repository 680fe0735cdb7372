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
