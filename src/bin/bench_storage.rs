//! Storage-engine benchmark. Prints, in one run on one file system:
//! - the raw floor: append a commit-sized record + fdatasync, per second;
//! - durable 1-row commits per second (heap insert + commit), and the ratio
//!   to the floor;
//! - bulk insert rows/s (one transaction);
//! - B+tree point lookups/s with a warm pool and with a pool 10x smaller
//!   than the index.
//!
//! Usage: `cargo run --release --bin bench-storage [-- --dir PATH] [--quick]`

use std::path::{Path, PathBuf};
use std::time::Instant;

use neuraldb::btree::BTree;
use neuraldb::heap::{Heap, TupleHeader};
use neuraldb::pager::{Pager, PagerConfig};
use neuraldb::storage::{FileStorage, Storage};
use neuraldb::txn::TxnManager;
use neuraldb::util::Rng;

type BenchResult<T> = Result<T, Box<dyn std::error::Error>>;

struct Args {
    dir: PathBuf,
    quick: bool,
}

fn parse_args() -> Args {
    let mut dir = std::env::temp_dir().join(format!("neuraldb-bench-{}", std::process::id()));
    let mut quick = false;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--dir" => {
                if let Some(d) = it.next() {
                    dir = PathBuf::from(d);
                }
            }
            "--quick" => quick = true,
            other => eprintln!("ignoring unknown argument {other}"),
        }
    }
    Args { dir, quick }
}

fn open(dir: &Path, name: &str, pool_bytes: usize) -> BenchResult<Pager> {
    let data = FileStorage::open(dir.join(format!("{name}.ndb")))?;
    let wal = FileStorage::open(dir.join(format!("{name}.ndb-wal")))?;
    Ok(Pager::open(
        Box::new(data),
        Box::new(wal),
        PagerConfig {
            pool_bytes,
            ..PagerConfig::default()
        },
    )?)
}

fn per_sec(n: u64, secs: f64) -> f64 {
    n as f64 / secs
}

/// Raw floor: the cost of making a small record durable on this medium.
fn raw_floor(dir: &Path, n: u64, record: usize) -> BenchResult<f64> {
    let mut f = FileStorage::open(dir.join("floor.bin"))?;
    f.set_len(0)?;
    let buf = vec![0x5Au8; record];
    let start = Instant::now();
    for i in 0..n {
        f.write_at(i * record as u64, &buf)?;
        f.sync()?;
    }
    Ok(per_sec(n, start.elapsed().as_secs_f64()))
}

fn durable_commits(dir: &Path, n: u64) -> BenchResult<(f64, f64)> {
    let mut pager = open(dir, "commits", 64 << 20)?;
    let mut txns = TxnManager::open(&mut pager)?;
    let mut heap = Heap::create(&mut pager)?;
    txns.commit(&mut pager, &[], true)?;
    let wal_before = pager.wal_stats();
    let row = [7u8; 100];
    let start = Instant::now();
    for _ in 0..n {
        let xid = txns.assign_xid(&mut pager)?;
        heap.insert(&mut pager, TupleHeader::new(xid, 0), &row)?;
        txns.commit(&mut pager, &[xid], true)?;
        if pager.checkpoint_due() {
            pager.checkpoint()?;
        }
    }
    let rate = per_sec(n, start.elapsed().as_secs_f64());
    let w = pager.wal_stats();
    let bytes_per_commit = (w.bytes - wal_before.bytes) as f64 / n as f64;
    Ok((rate, bytes_per_commit))
}

fn bulk_insert(dir: &Path, n: u64) -> BenchResult<f64> {
    let mut pager = open(dir, "bulk", 64 << 20)?;
    let mut txns = TxnManager::open(&mut pager)?;
    let mut heap = Heap::create(&mut pager)?;
    let row = [3u8; 100];
    let start = Instant::now();
    let xid = txns.assign_xid(&mut pager)?;
    for _ in 0..n {
        heap.insert(&mut pager, TupleHeader::new(xid, 0), &row)?;
    }
    txns.commit(&mut pager, &[xid], true)?;
    Ok(per_sec(n, start.elapsed().as_secs_f64()))
}

fn key(i: u64) -> [u8; 8] {
    i.to_be_bytes()
}

/// Builds an index of `n` keys, then measures random point lookups.
fn btree_lookups(dir: &Path, n: u64, lookups: u64) -> BenchResult<(f64, f64, u64)> {
    let mut pager = open(dir, "btree", 256 << 20)?;
    let mut txns = TxnManager::open(&mut pager)?;
    let tree = BTree::create(&mut pager)?;
    let value = [1u8; 6];
    let mut rng = Rng::new(1);
    // Insert in random order so pages are realistically ~70% full.
    let mut order: Vec<u64> = (0..n).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, rng.below(i as u64 + 1) as usize);
    }
    for &i in &order {
        tree.insert(&mut pager, &key(i), &value)?;
    }
    txns.commit(&mut pager, &[], true)?;
    pager.checkpoint()?;
    let index_pages = pager.page_count() as u64;
    let measure = |pager: &mut Pager, rng: &mut Rng| -> BenchResult<f64> {
        let start = Instant::now();
        for _ in 0..lookups {
            let k = rng.below(n);
            if tree.get(pager, &key(k))?.is_none() {
                return Err(format!("key {k} missing").into());
            }
        }
        Ok(per_sec(lookups, start.elapsed().as_secs_f64()))
    };
    // Warm: everything is in the pool.
    measure(&mut pager, &mut rng)?;
    let warm = measure(&mut pager, &mut rng)?;
    drop(pager);
    // Cold-ish: reopen with a pool a tenth of the index size.
    let small = (index_pages as usize * pager_page_size() / 10).max(32 * pager_page_size());
    let mut pager = open(dir, "btree", small)?;
    measure(&mut pager, &mut rng)?;
    let small_rate = measure(&mut pager, &mut rng)?;
    Ok((warm, small_rate, index_pages))
}

fn pager_page_size() -> usize {
    PagerConfig::default().page_size
}

fn main() -> BenchResult<()> {
    let args = parse_args();
    std::fs::create_dir_all(&args.dir)?;
    let scale = if args.quick { 10 } else { 1 };
    println!(
        "NeuralDB storage benchmark (files in {})",
        args.dir.display()
    );

    let floor = raw_floor(&args.dir, 2000 / scale, 256)?;
    let (commits, wal_per_commit) = durable_commits(&args.dir, 2000 / scale)?;
    println!("raw floor (256 B write + fdatasync):   {floor:>12.0} /s");
    println!(
        "durable 1-row commits:                 {commits:>12.0} /s  ({:.2}x the floor, {wal_per_commit:.0} WAL bytes/commit)",
        commits / floor
    );
    let bulk = bulk_insert(&args.dir, 500_000 / scale)?;
    println!("bulk insert, 100-byte rows, 1 txn:    {bulk:>12.0} rows/s");
    let n = 1_000_000 / scale;
    let (warm, small, pages) = btree_lookups(&args.dir, n, 200_000 / scale)?;
    println!(
        "B+tree point lookups, warm pool:       {warm:>12.0} /s  ({n} keys, {} MiB index)",
        (pages * pager_page_size() as u64) >> 20
    );
    println!("B+tree point lookups, pool = index/10: {small:>12.0} /s");
    std::fs::remove_dir_all(&args.dir)?;
    Ok(())
}
