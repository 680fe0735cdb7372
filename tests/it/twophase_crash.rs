//! Prepared transactions across crashes: a seeded workload of PREPARE
//! TRANSACTION, COMMIT PREPARED, ROLLBACK PREPARED and plain commits
//! through SQL, crashed at a random storage call (unsynced writes dropped,
//! torn or reordered), then recovered. After recovery every acknowledged
//! PREPARE is still prepared (unless its COMMIT/ROLLBACK PREPARED was
//! acknowledged), with its row lock and advisory lock held again, its rows
//! invisible; acknowledged outcomes are there; the statement the crash
//! interrupted either happened or did not. Two crash rounds per seed, so a
//! transaction prepared before the first crash is recovered twice.
//!
//! `NEURALDB_2PC_SEEDS=N` runs more seeds; a failure names its seed.

use std::collections::{BTreeMap, BTreeSet};

use neuraldb::engine::{Engine, EngineConfig, SessionId};
use neuraldb::storage::{CrashMode, FaultController, FaultyStorage};
use neuraldb::util::Rng;
use neuraldb::value::Value;

/// What the database must hold: prepared gids (by slot) with their row
/// ids, and the committed row ids.
#[derive(Clone, Debug, Default, PartialEq)]
struct State {
    prepared: BTreeMap<u32, Vec<u32>>,
    committed: BTreeSet<u32>,
}

const SLOTS: u32 = 400;

fn int(v: &Value) -> i64 {
    match v {
        Value::Int4(n) => *n as i64,
        Value::Int8(n) => *n,
        other => panic!("not an integer: {other:?}"),
    }
}

fn open(data: &FaultyStorage, wal: &FaultyStorage) -> Result<Engine, String> {
    Engine::open(
        Box::new(data.clone()),
        Box::new(wal.clone()),
        EngineConfig::default(),
    )
    .map_err(|e| format!("open: {e}"))
}

/// The state as the database shows it.
fn observe(e: &mut Engine, s: SessionId) -> Result<State, String> {
    let q = |e: &mut Engine, sql: &str| {
        e.execute(s, sql, Vec::new())
            .map_err(|err| format!("{sql}: {err}"))
    };
    let mut state = State::default();
    let gids = q(e, "SELECT gid FROM pg_prepared_xacts ORDER BY gid")?;
    for row in &gids[0].rows {
        let Value::Text(g) = &row[0] else {
            return Err("gid is not text".into());
        };
        let slot: u32 = g
            .strip_prefix("g")
            .and_then(|n| n.parse().ok())
            .ok_or("bad gid")?;
        state.prepared.insert(slot, Vec::new());
    }
    let rows = q(e, "SELECT id, slot FROM item")?;
    for row in &rows[0].rows {
        state.committed.insert(int(&row[0]) as u32);
    }
    Ok(state)
}

/// Runs the workload until the crash; returns the states the database
/// may be in afterwards (before and after the interrupted statement).
fn workload(
    e: &mut Engine,
    s: SessionId,
    rng: &mut Rng,
    ctl: &FaultController,
    state: &mut State,
    next_slot: &mut u32,
    next_id: &mut u32,
) -> Result<Vec<State>, String> {
    for _ in 0..400 {
        let before = state.clone();
        let mut after = state.clone();
        let sql = match rng.below(10) {
            // Prepare a transaction that inserts rows, updates its slot
            // row and takes an advisory lock.
            0..=4 if *next_slot < SLOTS => {
                let slot = *next_slot;
                *next_slot += 1;
                let ids: Vec<u32> = (0..1 + rng.below(4) as u32).map(|i| *next_id + i).collect();
                *next_id += ids.len() as u32;
                let values: Vec<String> = ids.iter().map(|i| format!("({i}, {slot})")).collect();
                after.prepared.insert(slot, ids);
                format!(
                    "BEGIN; INSERT INTO item VALUES {}; UPDATE slots SET n = n + 1 WHERE id = {slot}; \
                     SELECT pg_advisory_xact_lock({slot}); PREPARE TRANSACTION 'g{slot}'",
                    values.join(", ")
                )
            }
            0..=7 if !state.prepared.is_empty() => {
                let k = rng.below(state.prepared.len() as u64) as usize;
                let slot = *state.prepared.keys().nth(k).expect("k < len");
                let ids = after.prepared.remove(&slot).expect("present");
                if rng.chance(60) {
                    after.committed.extend(ids);
                    format!("COMMIT PREPARED 'g{slot}'")
                } else {
                    format!("ROLLBACK PREPARED 'g{slot}'")
                }
            }
            _ => {
                let id = *next_id;
                *next_id += 1;
                after.committed.insert(id);
                format!("INSERT INTO item VALUES ({id}, NULL)")
            }
        };
        match e.execute(s, &sql, Vec::new()) {
            Ok(_) => *state = after,
            Err(err) if ctl.has_crashed() => {
                let _ = err;
                return Ok(vec![before, after]);
            }
            Err(err) => return Err(format!("{sql}: unexpected {err}")),
        }
    }
    Ok(vec![state.clone()])
}

fn run_seed(seed: u64) -> Result<(), String> {
    let mut rng = Rng::new(seed);
    let setup = FaultController::new(0);
    let data = FaultyStorage::new(&setup, Vec::new());
    let wal = FaultyStorage::new(&setup, Vec::new());
    {
        let mut e = open(&data, &wal)?;
        let s = e.connect();
        e.execute(
            s,
            &format!(
                "CREATE TABLE item (id int PRIMARY KEY, slot int); \
                 CREATE TABLE slots (id int PRIMARY KEY, n int); \
                 INSERT INTO slots SELECT g, 0 FROM generate_series(0, {SLOTS}) g"
            ),
            Vec::new(),
        )
        .map_err(|e| format!("setup: {e}"))?;
    }
    let (mut data_img, mut wal_img) = (data.current_bytes(), wal.current_bytes());
    let mut state = State::default();
    let (mut next_slot, mut next_id) = (0u32, 1u32);
    let mut finished = BTreeMap::new();
    for round in 0..2u64 {
        let ctl = FaultController::new(seed * 7 + round);
        let data = FaultyStorage::new(&ctl, std::mem::take(&mut data_img));
        let wal = FaultyStorage::new(&ctl, std::mem::take(&mut wal_img));
        let mut e = open(&data, &wal).map_err(|m| format!("round {round}: {m}"))?;
        let s = e.connect();
        ctl.crash_at_call(ctl.calls() + 1 + rng.below(300));
        let allowed = workload(
            &mut e,
            s,
            &mut rng,
            &ctl,
            &mut state,
            &mut next_slot,
            &mut next_id,
        )
        .map_err(|m| format!("round {round}: {m}"))?;
        drop(e);
        let mode = match rng.below(3) {
            0 => CrashMode::DropUnsynced,
            1 => CrashMode::TearLast,
            _ => CrashMode::Reorder,
        };
        let calm = FaultController::new(0);
        let rdata = FaultyStorage::new(&calm, data.crash_image(mode));
        let rwal = FaultyStorage::new(&calm, wal.crash_image(mode));
        let mut e = open(&rdata, &rwal).map_err(|m| format!("round {round} recovery: {m}"))?;
        let s = e.connect();
        let seen = observe(&mut e, s)?;
        let matched = allowed.iter().find(|a| {
            a.committed == seen.committed
                && a.prepared.keys().collect::<Vec<_>>() == seen.prepared.keys().collect::<Vec<_>>()
        });
        let Some(m) = matched else {
            return Err(format!(
                "round {round} ({mode:?}): recovered {seen:?}, expected one of {allowed:?}"
            ));
        };
        state = m.clone();
        // Every prepared transaction holds its row lock and advisory lock
        // again, and its slot row still shows the old value.
        for &slot in state.prepared.keys() {
            let locked = e.execute(
                s,
                &format!("SELECT n FROM slots WHERE id = {slot} FOR UPDATE NOWAIT"),
                Vec::new(),
            );
            match locked {
                Err(err) if err.sqlstate().as_str() == "55P03" => {}
                other => {
                    return Err(format!(
                        "round {round}: slot {slot} of a prepared transaction not locked: {other:?}"
                    ))
                }
            }
            let r = e
                .execute(
                    s,
                    &format!("SELECT pg_try_advisory_xact_lock({slot})"),
                    Vec::new(),
                )
                .map_err(|err| err.to_string())?;
            if r[0].rows[0][0] != Value::Bool(false) {
                return Err(format!("round {round}: advisory lock {slot} not held"));
            }
        }
        // Finish about half of them now; the rest live on into the next
        // round (recovered twice).
        let slots: Vec<u32> = state.prepared.keys().copied().collect();
        for slot in slots {
            if rng.chance(50) {
                continue;
            }
            let commit = rng.chance(50);
            let verb = if commit { "COMMIT" } else { "ROLLBACK" };
            e.execute(s, &format!("{verb} PREPARED 'g{slot}'"), Vec::new())
                .map_err(|err| format!("round {round}: {verb} PREPARED g{slot}: {err}"))?;
            let ids = state.prepared.remove(&slot).expect("listed");
            if commit {
                state.committed.extend(ids);
            }
            finished.insert(slot, commit);
        }
        let seen = observe(&mut e, s)?;
        if seen.committed != state.committed {
            return Err(format!("round {round}: rows after finishing differ"));
        }
        // A finished slot's row shows the outcome and is free again.
        for (&slot, &commit) in &finished {
            let r = e
                .execute(
                    s,
                    &format!("SELECT n FROM slots WHERE id = {slot} FOR UPDATE NOWAIT"),
                    Vec::new(),
                )
                .map_err(|err| format!("round {round}: slot {slot}: {err}"))?;
            if int(&r[0].rows[0][0]) != i64::from(commit) {
                return Err(format!(
                    "round {round}: slot {slot} shows the wrong outcome"
                ));
            }
        }
        drop(e);
        data_img = rdata.current_bytes();
        wal_img = rwal.current_bytes();
    }
    Ok(())
}

#[test]
fn prepared_transactions_survive_crashes() {
    let seeds = std::env::var("NEURALDB_2PC_SEEDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40u64);
    let failures: Vec<String> = (0..seeds)
        .filter_map(|seed| run_seed(seed).err().map(|e| format!("seed {seed}: {e}")))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
