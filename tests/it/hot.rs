//! Heap-only (HOT) updates: what they save, what old snapshots see through
//! the indexes, and what survives a crash in the middle of pruning or of
//! CREATE INDEX breaking chains up.

use neuraldb::engine::{Engine, EngineConfig, SessionId};
use neuraldb::storage::{CrashMode, FaultController, FaultyStorage};
use neuraldb::util::Rng;
use neuraldb::value::Value;
use std::collections::BTreeMap;

fn rows(e: &mut Engine, s: SessionId, sql: &str) -> Vec<Vec<Value>> {
    e.execute(s, sql, vec![])
        .unwrap_or_else(|err| panic!("{sql}: {err}"))
        .pop()
        .expect("one result")
        .rows
}

fn text(v: &Value) -> String {
    v.to_pg_text(&neuraldb::value::tz::TimeZone::utc())
        .unwrap_or_else(|| "NULL".into())
}

fn int(v: &Value) -> i64 {
    match v {
        Value::Int2(x) => i64::from(*x),
        Value::Int4(x) => i64::from(*x),
        Value::Int8(x) => *x,
        other => panic!("not an integer: {other:?}"),
    }
}

/// (heap bytes, index bytes) of `hu`.
fn sizes(e: &mut Engine, s: SessionId) -> (i64, i64) {
    let r = rows(
        e,
        s,
        "SELECT pg_relation_size('hu'), pg_relation_size('hu_k') + pg_relation_size('hu_pkey')",
    );
    (int(&r[0][0]), int(&r[0][1]))
}

/// Updates of a column no index covers add no index entries when their
/// page has room, and with VACUUM between them (cutting dead roots down to
/// redirects) they keep reusing it: neither the table nor its indexes
/// grow from round to round.
#[test]
fn hot_updates_keep_table_and_indexes_from_growing() {
    let mut e = Engine::open_memory().expect("opens");
    let s = e.connect();
    e.execute(
        s,
        "CREATE TABLE hu (id int PRIMARY KEY, k int, n int, note text); \
         CREATE INDEX hu_k ON hu (k); \
         INSERT INTO hu SELECT g, g % 10, 0, 'note ' || g FROM generate_series(1, 4000) g",
        vec![],
    )
    .expect("loads");
    e.execute(s, "DELETE FROM hu WHERE id % 2 = 0", vec![])
        .expect("deletes");
    e.execute(s, "VACUUM hu", vec![]).expect("vacuums");
    let before = sizes(&mut e, s);
    let mut seen = Vec::new();
    for round in 0..30 {
        e.execute(s, "UPDATE hu SET n = n + 1", vec![])
            .expect("updates");
        if round == 0 {
            // Every page had room for its rows' new versions: no index
            // entry was added (2,000 would take several pages).
            assert_eq!(sizes(&mut e, s).1, before.1, "index bytes");
        }
        e.execute(s, "VACUUM hu", vec![]).expect("vacuums");
        seen.push(sizes(&mut e, s));
        let r = rows(&mut e, s, "SELECT count(*), sum(n) FROM hu WHERE k = 3");
        assert_eq!(
            (int(&r[0][0]), int(&r[0][1])),
            (400, 400 * (round + 1)),
            "round {round}"
        );
    }
    // Redirects and reused room keep both sizes steady.
    assert!(
        seen[1..].iter().all(|x| x.0 == seen[1].0) && seen[15..].iter().all(|x| *x == seen[15]),
        "sizes by round: {seen:?}"
    );
}

/// A freshly loaded table's pages are full, so its first updates cannot
/// be heap-only and add index entries; with `WITH (fillfactor = 70)` the
/// room inserts leave takes them, and the indexes do not grow.
#[test]
fn fillfactor_leaves_room_for_hot_updates() {
    let mut index_growth = Vec::new();
    for with in ["", "WITH (fillfactor = 70)"] {
        let mut e = Engine::open_memory().expect("opens");
        let s = e.connect();
        e.execute(
            s,
            &format!(
                "CREATE TABLE hu (id int PRIMARY KEY, k int, n int, note text) {with}; \
                 CREATE INDEX hu_k ON hu (k); \
                 INSERT INTO hu SELECT g, g % 10, 0, 'note ' || g FROM generate_series(1, 4000) g"
            ),
            vec![],
        )
        .expect("loads");
        let before = sizes(&mut e, s);
        e.execute(s, "UPDATE hu SET n = n + 1 WHERE id % 5 = 0", vec![])
            .expect("updates");
        let after = sizes(&mut e, s);
        let r = rows(&mut e, s, "SELECT count(*), sum(n) FROM hu WHERE k = 5");
        assert_eq!((int(&r[0][0]), int(&r[0][1])), (400, 400), "{with}");
        index_growth.push(after.1 - before.1);
    }
    assert!(index_growth[0] > 0, "{index_growth:?}");
    assert_eq!(index_growth[1], 0, "{index_growth:?}");
}

/// A REPEATABLE READ snapshot keeps reading the version it sees through
/// every index while another session HOT-updates the row, VACUUM prunes
/// what it can, and CREATE INDEX gives the chain's versions entries of
/// their own; once it ends, VACUUM cuts the chains down to redirects and
/// the newest versions are still found.
#[test]
fn old_snapshots_see_hot_chains_through_indexes() {
    let mut e = Engine::open_memory().expect("opens");
    let (a, b) = (e.connect(), e.connect());
    e.execute(
        a,
        "CREATE TABLE hu (id int PRIMARY KEY, k int, note text); \
         CREATE INDEX hu_k ON hu (k); \
         INSERT INTO hu SELECT g, g % 5, 'v0' FROM generate_series(1, 50) g; \
         SET enable_seqscan = off",
        vec![],
    )
    .expect("loads");
    e.execute(b, "SET enable_seqscan = off", vec![])
        .expect("sets");
    let by_key = |e: &mut Engine, s: SessionId, sql: &str| -> Vec<String> {
        rows(e, s, sql)
            .iter()
            .map(|r| r.iter().map(text).collect::<Vec<_>>().join(" "))
            .collect()
    };
    e.execute(a, "UPDATE hu SET note = 'v1' WHERE k = 2", vec![])
        .expect("updates");
    e.execute(b, "BEGIN ISOLATION LEVEL REPEATABLE READ", vec![])
        .expect("begins");
    assert_eq!(
        by_key(&mut e, b, "SELECT note FROM hu WHERE id = 7"),
        ["v1"]
    );
    for v in ["v2", "v3", "v4"] {
        e.execute(
            a,
            &format!("UPDATE hu SET note = '{v}' WHERE k = 2"),
            vec![],
        )
        .expect("updates");
        e.execute(a, "VACUUM hu", vec![]).expect("vacuums");
    }
    let old = "SELECT id, note FROM hu WHERE k = 2 AND id < 20 ORDER BY id";
    assert_eq!(by_key(&mut e, b, old), ["2 v1", "7 v1", "12 v1", "17 v1"]);
    assert_eq!(by_key(&mut e, a, old), ["2 v4", "7 v4", "12 v4", "17 v4"]);
    // Unique checks see the live version at the end of the chain.
    let err = e
        .execute(a, "INSERT INTO hu VALUES (7, 0, 'dup')", vec![])
        .expect_err("duplicate");
    assert_eq!(err.sqlstate().as_str(), "23505");
    // An index on the column the chains changed: b still finds its
    // version by the value it sees, a by the newest.
    e.execute(a, "CREATE INDEX hu_note ON hu (note)", vec![])
        .expect("creates the index");
    assert_eq!(
        by_key(&mut e, b, "SELECT id FROM hu WHERE note = 'v1' ORDER BY id"),
        ["2", "7", "12", "17", "22", "27", "32", "37", "42", "47"]
    );
    assert_eq!(
        by_key(&mut e, a, "SELECT count(*) FROM hu WHERE note = 'v4'"),
        ["10"]
    );
    assert_eq!(
        by_key(&mut e, a, "SELECT count(*) FROM hu WHERE note = 'v1'"),
        ["0"]
    );
    e.execute(b, "COMMIT", vec![]).expect("commits");
    // More HOT updates, now also under the new index's eye (note changes,
    // so these are not heap-only; n-less rows keep k and id).
    e.execute(a, "UPDATE hu SET k = k WHERE k = 2", vec![])
        .expect("updates");
    e.execute(a, "VACUUM hu", vec![]).expect("vacuums");
    assert_eq!(by_key(&mut e, a, old), ["2 v4", "7 v4", "12 v4", "17 v4"]);
    assert_eq!(
        by_key(&mut e, a, "SELECT count(*) FROM hu WHERE note = 'v4'"),
        ["10"]
    );
    // Deleting a row whose chain was redirected removes all of it, entries
    // included: the key can be inserted again and is found once.
    e.execute(a, "DELETE FROM hu WHERE id = 7", vec![])
        .expect("deletes");
    e.execute(a, "VACUUM hu", vec![]).expect("vacuums");
    e.execute(a, "INSERT INTO hu VALUES (7, 2, 'again')", vec![])
        .expect("inserts");
    assert_eq!(
        by_key(&mut e, a, "SELECT note FROM hu WHERE id = 7"),
        ["again"]
    );
    assert_eq!(
        by_key(&mut e, a, old),
        ["2 v4", "7 again", "12 v4", "17 v4"]
    );
    e.execute(a, "RESET enable_seqscan", vec![])
        .expect("resets");
    assert_eq!(
        by_key(
            &mut e,
            a,
            "SELECT count(*), count(DISTINCT id) FROM hu WHERE k = 2"
        ),
        ["10 10"]
    );
}

type Table = BTreeMap<i64, (i64, String)>;

fn read_table(e: &mut Engine, s: SessionId, sql: &str) -> Result<Table, String> {
    let r = e
        .execute(s, sql, vec![])
        .map_err(|err| format!("{sql}: {err}"))?;
    let mut out = Table::new();
    for row in &r[0].rows {
        let dup = out.insert(int(&row[0]), (int(&row[1]), text(&row[2])));
        if dup.is_some() {
            return Err(format!("{sql}: row {} twice", int(&row[0])));
        }
    }
    Ok(out)
}

/// One crash round: HOT and key updates, deletes and inserts under a
/// second session's old snapshots, VACUUMs and CREATE/DROP INDEX, until
/// the storage call the controller crashes at. Returns whether it
/// crashed, and the committed states the database may be in.
fn hot_round(
    e: &mut Engine,
    ctl: &FaultController,
    rng: &mut Rng,
    committed: &mut Table,
) -> Result<(bool, Vec<Table>), String> {
    let (a, b) = (e.connect(), e.connect());
    let mut allowed = vec![committed.clone()];
    let mut reader_open = false;
    for step in 0..80 {
        let mut next = committed.clone();
        let mut stmts = Vec::new();
        for _ in 0..1 + rng.below(4) {
            let id = 1 + rng.below(60) as i64;
            match rng.below(10) {
                0..=5 => {
                    if let Some(row) = next.get_mut(&id) {
                        row.1 = format!("s{step}-{}", rng.below(1000));
                        stmts.push(format!("UPDATE hc SET note = '{}' WHERE id = {id}", row.1));
                    }
                }
                6 => {
                    if let Some(row) = next.get_mut(&id) {
                        row.0 = rng.below(7) as i64;
                        stmts.push(format!("UPDATE hc SET k = {} WHERE id = {id}", row.0));
                    }
                }
                7 => {
                    if next.remove(&id).is_some() {
                        stmts.push(format!("DELETE FROM hc WHERE id = {id}"));
                    }
                }
                _ => {
                    if let std::collections::btree_map::Entry::Vacant(v) = next.entry(id) {
                        let row = (rng.below(7) as i64, format!("new{step}"));
                        stmts.push(format!(
                            "INSERT INTO hc VALUES ({id}, {}, '{}')",
                            row.0, row.1
                        ));
                        v.insert(row);
                    }
                }
            }
        }
        let abort = rng.chance(10);
        let mut script = vec!["BEGIN".to_string()];
        script.extend(stmts);
        script.push(if abort { "ROLLBACK" } else { "COMMIT" }.to_string());
        if !abort {
            allowed.push(next.clone());
        }
        for sql in &script {
            if let Err(err) = e.execute(a, sql, vec![]) {
                if ctl.has_crashed() {
                    return Ok((true, allowed));
                }
                return Err(format!("{sql}: {err}"));
            }
        }
        if !abort {
            *committed = next;
            allowed = vec![committed.clone()];
        }
        // Session b holds old snapshots across some of the steps, so
        // VACUUM finds chains whose roots it must keep.
        let extra = match rng.below(12) {
            0 if !reader_open => {
                reader_open = true;
                Some((
                    b,
                    "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM hc",
                ))
            }
            1 if reader_open => {
                reader_open = false;
                Some((b, "COMMIT"))
            }
            2..=4 => Some((a, "VACUUM hc")),
            5 => Some((a, "CREATE INDEX IF NOT EXISTS hc_note ON hc (note)")),
            6 => Some((a, "DROP INDEX IF EXISTS hc_note")),
            _ => None,
        };
        if let Some((s, sql)) = extra {
            if let Err(err) = e.execute(s, sql, vec![]) {
                if ctl.has_crashed() {
                    return Ok((true, allowed));
                }
                return Err(format!("{sql}: {err}"));
            }
        }
    }
    Ok((false, allowed))
}

/// Every way to the rows agrees after recovery: a sequential scan, the
/// primary key, the index on k and (when it exists) the one on note.
fn check_ways(e: &mut Engine, s: SessionId) -> Result<Table, String> {
    e.execute(s, "SET enable_seqscan = on", vec![])
        .map_err(|err| err.to_string())?;
    let seq = read_table(e, s, "SELECT id, k, note FROM hc")?;
    e.execute(s, "SET enable_seqscan = off", vec![])
        .map_err(|err| err.to_string())?;
    let mut by_k = Table::new();
    for k in 0..7 {
        by_k.extend(read_table(
            e,
            s,
            &format!("SELECT id, k, note FROM hc WHERE k = {k}"),
        )?);
    }
    if by_k != seq {
        return Err(format!("index on k: {by_k:?}, heap: {seq:?}"));
    }
    for (id, row) in &seq {
        let got = read_table(e, s, &format!("SELECT id, k, note FROM hc WHERE id = {id}"))?;
        if got.get(id) != Some(row) || got.len() != 1 {
            return Err(format!("primary key for {id}: {got:?}, heap: {row:?}"));
        }
        let by_note = read_table(
            e,
            s,
            &format!("SELECT id, k, note FROM hc WHERE note = '{}'", row.1),
        )?;
        if by_note.get(id) != Some(row) {
            return Err(format!("note of {id}: {by_note:?}, heap: {row:?}"));
        }
    }
    e.execute(s, "RESET enable_seqscan", vec![])
        .map_err(|err| err.to_string())?;
    Ok(seq)
}

fn hot_crash_seed(seed: u64) -> Result<usize, String> {
    let mut rng = Rng::new(seed);
    let (mut data_img, mut wal_img) = (Vec::new(), Vec::new());
    let mut committed = Table::new();
    let mut crashes = 0;
    for round in 0..2 {
        let ctl = FaultController::new(seed * 13 + round);
        let data = FaultyStorage::new(&ctl, std::mem::take(&mut data_img));
        let wal = FaultyStorage::new(&ctl, std::mem::take(&mut wal_img));
        let mut e = Engine::open(
            Box::new(data.clone()),
            Box::new(wal.clone()),
            EngineConfig::default(),
        )
        .map_err(|err| format!("round {round}: open: {err}"))?;
        if round == 0 {
            let s = e.connect();
            e.execute(
                s,
                "CREATE TABLE hc (id int PRIMARY KEY, k int, note text); \
                 CREATE INDEX hc_k ON hc (k); \
                 INSERT INTO hc SELECT g, g % 7, 'first' FROM generate_series(1, 60, 2) g",
                vec![],
            )
            .map_err(|err| format!("load: {err}"))?;
            committed = (1..=60)
                .step_by(2)
                .map(|g| (g, (g % 7, "first".to_string())))
                .collect();
        }
        ctl.crash_at_call(ctl.calls() + 1 + rng.below(150));
        let (crashed, allowed) = hot_round(&mut e, &ctl, &mut rng, &mut committed)
            .map_err(|err| format!("round {round}: {err}"))?;
        crashes += usize::from(crashed);
        let mode = match rng.below(3) {
            0 => CrashMode::DropUnsynced,
            1 => CrashMode::TearLast,
            _ => CrashMode::Reorder,
        };
        drop(e);
        let calm = FaultController::new(0);
        let rdata = FaultyStorage::new(&calm, data.crash_image(mode));
        let rwal = FaultyStorage::new(&calm, wal.crash_image(mode));
        let mut e = Engine::open(
            Box::new(rdata.clone()),
            Box::new(rwal.clone()),
            EngineConfig::default(),
        )
        .map_err(|err| format!("round {round}: recovery after {mode:?}: {err}"))?;
        let s = e.connect();
        let got =
            check_ways(&mut e, s).map_err(|err| format!("round {round} ({mode:?}): {err}"))?;
        if !allowed.contains(&got) {
            return Err(format!(
                "round {round} ({mode:?}): recovered {got:?}, none of the {} allowed states",
                allowed.len()
            ));
        }
        // VACUUM after recovery finishes whatever the crash interrupted.
        e.execute(s, "VACUUM hc", vec![])
            .map_err(|err| format!("round {round}: VACUUM after recovery: {err}"))?;
        let again =
            check_ways(&mut e, s).map_err(|err| format!("round {round} vacuumed: {err}"))?;
        if again != got {
            return Err(format!("round {round}: VACUUM changed the rows"));
        }
        committed = got;
        drop(e);
        data_img = rdata.current_bytes();
        wal_img = rwal.current_bytes();
    }
    Ok(crashes)
}

/// Crashes at random storage calls while HOT chains are made, pruned to
/// redirects and broken up by CREATE INDEX: after recovery (and after a
/// VACUUM of what the crash left) every index leads to exactly the rows a
/// sequential scan finds, in a committed state.
/// `NEURALDB_HOT_CRASH_SEEDS=N` runs more seeds, `NEURALDB_HOT_CRASH_SEED=S`
/// one.
#[test]
fn hot_crash_simulation_indexes_agree_with_heap() {
    let (crashes, rounds) =
        crate::common::run_crash_seeds("NEURALDB_HOT_CRASH_SEED", 200, hot_crash_seed);
    assert!(
        crashes * 2 >= rounds,
        "only {crashes} of {rounds} rounds crashed"
    );
}
