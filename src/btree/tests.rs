use std::collections::BTreeMap;
use std::ops::Bound;

use super::*;
use crate::pager::PagerConfig;
use crate::storage::MemoryStorage;
use crate::util::Rng;

fn pager(page_size: usize, pool_pages: usize) -> Pager {
    Pager::open(
        Box::new(MemoryStorage::new()),
        Box::new(MemoryStorage::new()),
        PagerConfig {
            page_size,
            pool_bytes: pool_pages * page_size,
            checkpoint_wal_bytes: 1 << 20,
        },
    )
    .unwrap()
}

/// Keys over a small alphabet, so that many share long prefixes; most start
/// with a long run of `a`s so that even suffix-truncated separators are
/// long and the tree grows several levels.
fn random_key(rng: &mut Rng, max: usize) -> Vec<u8> {
    let len = if rng.chance(3) {
        max - rng.below(8) as usize
    } else {
        1 + rng.below(200) as usize
    };
    let stem = if rng.chance(70) {
        len.saturating_sub(1 + rng.below(6) as usize)
    } else {
        0
    };
    let mut k = vec![b'a'; stem];
    k.extend((stem..len).map(|_| b"ab\0\xff"[rng.below(4) as usize]));
    k
}

fn random_bound(rng: &mut Rng, max: usize) -> Bound<Vec<u8>> {
    match rng.below(3) {
        0 => Bound::Unbounded,
        1 => Bound::Included(random_key(rng, max)),
        _ => Bound::Excluded(random_key(rng, max)),
    }
}

fn as_ref(b: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    b.as_ref().map(Vec::as_slice)
}

fn model_range(
    model: &BTreeMap<Vec<u8>, Vec<u8>>,
    lo: &Bound<Vec<u8>>,
    hi: &Bound<Vec<u8>>,
    reverse: bool,
    limit: usize,
) -> Vec<Entry> {
    // BTreeMap::range panics on inverted bounds; those ranges are empty.
    let empty = match (lo, hi) {
        (Bound::Included(a), Bound::Included(b)) => a > b,
        (Bound::Included(a) | Bound::Excluded(a), Bound::Included(b) | Bound::Excluded(b)) => {
            a >= b
        }
        _ => false,
    };
    if empty {
        return Vec::new();
    }
    let r = model.range::<Vec<u8>, _>((lo.clone(), hi.clone()));
    let it: Box<dyn Iterator<Item = _>> = if reverse {
        Box::new(r.rev())
    } else {
        Box::new(r)
    };
    it.take(limit)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn value_for(rng: &mut Rng) -> Vec<u8> {
    (0..rng.below(7)).map(|_| rng.next_u64() as u8).collect()
}

fn run_model(seed: u64, page_size: usize) {
    let mut rng = Rng::new(seed);
    let mut p = pager(page_size, 256);
    let free_before = p.free_page_count().unwrap();
    let tree = BTree::create(&mut p).unwrap();
    let max = BTree::max_entry_size(&p) - 6;
    let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    // A cursor kept across modifications, with its bounds and direction.
    type Live = (RangeCursor, Bound<Vec<u8>>, Bound<Vec<u8>>, bool);
    let mut cursor: Option<Live> = None;
    let mut max_height = 0;
    for step in 0..12_000 {
        // Grow first, then churn, then shrink.
        let insert_pct = match step {
            0..=4999 => 80,
            5000..=8999 => 50,
            _ => 10,
        };
        match rng.below(100) {
            x if x < insert_pct => {
                let k = random_key(&mut rng, max);
                let v = value_for(&mut rng);
                if rng.chance(10) {
                    let old = tree.upsert(&mut p, &k, &v).unwrap();
                    assert_eq!(old, model.insert(k, v));
                } else {
                    let fresh = !model.contains_key(&k);
                    assert_eq!(tree.insert(&mut p, &k, &v).unwrap(), fresh);
                    model.entry(k).or_insert(v);
                }
            }
            x if x < 93 => {
                // Mostly delete existing keys.
                let probe = random_key(&mut rng, max);
                let k = model
                    .range(probe.clone()..)
                    .next()
                    .map(|(k, _)| k.clone())
                    .unwrap_or(probe);
                assert_eq!(tree.delete(&mut p, &k).unwrap(), model.remove(&k).is_some());
            }
            x if x < 96 => {
                let k = random_key(&mut rng, max);
                assert_eq!(tree.get(&mut p, &k).unwrap(), model.get(&k).cloned());
            }
            x if x < 98 => {
                let lo = random_bound(&mut rng, max);
                let hi = random_bound(&mut rng, max);
                let reverse = rng.chance(50);
                let limit = 1 + rng.below(300) as usize;
                let got = tree
                    .range(&mut p, as_ref(&lo), as_ref(&hi), reverse, limit)
                    .unwrap();
                assert_eq!(got, model_range(&model, &lo, &hi, reverse, limit));
            }
            _ => {
                // Advance (or start) a cursor that lives across modifications.
                let (c, lo, hi, reverse) = cursor.get_or_insert_with(|| {
                    let lo = random_bound(&mut rng, max);
                    let hi = random_bound(&mut rng, max);
                    let reverse = rng.chance(50);
                    (
                        RangeCursor::new(as_ref(&lo), as_ref(&hi), reverse),
                        lo,
                        hi,
                        reverse,
                    )
                });
                let limit = 1 + rng.below(20) as usize;
                let (mut elo, mut ehi) = (lo.clone(), hi.clone());
                if let Some(last) = c.last_key() {
                    if *reverse {
                        ehi = Bound::Excluded(last.to_vec());
                    } else {
                        elo = Bound::Excluded(last.to_vec());
                    }
                }
                let want = model_range(&model, &elo, &ehi, *reverse, limit);
                let got = c.next_batch(&tree, &mut p, limit).unwrap();
                assert_eq!(got, want);
                if c.is_done() {
                    cursor = None;
                }
            }
        }
        if step % 500 == 0 {
            tree.check(&mut p).unwrap();
            max_height = max_height.max(height(&tree, &mut p));
        }
    }
    tree.check(&mut p).unwrap();
    assert_eq!(tree.len(&mut p).unwrap(), model.len() as u64);
    assert!(max_height >= 3, "tree only reached height {max_height}");
    let all = tree
        .range(
            &mut p,
            Bound::Unbounded,
            Bound::Unbounded,
            false,
            usize::MAX,
        )
        .unwrap();
    assert_eq!(
        all,
        model_range(
            &model,
            &Bound::Unbounded,
            &Bound::Unbounded,
            false,
            usize::MAX
        )
    );

    // Delete everything: the tree shrinks back to one empty leaf.
    let keys: Vec<Vec<u8>> = model.keys().cloned().collect();
    for (i, k) in keys.iter().enumerate() {
        assert!(tree.delete(&mut p, k).unwrap());
        if i % 300 == 0 {
            tree.check(&mut p).unwrap();
        }
    }
    tree.check(&mut p).unwrap();
    assert!(tree.is_empty(&mut p).unwrap());
    assert_eq!(tree.pages(&mut p).unwrap().len(), 2, "root leaf + meta");
    tree.destroy(&mut p).unwrap();
    assert!(p.free_page_count().unwrap() > free_before);
}

fn height(tree: &BTree, p: &mut Pager) -> u16 {
    let root = tree.root(p).unwrap();
    p.read(root, |d| node::header(d, root))
        .unwrap()
        .unwrap()
        .level
        + 1
}

#[test]
fn model_small_pages() {
    for seed in 1..=3 {
        run_model(seed, 4096);
    }
}

#[test]
fn model_default_pages() {
    run_model(42, 8192);
}

#[test]
fn model_smallest_pages() {
    run_model(9, crate::pager::page::MIN_PAGE_SIZE);
}

#[test]
fn too_large_entries_are_rejected() {
    let mut p = pager(4096, 64);
    let tree = BTree::create(&mut p).unwrap();
    let max = BTree::max_entry_size(&p);
    assert!(
        max >= 900,
        "a 4 KiB page should take keys near 1 KiB, got {max}"
    );
    assert!(tree.insert(&mut p, &vec![7; max - 2], b"vv").unwrap());
    let err = tree.insert(&mut p, &vec![8; max], b"v").unwrap_err();
    assert!(matches!(
        err,
        PagerError::TooLarge {
            what: "index key",
            ..
        }
    ));
    assert_eq!(err.sqlstate().0, "54000");
    // Four maximal entries in each node: splits still work.
    for i in 0..40u8 {
        let mut k = vec![i; max - 2];
        k[1] = 0; // differs from the first key when i == 7
        tree.insert(&mut p, &k, b"vv").unwrap();
    }
    tree.check(&mut p).unwrap();
    assert_eq!(tree.len(&mut p).unwrap(), 41);
}

#[test]
fn empty_tree_scans_and_cursor_prefix() {
    let mut p = pager(4096, 64);
    let tree = BTree::create(&mut p).unwrap();
    assert!(tree.is_empty(&mut p).unwrap());
    assert!(!tree.delete(&mut p, b"x").unwrap());
    assert_eq!(tree.get(&mut p, b"x").unwrap(), None);
    for k in [
        &b"ab"[..],
        b"abc",
        b"abd",
        b"ac",
        b"b",
        b"\xff\xff",
        b"\xff\xff\x01",
    ] {
        tree.insert(&mut p, k, b"").unwrap();
    }
    let keys = |c: &mut RangeCursor, p: &mut Pager| -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        loop {
            let b = c.next_batch(&tree, p, 1).unwrap();
            if b.is_empty() {
                assert!(c.is_done());
                return out;
            }
            out.extend(b.into_iter().map(|(k, _)| k));
        }
    };
    let mut c = RangeCursor::prefix(b"ab", false);
    assert_eq!(
        keys(&mut c, &mut p),
        vec![b"ab".to_vec(), b"abc".to_vec(), b"abd".to_vec()]
    );
    let mut c = RangeCursor::prefix(b"ab", true);
    assert_eq!(
        keys(&mut c, &mut p),
        vec![b"abd".to_vec(), b"abc".to_vec(), b"ab".to_vec()]
    );
    let mut c = RangeCursor::prefix(b"\xff\xff", false);
    assert_eq!(keys(&mut c, &mut p).len(), 2);
}

#[test]
fn index_entries_with_tids() {
    use super::key::{encode_key, KeyValue};
    let mut p = pager(4096, 64);
    let idx = Index::create(&mut p).unwrap();
    let k = |a: i64, b: &str| encode_key(&[KeyValue::Int(a), KeyValue::Text(b.into())], &[]);
    let tid = |page, slot| Tid { page, slot };
    for i in 0..300u32 {
        let key = k(i64::from(i % 7) - 3, ["x", "xy", ""][i as usize % 3]);
        assert!(idx
            .insert_entry(&mut p, &key, tid(i, (i % 5) as u16))
            .unwrap());
    }
    assert!(
        !idx.insert_entry(&mut p, &k(-3, "x"), tid(0, 0)).unwrap(),
        "exact duplicate"
    );
    idx.tree().check(&mut p).unwrap();
    // Full-key lookups (unique checks): same columns, TIDs ascending.
    let tids = idx.entries_with_key(&mut p, &k(-3, "x")).unwrap();
    let want: Vec<Tid> = (0..300u32)
        .filter(|i| i % 7 == 0 && i % 3 == 0)
        .map(|i| tid(i, (i % 5) as u16))
        .collect();
    assert_eq!(tids, want);
    // "x" is a byte prefix of "xy" but not a column prefix of it.
    assert!(tids.iter().all(|t| t.page % 3 == 0));
    // Prefix on the first column only, reversed.
    let first = encode_key(&[KeyValue::Int(2)], &[]);
    let got = idx.scan_prefix(&mut p, &first, true, usize::MAX).unwrap();
    assert_eq!(got.len(), (0..300).filter(|i| i % 7 == 5).count());
    assert!(got.windows(2).all(|w| w[0] > w[1]));
    assert!(idx.delete_entry(&mut p, &k(-3, "x"), tid(0, 0)).unwrap());
    assert!(!idx.delete_entry(&mut p, &k(-3, "x"), tid(0, 0)).unwrap());
    assert_eq!(
        idx.entries_with_key(&mut p, &k(-3, "x")).unwrap().len(),
        want.len() - 1
    );
    let too_big = vec![1u8; Index::max_key_size(&p) + 1];
    assert!(matches!(
        idx.insert_entry(&mut p, &too_big, tid(1, 1)),
        Err(PagerError::TooLarge { .. })
    ));
    assert_eq!(
        Tid::from_bytes(&tid(0x0102_0304, 0x0506).to_bytes()),
        Some(tid(0x0102_0304, 0x0506))
    );
    assert_eq!(split_entry_key(b"abc"), None);
}

fn big_key(i: u64) -> Vec<u8> {
    // Spread the inserts over the key space; pad to make the tree big.
    let mut k = i.wrapping_mul(0x9E37_79B9_7F4A_7C15).to_be_bytes().to_vec();
    k.extend_from_slice(&[b'p'; 64]);
    k
}

#[test]
fn tree_ten_times_the_pool_survives_checkpoint_and_reopen() {
    use crate::storage::FileStorage;
    let dir = std::env::temp_dir().join(format!("neuraldb-btree-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (data, wal) = (dir.join("big.db"), dir.join("big.wal"));
    let _ = std::fs::remove_file(&data);
    let _ = std::fs::remove_file(&wal);
    let config = PagerConfig {
        page_size: 4096,
        pool_bytes: 64 * 4096,
        checkpoint_wal_bytes: 1 << 20,
    };
    let open = |config: &PagerConfig| {
        Pager::open(
            Box::new(FileStorage::open(&data).unwrap()),
            Box::new(FileStorage::open(&wal).unwrap()),
            config.clone(),
        )
        .unwrap()
    };
    let n = 30_000u64;
    let meta = {
        let mut p = open(&config);
        let tree = BTree::create(&mut p).unwrap();
        for i in 0..n {
            assert!(tree.insert(&mut p, &big_key(i), &i.to_le_bytes()).unwrap());
            if i % 5000 == 0 {
                p.commit(false).unwrap();
            }
        }
        assert!(p.page_count() > 640, "only {} pages", p.page_count());
        for i in (0..n).step_by(7) {
            assert_eq!(
                tree.get(&mut p, &big_key(i)).unwrap(),
                Some(i.to_le_bytes().to_vec())
            );
        }
        p.checkpoint().unwrap();
        // Delete a third after the checkpoint; commit makes it durable.
        for i in (0..n).step_by(3) {
            assert!(tree.delete(&mut p, &big_key(i)).unwrap());
        }
        p.commit(true).unwrap();
        tree.meta_page()
    };
    let mut p = open(&config);
    let tree = BTree::open(meta);
    tree.check(&mut p).unwrap();
    assert_eq!(tree.len(&mut p).unwrap(), n - n.div_ceil(3));
    for i in (0..n).step_by(5) {
        let want = (i % 3 != 0).then(|| i.to_le_bytes().to_vec());
        assert_eq!(tree.get(&mut p, &big_key(i)).unwrap(), want);
    }
    let mut c = RangeCursor::new(Bound::Unbounded, Bound::Unbounded, true);
    let mut seen = 0u64;
    let mut prev: Option<Vec<u8>> = None;
    loop {
        let batch = c.next_batch(&tree, &mut p, 1000).unwrap();
        for (k, _) in &batch {
            assert!(prev.as_ref().is_none_or(|pk| k < pk));
            prev = Some(k.clone());
        }
        seen += batch.len() as u64;
        if c.is_done() {
            break;
        }
    }
    assert_eq!(seen, n - n.div_ceil(3));
    drop(p);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Overwrites parts of one node with garbage and runs every operation: each
/// must return (Ok or Err), never panic.
#[test]
fn corrupt_nodes_give_errors_not_panics() {
    let mut rng = Rng::new(99);
    let mut errors = 0;
    for trial in 0..300 {
        let mut p = pager(4096, 64);
        let tree = BTree::create(&mut p).unwrap();
        for i in 0..400u32 {
            let k = (i.wrapping_mul(2_654_435_761))
                .to_be_bytes()
                .repeat(1 + (i % 5) as usize);
            tree.insert(&mut p, &k, &i.to_le_bytes()).unwrap();
        }
        let pages = tree.pages(&mut p).unwrap();
        // Any node, or the meta page (last).
        let victim = pages[rng.below(pages.len() as u64) as usize];
        let ps = p.page_size();
        p.write(victim, |d| match trial % 4 {
            // Random bytes everywhere after the kind byte.
            0 => d[5..].iter_mut().for_each(|b| *b = rng.next_u64() as u8),
            // Random node header fields.
            1 => d[5..32].iter_mut().for_each(|b| *b = rng.next_u64() as u8),
            // Random slots.
            2 => d[32..96].iter_mut().for_each(|b| *b = rng.next_u64() as u8),
            // Random bytes in the cell area.
            _ => {
                for _ in 0..20 {
                    let at = ps - 1 - rng.below(1500) as usize;
                    d[at] = rng.next_u64() as u8;
                }
            }
        })
        .unwrap();
        let probe = 7u32.to_be_bytes().repeat(3);
        let results = [
            tree.check(&mut p).is_err(),
            tree.get(&mut p, &probe).is_err(),
            tree.range(
                &mut p,
                Bound::Unbounded,
                Bound::Unbounded,
                false,
                usize::MAX,
            )
            .is_err(),
            tree.range(
                &mut p,
                Bound::Unbounded,
                Bound::Included(&probe),
                true,
                usize::MAX,
            )
            .is_err(),
            tree.len(&mut p).is_err(),
        ];
        errors += results.iter().filter(|&&e| e).count();
        for i in 0..200u32 {
            let k = (i.wrapping_mul(40_503))
                .to_be_bytes()
                .repeat(1 + (i % 9) as usize);
            if tree.insert(&mut p, &k, b"v").is_err() {
                errors += 1;
            }
            if i % 2 == 0 && tree.delete(&mut p, &k).is_err() {
                errors += 1;
            }
        }
        let _ = tree.destroy(&mut p);
    }
    assert!(
        errors > 300,
        "corruption was rarely detected ({errors} errors)"
    );
}

/// A storage handle shared between the pager and the test, so that the test
/// can take a crash image of the file the pager is writing.
struct Shared(std::rc::Rc<std::cell::RefCell<crate::storage::FaultyStorage>>);

impl crate::storage::Storage for Shared {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize, crate::storage::StorageError> {
        self.0.borrow().read_at(offset, buf)
    }
    fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<(), crate::storage::StorageError> {
        self.0.borrow_mut().write_at(offset, data)
    }
    fn len(&self) -> Result<u64, crate::storage::StorageError> {
        self.0.borrow().len()
    }
    fn set_len(&mut self, len: u64) -> Result<(), crate::storage::StorageError> {
        self.0.borrow_mut().set_len(len)
    }
    fn sync(&mut self) -> Result<(), crate::storage::StorageError> {
        self.0.borrow_mut().sync()
    }
}

#[derive(Clone)]
enum Op {
    Insert(Vec<u8>),
    Delete(Vec<u8>),
}

/// Crashes the machine at many points of a workload of splits and merges
/// with a small pool (evictions, checkpoints) and checks that recovery
/// always yields a valid tree holding the state after some prefix of the
/// operations that includes every committed one: splits and merges are
/// never half logged.
#[test]
fn crash_recovery_never_sees_half_an_operation() {
    use crate::storage::{CrashMode, FaultController, FaultyStorage};
    use std::cell::RefCell;
    use std::rc::Rc;
    let config = PagerConfig {
        page_size: 4096,
        pool_bytes: 64 * 4096,
        checkpoint_wal_bytes: 256 << 10,
    };
    let ops: Vec<Op> = {
        let mut rng = Rng::new(5);
        let mut live: Vec<Vec<u8>> = Vec::new();
        (0..5000)
            .map(|i| {
                if i < 3000 || rng.chance(50) || live.is_empty() {
                    let k = random_key(&mut rng, 600);
                    live.push(k.clone());
                    Op::Insert(k)
                } else {
                    Op::Delete(live.swap_remove(rng.below(live.len() as u64) as usize))
                }
            })
            .collect()
    };
    let apply = |m: &mut BTreeMap<Vec<u8>, Vec<u8>>, op: &Op| match op {
        Op::Insert(k) => {
            m.entry(k.clone()).or_insert_with(|| k[..1].to_vec());
        }
        Op::Delete(k) => {
            m.remove(k);
        }
    };
    // Runs the workload until the crash; returns the files, the meta page,
    // the index of the first op after the last commit and the ops done.
    let run = |crash_at: Option<u64>| {
        let ctl = FaultController::new(11);
        let data = Rc::new(RefCell::new(FaultyStorage::new(&ctl, Vec::new())));
        let wal = Rc::new(RefCell::new(FaultyStorage::new(&ctl, Vec::new())));
        let mut p = Pager::open(
            Box::new(Shared(data.clone())),
            Box::new(Shared(wal.clone())),
            config.clone(),
        )
        .unwrap();
        let tree = BTree::create(&mut p).unwrap();
        p.commit(true).unwrap();
        if let Some(n) = crash_at {
            ctl.crash_at_call(ctl.calls() + n);
        }
        let (mut committed, mut done) = (0, 0);
        for (i, op) in ops.iter().enumerate() {
            let r = match op {
                Op::Insert(k) => tree.insert(&mut p, k, &k[..1]).map(drop),
                Op::Delete(k) => tree.delete(&mut p, k).map(drop),
            };
            if r.is_err() {
                break;
            }
            done = i + 1;
            if i % 40 == 39 {
                if p.commit(true).is_err() {
                    break;
                }
                committed = done;
            }
        }
        (ctl, data, wal, tree.meta_page(), committed, done)
    };
    let (ctl, data, ..) = run(None);
    let total_calls = ctl.calls();
    let file_pages = data.borrow().current_bytes().len() / config.page_size;
    assert!(
        file_pages > 2 * 64,
        "tree of {file_pages} pages is too small to evict"
    );
    let mut rng = Rng::new(17);
    for trial in 0..40u64 {
        let crash_at = 1 + rng.below(total_calls);
        let (_, data, wal, meta, committed, done) = run(Some(crash_at));
        let mode = [
            CrashMode::DropUnsynced,
            CrashMode::TearLast,
            CrashMode::Reorder,
        ][trial as usize % 3];
        let data = data.borrow().crash_image(mode);
        let wal = wal.borrow().crash_image(mode);
        let mut p = Pager::open(
            Box::new(MemoryStorage::from_bytes(data)),
            Box::new(MemoryStorage::from_bytes(wal)),
            config.clone(),
        )
        .unwrap();
        let tree = BTree::open(meta);
        tree.check(&mut p).unwrap();
        let got = tree
            .range(
                &mut p,
                Bound::Unbounded,
                Bound::Unbounded,
                false,
                usize::MAX,
            )
            .unwrap();
        let mut model = BTreeMap::new();
        ops[..committed].iter().for_each(|op| apply(&mut model, op));
        let mut matched = false;
        for i in committed..=done.min(ops.len()) {
            if i > committed {
                apply(&mut model, &ops[i - 1]);
            }
            if got.len() == model.len()
                && got
                    .iter()
                    .zip(&model)
                    .all(|((k, v), (mk, mv))| k == mk && v == mv)
            {
                matched = true;
                break;
            }
        }
        assert!(
            matched,
            "crash at call {crash_at} ({committed}..={done} ops): no prefix matches"
        );
    }
}

/// The tree is well formed and holds exactly `model`.
fn assert_tree_is(tree: &BTree, p: &mut Pager, model: &BTreeMap<Vec<u8>, Vec<u8>>) {
    tree.check(p).unwrap();
    let all = tree
        .range(p, Bound::Unbounded, Bound::Unbounded, false, usize::MAX)
        .unwrap();
    assert_eq!(all, model.clone().into_iter().collect::<Vec<_>>());
}

/// `delete_sorted` and `remove_where` against a model: batches of present
/// and absent keys, dense and sparse, some listing a key twice, until the
/// tree is empty; the tree stays well formed, agrees with the model, and
/// every page is given back.
#[test]
fn batch_removals_match_the_model() {
    for (seed, page_size) in [(3, crate::pager::page::MIN_PAGE_SIZE), (4, 4096)] {
        let mut rng = Rng::new(seed);
        let mut p = pager(page_size, 256);
        let free_before = p.free_page_count().unwrap();
        let tree = BTree::create(&mut p).unwrap();
        let max = BTree::max_entry_size(&p) - 6;
        let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
        for _ in 0..4000 {
            let k = random_key(&mut rng, max);
            let v = value_for(&mut rng);
            if tree.insert(&mut p, &k, &v).unwrap() {
                model.insert(k, v);
            }
        }
        let mut round = 0;
        while !model.is_empty() {
            round += 1;
            // Every n-th present key, a run of neighbours, and absent keys.
            let step = [1, 2, 7, 3][(round / 2) % 4];
            let mut batch: Vec<Vec<u8>> = model.keys().step_by(step).cloned().collect();
            batch.truncate(if round % 3 == 0 { 50 } else { 1500 });
            for _ in 0..20 {
                batch.push(random_key(&mut rng, max));
            }
            batch.sort();
            batch.dedup();
            let present = batch.iter().filter(|k| model.contains_key(*k)).count();
            // A key listed twice is removed once.
            if round % 2 == 0 {
                if let Some(k) = batch.first().cloned() {
                    batch.insert(0, k);
                }
            }
            // Every other round, the leaf walk removes the batch instead.
            if round % 2 == 1 {
                let set: std::collections::HashSet<&[u8]> =
                    batch.iter().map(|k| k.as_slice()).collect();
                assert_eq!(
                    tree.remove_where(&mut p, |k| set.contains(k)).unwrap(),
                    present
                );
            } else {
                assert_eq!(tree.delete_sorted(&mut p, &batch).unwrap(), present);
            }
            for k in &batch {
                model.remove(k);
            }
            assert_tree_is(&tree, &mut p, &model);
        }
        assert!(round >= 8, "several batches of each kind: {round}");
        assert_eq!(tree.pages(&mut p).unwrap().len(), 2, "root leaf + meta");
        tree.destroy(&mut p).unwrap();
        assert!(p.free_page_count().unwrap() > free_before);
    }
}

/// `insert_sorted` against a model: sorted batches, dense and sparse,
/// of new keys, keys already present and keys listed twice, into a tree
/// also growing by single inserts; the tree stays well formed and agrees
/// with the model, and the count is that of new keys.
#[test]
fn sorted_batch_inserts_match_the_model() {
    for (seed, page_size) in [(5, crate::pager::page::MIN_PAGE_SIZE), (6, 4096)] {
        let mut rng = Rng::new(seed);
        let mut p = pager(page_size, 256);
        let tree = BTree::create(&mut p).unwrap();
        let max = BTree::max_entry_size(&p) - 6;
        let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
        for round in 0..12 {
            let mut batch: Vec<Vec<u8>> = (0..[1, 40, 700, 2500][round % 4])
                .map(|_| random_key(&mut rng, max))
                .collect();
            // Present keys, and keys repeated within the batch.
            batch.extend(model.keys().step_by(5).take(30).cloned());
            if let Some(k) = batch.first().cloned() {
                batch.push(k);
            }
            batch.sort();
            let new: std::collections::BTreeSet<&Vec<u8>> =
                batch.iter().filter(|k| !model.contains_key(*k)).collect();
            let expected = new.len();
            assert_eq!(
                tree.insert_sorted(&mut p, &batch).unwrap(),
                expected,
                "round {round}"
            );
            for k in batch {
                model.insert(k, Vec::new());
            }
            for _ in 0..50 {
                let k = random_key(&mut rng, max);
                if tree.insert(&mut p, &k, &[]).unwrap() {
                    model.insert(k, Vec::new());
                }
            }
            assert_tree_is(&tree, &mut p, &model);
        }
        assert!(model.len() > 8000, "several levels: {} keys", model.len());
    }
}

/// Ascending inserts (serials, an index built in TID order) leave nodes
/// 90% full, not half full: the tree is smaller than one of the same keys
/// inserted at random (about 70% full).
#[test]
fn ascending_inserts_pack_nodes() {
    let keys: Vec<Vec<u8>> = (0..20_000u32)
        .map(|i| format!("key{i:08}").into_bytes())
        .collect();
    let pages = |order: &[usize]| {
        let mut p = pager(4096, 256);
        let tree = BTree::create(&mut p).unwrap();
        for &i in order {
            assert!(tree.insert(&mut p, &keys[i], b"v").unwrap());
        }
        tree.check(&mut p).unwrap();
        let all = tree
            .range(
                &mut p,
                Bound::Unbounded,
                Bound::Unbounded,
                false,
                usize::MAX,
            )
            .unwrap();
        assert_eq!(all.len(), keys.len());
        tree.pages(&mut p).unwrap().len()
    };
    let ascending = pages(&(0..keys.len()).collect::<Vec<_>>());
    let mut rng = Rng::new(7);
    let mut shuffled: Vec<usize> = (0..keys.len()).collect();
    for i in (1..shuffled.len()).rev() {
        shuffled.swap(i, rng.below(i as u64 + 1) as usize);
    }
    let random = pages(&shuffled);
    assert!(
        ascending * 100 < random * 85,
        "ascending {ascending} pages, random {random}"
    );
}

/// `load_sorted` fills an empty tree bottom up: the tree is well formed
/// (`check`: order, separators, levels, sibling links, byte accounting),
/// holds exactly the keys, and takes inserts and deletes afterwards. It
/// declines a tree that is not empty, keys out of order, and a load too
/// big for the buffer pool.
#[test]
fn load_sorted_builds_a_well_formed_tree() {
    use crate::pager::page::MIN_PAGE_SIZE;
    let all_keys = |tree: &BTree, p: &mut Pager| -> Vec<Vec<u8>> {
        tree.range(p, Bound::Unbounded, Bound::Unbounded, false, usize::MAX)
            .unwrap()
            .into_iter()
            .map(|(k, _)| k)
            .collect()
    };
    for (seed, page_size, n) in [
        (5, MIN_PAGE_SIZE, 1),
        (6, MIN_PAGE_SIZE, 3000),
        (7, 4096, 20_000),
        (8, 4096, 2),
        (9, 8192, 60_000),
    ] {
        let mut rng = Rng::new(seed);
        let mut p = pager(page_size, 8192);
        let tree = BTree::create(&mut p).unwrap();
        let max = BTree::max_entry_size(&p);
        let mut keys: Vec<Vec<u8>> = (0..n)
            .map(|i| {
                if seed == 9 {
                    // Index-like keys: a short column value and a TID.
                    format!("{:08}{:06}", i % 5000, i).into_bytes()
                } else {
                    random_key(&mut rng, max)
                }
            })
            .collect();
        keys.sort();
        keys.dedup();
        assert!(tree.load_sorted(&mut p, &keys).unwrap(), "seed {seed}");
        tree.check(&mut p).unwrap();
        assert_eq!(all_keys(&tree, &mut p), keys);
        assert!(!tree.load_sorted(&mut p, &keys).unwrap(), "not empty");
        let mut model: std::collections::BTreeSet<Vec<u8>> = keys.into_iter().collect();
        for _ in 0..300 {
            let k = random_key(&mut rng, max);
            if tree.insert(&mut p, &k, &[]).unwrap() {
                model.insert(k);
            }
        }
        let gone: Vec<Vec<u8>> = model.iter().step_by(3).cloned().collect();
        for k in &gone {
            assert!(tree.delete(&mut p, k).unwrap());
            model.remove(k);
        }
        tree.check(&mut p).unwrap();
        assert_eq!(
            all_keys(&tree, &mut p),
            model.into_iter().collect::<Vec<_>>()
        );
    }
    let mut p = pager(4096, 16);
    let tree = BTree::create(&mut p).unwrap();
    let keys: Vec<Vec<u8>> = (0..3u32).map(|i| i.to_be_bytes().to_vec()).collect();
    let backwards: Vec<Vec<u8>> = keys.iter().rev().cloned().collect();
    assert!(
        !tree.load_sorted(&mut p, &backwards).unwrap(),
        "out of order"
    );
    let many: Vec<Vec<u8>> = (0..20_000u32).map(|i| i.to_be_bytes().to_vec()).collect();
    assert!(
        !tree.load_sorted(&mut p, &many).unwrap(),
        "too big for the pool"
    );
    assert!(tree.is_empty(&mut p).unwrap());
    assert!(tree.load_sorted(&mut p, &keys).unwrap());
    assert_eq!(all_keys(&tree, &mut p), keys);
}
