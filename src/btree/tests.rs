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

/// Keys over a small alphabet, so that many share long prefixes.
fn random_key(rng: &mut Rng, max: usize) -> Vec<u8> {
    let len = if rng.chance(3) {
        max - rng.below(8) as usize
    } else {
        1 + rng.below(200) as usize
    };
    (0..len)
        .map(|_| b"ab\0\xff"[rng.below(4) as usize])
        .collect()
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
    let mut cursor: Option<(RangeCursor, Bound<Vec<u8>>, Bound<Vec<u8>>, bool)> = None;
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
