//! Native HNSW benchmark (not a test): the same seeded datasets as the
//! browser benchmark (`www/bench-vector-worker.js`), loaded through SQL
//! into a file-backed engine, then CREATE INDEX and top-10 queries at
//! ef_search 40/100/200 with recall@10 against an exact scan computed
//! here. It is where the HNSW code is profiled (`perf record`).
//!
//! Usage: `cargo run --release --bin bench-vector -- [n=20000] [dims=384]
//! [q=100] [datasets=clustered,lowrank,uniform] [pool=MiB] [mem=MiB]
//! [efs=40,100,200]`

use std::collections::HashMap;
use std::time::Instant;

use neuraldb::engine::{Engine, EngineConfig, SessionId};
use neuraldb::pager::PagerConfig;
use neuraldb::storage::FileStorage;
use neuraldb::util::Rng;
use neuraldb::value::Value;

const K: usize = 10;

fn uniform01(r: &mut Rng) -> f64 {
    (r.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

fn gaussian(r: &mut Rng) -> f32 {
    let u1 = uniform01(r).max(1e-12);
    ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * uniform01(r)).cos()) as f32
}

fn normalise(v: &mut [f32]) {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter_mut().for_each(|x| *x /= n);
}

/// The datasets of `www/bench-vector-worker.js` (same recipes; the JS one
/// uses its own generator, so the numbers differ, not the structure).
fn dataset(name: &str, n: usize, dims: usize, r: &mut Rng) -> Vec<Vec<f32>> {
    match name {
        // Topics in a 32-dimensional latent space, mapped to `dims` and
        // normalised, with a little isotropic noise: how sentence
        // embeddings are shaped (clusters on a low-dimensional manifold).
        "clustered" => {
            let basis: Vec<Vec<f32>> = (0..32)
                .map(|_| (0..dims).map(|_| gaussian(r)).collect())
                .collect();
            let centres: Vec<Vec<f32>> = (0..64)
                .map(|_| (0..32).map(|_| gaussian(r)).collect())
                .collect();
            (0..n)
                .map(|_| {
                    let c = &centres[(r.next_u64() % 64) as usize];
                    let latent: Vec<f32> = c.iter().map(|x| x + 0.6 * gaussian(r)).collect();
                    let mut v: Vec<f32> = (0..dims)
                        .map(|d| {
                            latent
                                .iter()
                                .zip(&basis)
                                .map(|(a, b)| a * b[d])
                                .sum::<f32>()
                                + 0.5 * gaussian(r)
                        })
                        .collect();
                    normalise(&mut v);
                    v
                })
                .collect()
        }
        // A 32-dimensional signal plus strong noise, normalised.
        "lowrank" => {
            let basis: Vec<Vec<f32>> = (0..32)
                .map(|_| (0..dims).map(|_| gaussian(r)).collect())
                .collect();
            (0..n)
                .map(|_| {
                    let mut v = vec![0f32; dims];
                    for b in &basis {
                        let c = gaussian(r);
                        v.iter_mut().zip(b).for_each(|(x, y)| *x += c * y);
                    }
                    v.iter_mut().for_each(|x| *x += 3.0 * gaussian(r));
                    normalise(&mut v);
                    v
                })
                .collect()
        }
        _ => (0..n)
            .map(|_| {
                (0..dims)
                    .map(|_| (uniform01(r) * 2.0 - 1.0) as f32)
                    .collect()
            })
            .collect(),
    }
}

fn l2(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

fn exact(data: &[Vec<f32>], q: &[f32]) -> Vec<i32> {
    let mut s: Vec<(f32, i32)> = data
        .iter()
        .enumerate()
        .map(|(i, v)| (l2(v, q), i as i32))
        .collect();
    s.sort_by(|a, b| a.0.total_cmp(&b.0));
    s.iter().take(K).map(|x| x.1).collect()
}

fn run(e: &mut Engine, s: SessionId, sql: &str, params: Vec<Value>) -> Vec<Vec<Value>> {
    match e.execute(s, sql, params) {
        Ok(mut r) => r.pop().map(|r| r.rows).unwrap_or_default(),
        Err(err) => panic!("{sql}: {err}"),
    }
}

fn main() {
    let args: HashMap<String, String> = std::env::args()
        .skip(1)
        .filter_map(|a| {
            a.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
        })
        .collect();
    let num = |k: &str, d: usize| args.get(k).and_then(|v| v.parse().ok()).unwrap_or(d);
    let (n, dims, nq) = (num("n", 20_000), num("dims", 384), num("q", 100));
    let pool = num("pool", 64) << 20;
    let mem = args.get("mem").cloned();
    let efs: Vec<usize> = args
        .get("efs")
        .map(|v| v.split(',').filter_map(|x| x.parse().ok()).collect())
        .unwrap_or_else(|| vec![40, 100, 200]);
    let sets = args
        .get("datasets")
        .cloned()
        .unwrap_or_else(|| "clustered,lowrank,uniform".into());
    let dir = std::env::temp_dir().join(format!("neuraldb-bench-vector-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    println!(
        "{n} x {dims}, {nq} queries, top-{K}, L2, m=16 ef_construction=64, pool {} MiB",
        pool >> 20
    );
    println!(
        "dataset     load s  build s   ef40 ms recall  ef100 ms recall  ef200 ms recall  data MiB"
    );
    for (i, name) in sets.split(',').enumerate() {
        let mut rng = Rng::new(7 + i as u64);
        let all = dataset(name, n + nq, dims, &mut rng);
        let (data, queries) = all.split_at(n);
        let truth: Vec<Vec<i32>> = queries.iter().map(|q| exact(data, q)).collect();
        let path = dir.join(format!("{name}.ndb"));
        let config = EngineConfig {
            pager: PagerConfig {
                pool_bytes: pool,
                ..PagerConfig::default()
            },
            ..EngineConfig::default()
        };
        let mut e = Engine::open(
            Box::new(FileStorage::open(&path).expect("data file")),
            Box::new(FileStorage::open(dir.join(format!("{name}.ndb-wal"))).expect("wal")),
            config,
        )
        .expect("engine opens");
        let s = e.connect();
        if let Some(m) = &mem {
            run(
                &mut e,
                s,
                &format!("SET maintenance_work_mem = '{m}MB'"),
                vec![],
            );
        }
        run(
            &mut e,
            s,
            &format!("CREATE TABLE items (id int PRIMARY KEY, e vector({dims}))"),
            vec![],
        );
        let t = Instant::now();
        run(&mut e, s, "BEGIN", vec![]);
        for (id, v) in data.iter().enumerate() {
            run(
                &mut e,
                s,
                "INSERT INTO items VALUES ($1, $2)",
                vec![Value::Int4(id as i32), Value::Vector(v.clone())],
            );
        }
        run(&mut e, s, "COMMIT", vec![]);
        let load = t.elapsed().as_secs_f64();
        let t = Instant::now();
        run(
            &mut e,
            s,
            "CREATE INDEX ON items USING hnsw (e vector_l2_ops) WITH (m = 16, ef_construction = 64)",
            vec![],
        );
        let build = t.elapsed().as_secs_f64();
        let mut cols = String::new();
        for &ef in &efs {
            run(&mut e, s, &format!("SET hnsw.ef_search = {ef}"), vec![]);
            let t = Instant::now();
            let mut hits = 0;
            for (q, truth) in queries.iter().zip(&truth) {
                let rows = run(
                    &mut e,
                    s,
                    "SELECT id FROM items ORDER BY e <-> $1 LIMIT 10",
                    vec![Value::Vector(q.clone())],
                );
                hits += rows
                    .iter()
                    .filter(|r| matches!(r[0], Value::Int4(id) if truth.contains(&id)))
                    .count();
            }
            let ms = t.elapsed().as_secs_f64() * 1000.0 / nq as f64;
            cols += &format!("  {ms:8.3} {:.3}", hits as f64 / (nq * K) as f64);
        }
        let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        println!(
            "{name:<10} {load:7.1} {build:8.1}{cols}  {:8.1}",
            bytes as f64 / f64::from(1 << 20)
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
