//! Engine-level SQL scenarios that fixture files cannot express: storage
//! staying bounded under updates, persistence across reopen.

use neuraldb::engine::{Engine, EngineConfig};
use neuraldb::storage::{FaultController, FaultyStorage};

/// The bigint in the first row and column of `sql`'s result.
fn int8(e: &mut Engine, s: neuraldb::engine::SessionId, sql: &str) -> i64 {
    match &e.execute(s, sql, vec![]).unwrap()[0].rows[0][0] {
        neuraldb::value::Value::Int8(n) => *n,
        v => panic!("{sql} gave {v:?}"),
    }
}

#[test]
fn table_size_stays_bounded_under_steady_updates() {
    let mut e = Engine::open_memory().unwrap();
    let s = e.connect();
    e.execute(
        s,
        "CREATE TABLE c (id int PRIMARY KEY, v int, pad text)",
        vec![],
    )
    .unwrap();
    e.execute(
        s,
        "INSERT INTO c SELECT g, 0, repeat('x', 200) FROM generate_series(1, 200) AS g",
        vec![],
    )
    .unwrap();
    let mut sizes = Vec::new();
    for round in 0..300 {
        e.execute(
            s,
            "UPDATE c SET v = v + 1 WHERE id % 10 = $1",
            vec![neuraldb::value::Value::Int4(round % 10)],
        )
        .unwrap();
        if round % 50 == 49 {
            sizes.push(e.database_pages());
        }
    }
    let rows = e
        .execute(s, "SELECT sum(v), count(*) FROM c", vec![])
        .unwrap();
    assert_eq!(rows[0].rows[0][1], neuraldb::value::Value::Int8(200));
    // 300 rounds x 20 rows = 6000 dead versions (~1.4 MB) would be ~170
    // pages without vacuum; with it the file plateaus.
    let (first, last) = (sizes[0], *sizes.last().unwrap());
    eprintln!("database pages every 50 rounds: {sizes:?}");
    assert!(
        last <= first + 8,
        "table grew from {first} to {last} pages: {sizes:?}"
    );
}

/// VACUUM removes dead versions in batches (`maintenance_work_mem` / 64
/// bytes each: 16,384 at its minimum of 1MB), each batch's index entries
/// first: across three batches every live row is still found through each
/// index, no dead one is, and the indexes shrink. Another session's
/// snapshot keeps autovacuum from removing them before VACUUM runs.
#[test]
fn vacuum_in_batches_keeps_indexes_exact() {
    use neuraldb::value::Value;
    let mut e = Engine::open_memory().unwrap();
    let s = e.connect();
    e.execute(
        s,
        "CREATE TABLE vb (id int PRIMARY KEY, x text, y int); CREATE INDEX vb_x ON vb (x); \
         INSERT INTO vb SELECT g, 'k' || (g % 997), g % 13 FROM generate_series(1, 50000) AS g",
        vec![],
    )
    .unwrap();
    let size = |e: &mut Engine| {
        e.execute(s, "SELECT pg_relation_size('vb_x')", vec![])
            .unwrap()[0]
            .rows[0][0]
            .clone()
    };
    let before = size(&mut e);
    let old = e.connect();
    e.execute(
        old,
        "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT 1",
        vec![],
    )
    .unwrap();
    // Scattered deletes (not a key range) and updates of indexed keys.
    e.execute(s, "DELETE FROM vb WHERE y <> 3 AND id % 7 <> 0", vec![])
        .unwrap();
    e.execute(s, "UPDATE vb SET x = 'u' || id WHERE id % 49 = 0", vec![])
        .unwrap();
    e.execute(old, "COMMIT", vec![]).unwrap();
    assert_eq!(int8(&mut e, s, "SELECT count(*) FROM vb"), 10439);
    e.execute(s, "SET maintenance_work_mem = '1MB'; VACUUM vb", vec![])
        .unwrap();
    let (Value::Int8(b), Value::Int8(a)) = (before, size(&mut e)) else {
        panic!("sizes are bigint");
    };
    assert!(a < b, "index shrank: {b} -> {a}");
    let live = e.execute(s, "SELECT count(*) FROM vb", vec![]).unwrap()[0].rows[0][0].clone();
    assert_eq!(live, Value::Int8(10439));
    // Every live row through each index; nothing else.
    let by_key = e
        .execute(
            s,
            "SELECT count(*) FROM generate_series(1, 50000, 5) g WHERE EXISTS (SELECT 1 FROM vb WHERE id = g)",
            vec![],
        )
        .unwrap();
    assert_eq!(by_key[0].rows[0][0], Value::Int8(2088));
    let by_x = e
        .execute(
            s,
            "SELECT sum((SELECT count(*) FROM vb WHERE x = k))::int8 FROM (SELECT DISTINCT x AS k FROM vb) d",
            vec![],
        )
        .unwrap();
    assert_eq!(by_x[0].rows[0][0], live);
    let gone = e
        .execute(
            s,
            "SELECT count(*) FROM vb WHERE x = 'k5' AND y <> 3 AND id % 7 <> 0",
            vec![],
        )
        .unwrap();
    assert_eq!(gone[0].rows[0][0], Value::Int8(0));
}

#[test]
fn vacuum_removes_dead_versions_and_keeps_results() {
    let mut e = Engine::open_memory().unwrap();
    let s = e.connect();
    e.execute(
        s,
        "CREATE TABLE v (id int PRIMARY KEY, x text); CREATE INDEX ON v (x)",
        vec![],
    )
    .unwrap();
    e.execute(
        s,
        "INSERT INTO v SELECT g, 'a' || g FROM generate_series(1, 100) AS g",
        vec![],
    )
    .unwrap();
    e.execute(s, "UPDATE v SET x = 'b' || id WHERE id <= 30", vec![])
        .unwrap();
    e.execute(s, "DELETE FROM v WHERE id > 90", vec![]).unwrap();
    e.execute(s, "VACUUM", vec![]).unwrap();
    let r = e
        .execute(s, "SELECT count(*) FROM v WHERE x LIKE 'b%'", vec![])
        .unwrap();
    assert_eq!(r[0].rows[0][0], neuraldb::value::Value::Int8(30));
    let r = e
        .execute(s, "SELECT x FROM v WHERE x = 'b7'", vec![])
        .unwrap();
    assert_eq!(r[0].rows.len(), 1);
    // Freed slots are reused by new rows; the index still finds the right ones.
    e.execute(
        s,
        "INSERT INTO v SELECT g, 'c' || g FROM generate_series(200, 260) AS g",
        vec![],
    )
    .unwrap();
    let r = e
        .execute(
            s,
            "SELECT count(*) FROM v WHERE x = 'a95' OR x = 'c250'",
            vec![],
        )
        .unwrap();
    assert_eq!(r[0].rows[0][0], neuraldb::value::Value::Int8(1));
    let err = e.execute(s, "BEGIN; VACUUM", vec![]).unwrap_err();
    assert_eq!(err.sqlstate().as_str(), "25001");
}

/// Rows deleted in an explicit transaction are vacuumed once it commits
/// (autovacuum waits for it rather than scanning while they are still
/// live): rows inserted afterwards reuse their space.
#[test]
fn autovacuum_follows_a_committed_explicit_transaction() {
    use neuraldb::value::Value;
    let mut e = Engine::open_memory().unwrap();
    let s = e.connect();
    let fill = "INSERT INTO d SELECT g, repeat('y', 300) FROM generate_series(1, 3000) g";
    e.execute(s, "CREATE TABLE d (id int, pad text)", vec![])
        .unwrap();
    e.execute(s, fill, vec![]).unwrap();
    let pages = |e: &mut Engine| int8(e, s, "SELECT pg_relation_size('d') / 8192");
    let full = pages(&mut e);
    for _ in 0..3 {
        e.execute(s, "BEGIN; DELETE FROM d; SELECT 1", vec![])
            .unwrap();
        e.execute(s, "COMMIT", vec![]).unwrap();
        e.execute(s, fill, vec![]).unwrap();
    }
    let r = e.execute(s, "SELECT count(*) FROM d", vec![]).unwrap();
    assert_eq!(r[0].rows[0][0], Value::Int8(3000));
    let now = pages(&mut e);
    assert!(
        now <= full + full / 10,
        "table grew from {full} to {now} pages"
    );
}

/// DROP TABLE gives a table's pages back once its transaction ends,
/// without a VACUUM: the free tail of the file is cut (the database and
/// the file shrink), an open snapshot keeps a dropped table's rows until
/// it ends, and what stays survives a crash.
#[test]
fn dropped_tables_give_their_pages_back() {
    use neuraldb::value::Value;
    let ctl = FaultController::new(1);
    let data = FaultyStorage::new(&ctl, Vec::new());
    let wal = FaultyStorage::new(&ctl, Vec::new());
    let mut e = Engine::open(
        Box::new(data.clone()),
        Box::new(wal.clone()),
        EngineConfig::default(),
    )
    .unwrap();
    let s = e.connect();
    let other = e.connect();
    let size = |e: &mut Engine| int8(e, s, "SELECT pg_database_size(current_database())");
    e.execute(
        s,
        "CREATE TABLE keep (id int PRIMARY KEY, v text); \
         INSERT INTO keep SELECT g, 'k' || g FROM generate_series(1, 500) g",
        vec![],
    )
    .unwrap();
    let small = size(&mut e);
    e.execute(
        s,
        "CREATE TABLE big (id int PRIMARY KEY, v text); CREATE INDEX ON big (v); \
         INSERT INTO big SELECT g, repeat('x', 100) || g FROM generate_series(1, 20000) g",
        vec![],
    )
    .unwrap();
    let grown = size(&mut e);
    assert!(grown > small + 2_000_000, "{small} -> {grown}");
    // A REPEATABLE READ snapshot taken before the DROP keeps the pages
    // until it ends.
    e.execute(
        other,
        "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM keep",
        vec![],
    )
    .unwrap();
    e.execute(s, "DROP TABLE big", vec![]).unwrap();
    e.execute(s, "SELECT 1", vec![]).unwrap();
    assert_eq!(size(&mut e), grown, "an open snapshot predates the DROP");
    e.execute(other, "COMMIT", vec![]).unwrap();
    let after = size(&mut e);
    assert!(after < small + 200_000, "{small} -> {grown} -> {after}");
    assert!(
        data.current_bytes().len() as i64 <= after,
        "the file was cut"
    );
    e.execute(s, "INSERT INTO keep VALUES (501, 'last')", vec![])
        .unwrap();
    let image = |f: &FaultyStorage| f.crash_image(neuraldb::storage::CrashMode::DropUnsynced);
    let (data, wal) = (image(&data), image(&wal));
    drop(e);
    let ctl2 = FaultController::new(2);
    let mut e = Engine::open(
        Box::new(FaultyStorage::new(&ctl2, data)),
        Box::new(FaultyStorage::new(&ctl2, wal)),
        EngineConfig::default(),
    )
    .unwrap();
    let s = e.connect();
    let r = e
        .execute(
            s,
            "SELECT count(*), max(v) FROM keep WHERE id > 400",
            vec![],
        )
        .unwrap();
    assert_eq!(
        r[0].rows[0],
        vec![Value::Int8(101), Value::Text("last".into())]
    );
    let err = e.execute(s, "SELECT * FROM big", vec![]).unwrap_err();
    assert_eq!(err.sqlstate().as_str(), "42P01");
    // The freed space is reused.
    e.execute(
        s,
        "CREATE TABLE again (id int); INSERT INTO again SELECT g FROM generate_series(1, 1000) g",
        vec![],
    )
    .unwrap();
}

#[test]
fn committed_sql_survives_reopen_and_crash() {
    let ctl = FaultController::new(1);
    let data = FaultyStorage::new(&ctl, Vec::new());
    let wal = FaultyStorage::new(&ctl, Vec::new());
    {
        let mut e = Engine::open(
            Box::new(data.clone()),
            Box::new(wal.clone()),
            EngineConfig::default(),
        )
        .unwrap();
        let s = e.connect();
        e.execute(
            s,
            "CREATE TABLE p (id serial PRIMARY KEY, name text UNIQUE)",
            vec![],
        )
        .unwrap();
        e.execute(s, "INSERT INTO p (name) VALUES ('one'), ('two')", vec![])
            .unwrap();
        e.execute(
            s,
            "BEGIN; INSERT INTO p (name) VALUES ('uncommitted')",
            vec![],
        )
        .unwrap();
    }
    let image = |f: &FaultyStorage| f.crash_image(neuraldb::storage::CrashMode::DropUnsynced);
    let ctl2 = FaultController::new(2);
    let mut e = Engine::open(
        Box::new(FaultyStorage::new(&ctl2, image(&data))),
        Box::new(FaultyStorage::new(&ctl2, image(&wal))),
        EngineConfig::default(),
    )
    .unwrap();
    let s = e.connect();
    let r = e
        .execute(s, "SELECT id, name FROM p ORDER BY id", vec![])
        .unwrap();
    assert_eq!(r[0].rows.len(), 2);
    // The serial sequence continues after recovery; the unique index works.
    let r = e
        .execute(
            s,
            "INSERT INTO p (name) VALUES ('three') RETURNING id",
            vec![],
        )
        .unwrap();
    assert!(matches!(r[0].rows[0][0], neuraldb::value::Value::Int4(id) if id >= 3));
    assert_eq!(
        e.execute(s, "INSERT INTO p (name) VALUES ('one')", vec![])
            .unwrap_err()
            .sqlstate()
            .as_str(),
        "23505"
    );
}

#[test]
fn no_dirty_reads_inside_a_block() {
    let mut e = Engine::open_memory().unwrap();
    let a = e.connect();
    let b = e.connect();
    e.execute(a, "CREATE TABLE acct (id int PRIMARY KEY, bal int); INSERT INTO acct VALUES (1, 100), (2, 200)", vec![]).unwrap();
    for (s, sql) in [
        (b, "BEGIN"),
        (b, "SELECT 1"),
        (a, "BEGIN"),
        (a, "UPDATE acct SET bal = 0 WHERE id = 1"),
        (a, "INSERT INTO acct VALUES (20, 20)"),
    ] {
        e.execute(s, sql, vec![]).unwrap();
    }
    let r = e
        .execute(b, "SELECT bal FROM acct WHERE id = 1", vec![])
        .unwrap();
    assert_eq!(r[0].rows[0][0], neuraldb::value::Value::Int4(100));
    let r = e.execute(b, "SELECT count(*) FROM acct", vec![]).unwrap();
    assert_eq!(r[0].rows[0][0], neuraldb::value::Value::Int8(2));
}

#[test]
fn concurrent_create_of_the_same_name_is_refused() {
    let mut e = Engine::open_memory().unwrap();
    let a = e.connect();
    let b = e.connect();
    e.execute(a, "BEGIN; CREATE TABLE x (k int)", vec![])
        .unwrap();
    let err = e.execute(b, "CREATE TABLE x (k text)", vec![]).unwrap_err();
    assert_eq!(err.sqlstate().as_str(), "55P03");
    e.execute(a, "COMMIT", vec![]).unwrap();
    let err = e.execute(b, "CREATE TABLE x (k text)", vec![]).unwrap_err();
    assert_eq!(err.sqlstate().as_str(), "42P07");
    // After a rollback the name is free again.
    e.execute(a, "BEGIN; CREATE TABLE y (k int); ROLLBACK", vec![])
        .unwrap();
    e.execute(b, "CREATE TABLE y (k text)", vec![]).unwrap();
}

/// DROP TABLE waits for the transactions using the table, and whoever
/// comes after a waiting DROP queues behind it (PostgreSQL's lock queue):
/// no 55P03, no starvation of the DROP.
#[test]
fn drop_table_and_writers_exclude_each_other() {
    use neuraldb::engine::Submitted;
    let mut e = Engine::open_memory().unwrap();
    let a = e.connect();
    let b = e.connect();
    let c = e.connect();
    e.execute(
        a,
        "CREATE TABLE t (k int); INSERT INTO t VALUES (1)",
        vec![],
    )
    .unwrap();
    let done = |e: &mut Engine, sid| {
        let all = e.take_completions();
        assert_eq!(all.len(), 1, "{all:?}");
        assert_eq!(all[0].0, sid);
        all.into_iter().next().unwrap().1
    };
    // A writer's open transaction makes DROP wait...
    e.execute(b, "BEGIN; INSERT INTO t VALUES (2)", vec![])
        .unwrap();
    assert!(matches!(
        e.submit(a, "DROP TABLE t", vec![]),
        Submitted::Parked
    ));
    // ...a reader arriving meanwhile queues behind the DROP...
    assert!(matches!(
        e.submit(c, "SELECT count(*) FROM t", vec![]),
        Submitted::Parked
    ));
    // ...and when the writer commits, the DROP runs, then the reader finds
    // no table.
    e.execute(b, "COMMIT", vec![]).unwrap();
    let all = e.take_completions();
    assert_eq!(all.len(), 2, "{all:?}");
    let of = |sid| &all.iter().find(|(s, _)| *s == sid).expect("completed").1;
    assert!(of(a).error.is_none(), "{:?}", of(a).error);
    assert_eq!(
        of(c).error.as_ref().map(|e| e.sqlstate().as_str()),
        Some("42P01")
    );
    // A pending DROP in an open block keeps writers waiting until it ends.
    e.execute(
        a,
        "CREATE TABLE t (k int); INSERT INTO t VALUES (1)",
        vec![],
    )
    .unwrap();
    e.execute(a, "BEGIN; DROP TABLE t", vec![]).unwrap();
    assert!(matches!(
        e.submit(b, "INSERT INTO t VALUES (3)", vec![]),
        Submitted::Parked
    ));
    e.execute(a, "ROLLBACK", vec![]).unwrap();
    assert!(done(&mut e, b).error.is_none());
    let r = e.execute(c, "SELECT count(*) FROM t", vec![]).unwrap();
    assert_eq!(r[0].rows[0][0], neuraldb::value::Value::Int8(2));
}

#[test]
fn select_for_update_locks_rows() {
    use neuraldb::engine::Submitted;
    use neuraldb::value::Value;
    let mut e = Engine::open_memory().unwrap();
    let a = e.connect();
    let b = e.connect();
    e.execute(a, "CREATE TABLE q (id int PRIMARY KEY, v int); INSERT INTO q VALUES (1, 10), (2, 20), (3, 30)", vec![])
        .unwrap();
    let r = e
        .execute(
            a,
            "BEGIN; SELECT id, v FROM q WHERE id <= 2 ORDER BY v DESC FOR UPDATE",
            vec![],
        )
        .unwrap();
    assert_eq!(
        r[1].rows,
        vec![
            vec![Value::Int4(2), Value::Int4(20)],
            vec![Value::Int4(1), Value::Int4(10)]
        ]
    );
    assert_eq!(r[1].columns.len(), 2);
    // NOWAIT fails, SKIP LOCKED skips, plain FOR UPDATE and UPDATE wait.
    let err = e
        .execute(b, "SELECT * FROM q WHERE id = 1 FOR UPDATE NOWAIT", vec![])
        .unwrap_err();
    assert_eq!(err.sqlstate().as_str(), "55P03");
    let r = e
        .execute(
            b,
            "SELECT id FROM q ORDER BY id FOR UPDATE SKIP LOCKED",
            vec![],
        )
        .unwrap();
    assert_eq!(r[0].rows, vec![vec![Value::Int4(3)]]);
    assert!(matches!(
        e.submit(b, "UPDATE q SET v = v + 1 WHERE id = 1", vec![]),
        Submitted::Parked
    ));
    // Plain reads are not blocked by row locks.
    let c = e.connect();
    assert_eq!(
        e.execute(c, "SELECT v FROM q WHERE id = 1", vec![])
            .unwrap()[0]
            .rows,
        vec![vec![Value::Int4(10)]]
    );
    e.execute(a, "UPDATE q SET v = 100 WHERE id = 1; COMMIT", vec![])
        .unwrap();
    let done = e.take_completions();
    assert_eq!(done.len(), 1);
    assert!(done[0].1.error.is_none());
    // READ COMMITTED: the waiting UPDATE applied to the committed new version.
    assert_eq!(
        e.execute(c, "SELECT v FROM q WHERE id = 1", vec![])
            .unwrap()[0]
            .rows,
        vec![vec![Value::Int4(101)]]
    );
}

/// A DELETE that decodes only its WHERE clause's columns reads the whole
/// row after all when a foreign key referencing its table was added while
/// it waited for a row lock: the cascade needs the key column.
#[test]
fn a_waiting_delete_sees_a_foreign_key_added_meanwhile() {
    use neuraldb::engine::Submitted;
    let mut e = Engine::open_memory().unwrap();
    let (a, b, c) = (e.connect(), e.connect(), e.connect());
    e.execute(
        a,
        "CREATE TABLE fp (id int PRIMARY KEY, k text UNIQUE, x int); \
         CREATE TABLE fc (id int PRIMARY KEY, pk text); \
         INSERT INTO fp SELECT g, 'k' || g, 0 FROM generate_series(1, 3) g; \
         INSERT INTO fc SELECT g, 'k3' FROM generate_series(1, 4) g",
        vec![],
    )
    .unwrap();
    e.execute(a, "BEGIN; UPDATE fp SET x = 1 WHERE id = 2", vec![])
        .unwrap();
    assert!(matches!(
        e.submit(b, "DELETE FROM fp WHERE id >= 1", vec![]),
        Submitted::Parked
    ));
    e.execute(
        c,
        "ALTER TABLE fc ADD FOREIGN KEY (pk) REFERENCES fp (k) ON DELETE CASCADE",
        vec![],
    )
    .unwrap();
    e.execute(a, "COMMIT", vec![]).unwrap();
    let done = e.take_completions();
    assert_eq!(done.len(), 1);
    assert!(done[0].1.error.is_none(), "{:?}", done[0].1.error);
    // Row 3, deleted after the key came, took its referencing rows along.
    assert_eq!(int8(&mut e, c, "SELECT count(*) FROM fp"), 0);
    assert_eq!(int8(&mut e, c, "SELECT count(*) FROM fc"), 0);
}

/// Every system relation listed in `pg_class` can be read in full, and its
/// rows have the columns `pg_attribute` declares for it (the row sources
/// and the column lists are written separately; this keeps them in step).
/// `database_name` is what the catalogs report.
#[test]
fn every_system_relation_is_readable_and_matches_pg_attribute() {
    use neuraldb::value::Value;
    let config = EngineConfig {
        database_name: "shop".into(),
        ..EngineConfig::default()
    };
    let mut e = Engine::open(
        Box::new(neuraldb::storage::MemoryStorage::new()),
        Box::new(neuraldb::storage::MemoryStorage::new()),
        config,
    )
    .unwrap();
    let s = e.connect();
    e.execute(
        s,
        "CREATE TABLE t (id serial PRIMARY KEY, v text); CREATE INDEX ON t (v)",
        vec![],
    )
    .unwrap();
    let list = e
        .execute(
            s,
            "SELECT n.nspname, c.relname, c.oid FROM pg_class c \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname <> 'public' ORDER BY c.oid",
            vec![],
        )
        .unwrap();
    let relations = &list[0].rows;
    assert!(relations.len() >= 13, "{relations:?}");
    for r in relations {
        let (Value::Text(schema), Value::Text(name), Value::Int4(oid)) = (&r[0], &r[1], &r[2])
        else {
            panic!("unexpected row {r:?}");
        };
        let all = e
            .execute(s, &format!("SELECT * FROM {schema}.{name}"), vec![])
            .unwrap_or_else(|err| panic!("{schema}.{name}: {err}"));
        let attrs = e
            .execute(
                s,
                &format!("SELECT attname FROM pg_attribute WHERE attrelid = {oid} ORDER BY attnum"),
                vec![],
            )
            .unwrap();
        let declared: Vec<String> = attrs[0]
            .rows
            .iter()
            .map(|a| match &a[0] {
                Value::Text(n) => n.clone(),
                v => panic!("attname {v:?}"),
            })
            .collect();
        let names: Vec<String> = all[0].columns.iter().map(|c| c.name.clone()).collect();
        assert_eq!(names, declared, "{schema}.{name}");
        assert!(
            all[0].rows.iter().all(|row| row.len() == names.len()),
            "{schema}.{name}"
        );
    }
    let db = e
        .execute(
            s,
            "SELECT current_database(), (SELECT datname FROM pg_database), \
             (SELECT datname FROM pg_stat_activity WHERE pid = pg_backend_pid())",
            vec![],
        )
        .unwrap();
    assert_eq!(
        db[0].rows[0],
        vec![
            Value::Text("shop".into()),
            Value::Text("shop".into()),
            Value::Text("shop".into())
        ]
    );
}

#[test]
fn views_and_generated_columns_survive_reopen_and_crash() {
    use neuraldb::value::Value;
    let ctl = FaultController::new(3);
    let data = FaultyStorage::new(&ctl, Vec::new());
    let wal = FaultyStorage::new(&ctl, Vec::new());
    {
        let mut e = Engine::open(
            Box::new(data.clone()),
            Box::new(wal.clone()),
            EngineConfig::default(),
        )
        .unwrap();
        let s = e.connect();
        e.execute(
            s,
            "CREATE TABLE g (a int, b int GENERATED ALWAYS AS (a * 2) STORED); \
             INSERT INTO g (a) VALUES (1), (2); \
             CREATE VIEW big AS SELECT a, b FROM g WHERE b > 2; \
             CREATE VIEW big2 AS SELECT * FROM big",
            vec![],
        )
        .unwrap();
        // Uncommitted at the crash: gone after recovery.
        e.execute(s, "BEGIN; CREATE VIEW lost AS SELECT 1 AS one", vec![])
            .unwrap();
    }
    let image = |f: &FaultyStorage| f.crash_image(neuraldb::storage::CrashMode::DropUnsynced);
    let ctl2 = FaultController::new(4);
    let mut e = Engine::open(
        Box::new(FaultyStorage::new(&ctl2, image(&data))),
        Box::new(FaultyStorage::new(&ctl2, image(&wal))),
        EngineConfig::default(),
    )
    .unwrap();
    let s = e.connect();
    let r = e.execute(s, "SELECT * FROM big2", vec![]).unwrap();
    assert_eq!(r[0].rows, vec![vec![Value::Int4(2), Value::Int4(4)]]);
    let r = e
        .execute(s, "INSERT INTO g (a) VALUES (5) RETURNING b", vec![])
        .unwrap();
    assert_eq!(r[0].rows, vec![vec![Value::Int4(10)]]);
    assert_eq!(
        e.execute(s, "SELECT * FROM lost", vec![])
            .unwrap_err()
            .sqlstate()
            .as_str(),
        "42P01"
    );
    let r = e
        .execute(s, "SELECT pg_get_viewdef('big', true)", vec![])
        .unwrap();
    assert_eq!(
        r[0].rows,
        vec![vec![Value::Text(
            " SELECT g.a,\n    g.b\n   FROM g\n  WHERE g.b > 2;".into()
        )]]
    );
}

#[test]
fn view_ddl_is_transactional_and_isolated() {
    use neuraldb::value::Value;
    let mut e = Engine::open_memory().unwrap();
    let a = e.connect();
    let b = e.connect();
    e.execute(
        a,
        "CREATE TABLE t (x int); INSERT INTO t VALUES (1), (2)",
        vec![],
    )
    .unwrap();
    e.execute(
        a,
        "BEGIN; CREATE VIEW v AS SELECT x FROM t WHERE x > 1",
        vec![],
    )
    .unwrap();
    // Not visible to others until COMMIT.
    let err = e.execute(b, "SELECT * FROM v", vec![]).unwrap_err();
    assert_eq!(err.sqlstate().as_str(), "42P01");
    e.execute(a, "COMMIT", vec![]).unwrap();
    // A REPEATABLE READ reader keeps the definition it started with.
    e.execute(b, "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT 1", vec![])
        .unwrap();
    e.execute(
        a,
        "CREATE OR REPLACE VIEW v AS SELECT x FROM t WHERE x > 0",
        vec![],
    )
    .unwrap();
    let r = e.execute(b, "SELECT count(*) FROM v", vec![]).unwrap();
    assert_eq!(r[0].rows, vec![vec![Value::Int8(1)]]);
    e.execute(b, "COMMIT", vec![]).unwrap();
    let r = e.execute(b, "SELECT count(*) FROM v", vec![]).unwrap();
    assert_eq!(r[0].rows, vec![vec![Value::Int8(2)]]);
    // DROP VIEW rolled back leaves it; committed removes it.
    e.execute(a, "BEGIN; DROP VIEW v; ROLLBACK", vec![])
        .unwrap();
    assert!(e.execute(b, "SELECT * FROM v", vec![]).is_ok());
    e.execute(a, "DROP VIEW v", vec![]).unwrap();
    assert!(e.execute(b, "SELECT * FROM v", vec![]).is_err());
}

/// Temporary tables end with their session, and those of a crashed run
/// are gone after recovery even though session ids start again at 1.
/// Schemas and their tables persist.
#[test]
fn temp_tables_end_with_session_and_crash_schemas_persist() {
    use neuraldb::value::Value;
    let count_temp = |e: &mut Engine, s| {
        let r = e
            .execute(
                s,
                "SELECT count(*) FROM pg_class WHERE relpersistence = 't'",
                vec![],
            )
            .unwrap();
        r[0].rows[0][0].clone()
    };
    let ctl = FaultController::new(5);
    let data = FaultyStorage::new(&ctl, Vec::new());
    let wal = FaultyStorage::new(&ctl, Vec::new());
    {
        let mut e = Engine::open(
            Box::new(data.clone()),
            Box::new(wal.clone()),
            EngineConfig::default(),
        )
        .unwrap();
        let s = e.connect();
        e.execute(
            s,
            "CREATE SCHEMA app; CREATE TABLE app.kept (a int); INSERT INTO app.kept VALUES (7); \
             CREATE TEMP TABLE scratch (id serial PRIMARY KEY, v text); \
             INSERT INTO scratch (v) VALUES ('x')",
            vec![],
        )
        .unwrap();
        // Dropped when its session ends; another session never saw it.
        let other = e.connect();
        assert_eq!(
            e.execute(other, "SELECT * FROM scratch", vec![])
                .unwrap_err()
                .sqlstate()
                .as_str(),
            "42P01"
        );
        assert_eq!(count_temp(&mut e, s), Value::Int8(3));
        e.disconnect(s);
        assert_eq!(count_temp(&mut e, other), Value::Int8(0));
        // A temporary table alive at the crash.
        e.execute(other, "CREATE TEMP TABLE at_crash (a int)", vec![])
            .unwrap();
        assert_eq!(count_temp(&mut e, other), Value::Int8(1));
    }
    let image = |f: &FaultyStorage| f.crash_image(neuraldb::storage::CrashMode::DropUnsynced);
    let ctl2 = FaultController::new(6);
    let mut e = Engine::open(
        Box::new(FaultyStorage::new(&ctl2, image(&data))),
        Box::new(FaultyStorage::new(&ctl2, image(&wal))),
        EngineConfig::default(),
    )
    .unwrap();
    // Sessions 1 and 2 again: neither sees the dead sessions' tables.
    let s1 = e.connect();
    let s2 = e.connect();
    for s in [s1, s2] {
        assert_eq!(count_temp(&mut e, s), Value::Int8(0));
        assert_eq!(
            e.execute(s, "SELECT * FROM at_crash", vec![])
                .unwrap_err()
                .sqlstate()
                .as_str(),
            "42P01"
        );
    }
    let r = e.execute(s1, "SELECT a FROM app.kept", vec![]).unwrap();
    assert_eq!(r[0].rows, vec![vec![Value::Int4(7)]]);
}

#[test]
fn alter_column_type_is_transactional_isolated_and_durable() {
    use neuraldb::value::Value;
    let ctl = FaultController::new(5);
    let data = FaultyStorage::new(&ctl, Vec::new());
    let wal = FaultyStorage::new(&ctl, Vec::new());
    let texts = |r: &[Vec<Value>]| -> Vec<Value> { r.iter().map(|row| row[0].clone()).collect() };
    {
        let mut e = Engine::open(
            Box::new(data.clone()),
            Box::new(wal.clone()),
            EngineConfig::default(),
        )
        .unwrap();
        let a = e.connect();
        let b = e.connect();
        e.execute(
            a,
            "CREATE TABLE t (id int PRIMARY KEY, x int); CREATE INDEX t_x ON t (x); \
             INSERT INTO t SELECT g, g FROM generate_series(1, 50) g",
            vec![],
        )
        .unwrap();
        // A REPEATABLE READ snapshot taken before the ALTER commits keeps
        // the old type and rows, through a sequential or an index scan.
        e.execute(b, "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT 1", vec![])
            .unwrap();
        e.execute(
            a,
            "ALTER TABLE t ALTER COLUMN x TYPE text USING 'v' || x",
            vec![],
        )
        .unwrap();
        let r = e
            .execute(b, "SELECT x FROM t WHERE id <= 2 ORDER BY id", vec![])
            .unwrap();
        assert_eq!(texts(&r[0].rows), vec![Value::Int4(1), Value::Int4(2)]);
        let r = e
            .execute(b, "SELECT id FROM t WHERE x = 7", vec![])
            .unwrap();
        assert_eq!(texts(&r[0].rows), vec![Value::Int4(7)]);
        e.execute(b, "COMMIT", vec![]).unwrap();
        let r = e
            .execute(b, "SELECT x FROM t WHERE id <= 2 ORDER BY id", vec![])
            .unwrap();
        assert_eq!(
            texts(&r[0].rows),
            vec![Value::Text("v1".into()), Value::Text("v2".into())]
        );
        // ROLLBACK restores the type and data; a failed conversion too.
        e.execute(
            a,
            "BEGIN; ALTER TABLE t ALTER COLUMN x TYPE int USING length(x); ROLLBACK",
            vec![],
        )
        .unwrap();
        let err = e
            .execute(
                a,
                "ALTER TABLE t ALTER COLUMN x TYPE int USING x::int",
                vec![],
            )
            .unwrap_err();
        assert_eq!(err.sqlstate().as_str(), "22P02");
        let r = e
            .execute(a, "SELECT id FROM t WHERE x = 'v7'", vec![])
            .unwrap();
        assert_eq!(texts(&r[0].rows), vec![Value::Int4(7)]);
        // Dead versions' storage is freed by VACUUM; the table still reads.
        e.execute(a, "VACUUM", vec![]).unwrap();
        let r = e.execute(a, "SELECT count(*) FROM t", vec![]).unwrap();
        assert_eq!(texts(&r[0].rows), vec![Value::Int8(50)]);
        // Uncommitted at the crash: lost with it.
        e.execute(
            a,
            "BEGIN; ALTER TABLE t ALTER COLUMN id TYPE bigint, ALTER COLUMN x TYPE varchar(10)",
            vec![],
        )
        .unwrap();
    }
    let image = |f: &FaultyStorage| f.crash_image(neuraldb::storage::CrashMode::DropUnsynced);
    let ctl2 = FaultController::new(6);
    let mut e = Engine::open(
        Box::new(FaultyStorage::new(&ctl2, image(&data))),
        Box::new(FaultyStorage::new(&ctl2, image(&wal))),
        EngineConfig::default(),
    )
    .unwrap();
    let s = e.connect();
    let r = e
        .execute(
            s,
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute \
             WHERE attrelid = 't'::regclass AND attnum > 0 ORDER BY attnum",
            vec![],
        )
        .unwrap();
    assert_eq!(
        texts(&r[0].rows),
        vec![Value::Text("integer".into()), Value::Text("text".into())]
    );
    let r = e
        .execute(s, "SELECT id FROM t WHERE x = 'v9'", vec![])
        .unwrap();
    assert_eq!(texts(&r[0].rows), vec![Value::Int4(9)]);
    let err = e
        .execute(s, "INSERT INTO t VALUES (9, 'dup')", vec![])
        .unwrap_err();
    assert_eq!(err.sqlstate().as_str(), "23505");
    e.execute(s, "ALTER TABLE t ALTER COLUMN id TYPE bigint", vec![])
        .unwrap();
    let r = e
        .execute(
            s,
            "SELECT sum(id)::int8, pg_typeof(id)::text FROM t GROUP BY 2",
            vec![],
        )
        .unwrap();
    assert_eq!(
        r[0].rows,
        vec![vec![Value::Int8(1275), Value::Text("bigint".into())]]
    );
}

/// The plan cache (src/engine/plan_cache.rs) must not let a plan bound
/// under a REPEATABLE READ snapshot's older catalog outlive it, nor serve
/// an older plan after another session's DDL.
#[test]
fn cached_plans_follow_other_sessions_ddl_and_old_snapshots() {
    use neuraldb::value::Value;
    let mut e = Engine::open_memory().unwrap();
    let a = e.connect();
    let b = e.connect();
    e.execute(a, "CREATE TABLE u (a int)", vec![]).unwrap();
    e.execute(a, "CREATE TABLE other (x int)", vec![]).unwrap();
    e.execute(a, "INSERT INTO u VALUES (1)", vec![]).unwrap();
    let width = |e: &mut Engine, sql: &str| e.execute(a, sql, vec![]).unwrap()[0].columns.len();
    assert_eq!(width(&mut e, "SELECT * FROM u WHERE a = 1"), 1);
    // An old snapshot: taken before b's ALTER commits.
    e.execute(a, "BEGIN ISOLATION LEVEL REPEATABLE READ", vec![])
        .unwrap();
    e.execute(a, "SELECT count(*) FROM other WHERE x = 1", vec![])
        .unwrap();
    e.execute(b, "ALTER TABLE u ADD COLUMN z int DEFAULT 5", vec![])
        .unwrap();
    // What the old snapshot sees (the table without z) is bound now...
    let before = width(&mut e, "SELECT * FROM u WHERE a = 2");
    e.execute(a, "COMMIT", vec![]).unwrap();
    // ...and must not be what a new snapshot gets.
    assert_eq!(
        width(&mut e, "SELECT * FROM u WHERE a = 3"),
        2,
        "old snapshot saw {before} columns"
    );
    let rows = e.execute(a, "SELECT * FROM u WHERE a = 1", vec![]).unwrap();
    assert_eq!(rows[0].rows, vec![vec![Value::Int4(1), Value::Int4(5)]]);
    // b's DDL inside a transaction is seen once it commits, not before.
    e.execute(b, "BEGIN", vec![]).unwrap();
    e.execute(b, "ALTER TABLE u DROP COLUMN z", vec![]).unwrap();
    e.execute(b, "COMMIT", vec![]).unwrap();
    assert_eq!(width(&mut e, "SELECT * FROM u WHERE a = 4"), 1);
    // A rolled-back DROP leaves the table as it was.
    e.execute(b, "BEGIN", vec![]).unwrap();
    e.execute(b, "DROP TABLE other", vec![]).unwrap();
    e.execute(b, "ROLLBACK", vec![]).unwrap();
    let n = e
        .execute(a, "SELECT count(*) FROM other WHERE x = 2", vec![])
        .unwrap();
    assert_eq!(n[0].rows[0][0], Value::Int8(0));
}

/// A cursor over a table scan reads only as far as its batches: it walks a
/// table whose rows are far past `neuraldb.max_query_memory` (where a plain
/// SELECT fails with 53200), keeps its snapshot while another session
/// deletes and vacuums the rows between two fetches, and ends with its
/// transaction.
#[test]
fn a_cursor_streams_past_the_query_memory_limit_and_keeps_its_snapshot() {
    use neuraldb::value::Value;
    let mut e = Engine::open_memory().unwrap();
    let s = e.connect();
    let other = e.connect();
    e.execute(
        s,
        "CREATE TABLE wide (id int, s text); \
         INSERT INTO wide SELECT g, repeat('y', 1000) FROM generate_series(1, 20000) g",
        vec![],
    )
    .unwrap();
    e.execute(s, "SET neuraldb.max_query_memory = '2MB'", vec![])
        .unwrap();
    let err = e.execute(s, "SELECT id, s FROM wide", vec![]).unwrap_err();
    assert_eq!(err.sqlstate().0, "53200");
    e.execute(
        s,
        "BEGIN; DECLARE c NO SCROLL CURSOR FOR SELECT id, length(s) FROM wide WHERE id % 2 = 0",
        vec![],
    )
    .unwrap();
    let (mut count, mut sum) = (0i64, 0i64);
    for batch in 0.. {
        let r = e.execute(s, "FETCH 700 FROM c", vec![]).unwrap();
        let r = &r[0];
        assert_eq!(r.command, format!("FETCH {}", r.rows.len()));
        for row in &r.rows {
            let (Value::Int4(id), Value::Int4(len)) = (&row[0], &row[1]) else {
                panic!("unexpected row {row:?}");
            };
            assert_eq!(*len, 1000);
            count += 1;
            sum += *id as i64;
        }
        if batch == 2 {
            // Other sessions run between fetches: their deletes and the
            // vacuum after them must not take rows from under the cursor.
            e.execute(other, "DELETE FROM wide WHERE id > 5000", vec![])
                .unwrap();
            e.execute(other, "VACUUM wide", vec![]).unwrap();
            e.execute(other, "INSERT INTO wide VALUES (30000, 'late')", vec![])
                .unwrap();
        }
        if r.rows.is_empty() {
            break;
        }
    }
    assert_eq!(count, 10_000);
    assert_eq!(sum, (1..=10_000).map(|i| 2 * i).sum::<i64>());
    let moved = e.execute(s, "MOVE ALL FROM c", vec![]).unwrap();
    assert_eq!(moved[0].command, "MOVE 0");
    e.execute(s, "COMMIT", vec![]).unwrap();
    let err = e.execute(s, "FETCH c", vec![]).unwrap_err();
    assert_eq!(err.sqlstate().0, "34000");
    let r = e.execute(s, "SELECT count(*) FROM wide", vec![]).unwrap();
    assert_eq!(r[0].rows[0][0], Value::Int8(5001));
    // Its own transaction dropping the table: the FETCH is refused
    // (PostgreSQL refuses the DROP, with the same SQLSTATE).
    e.execute(
        s,
        "BEGIN; DECLARE d CURSOR FOR SELECT id FROM wide; DROP TABLE wide",
        vec![],
    )
    .unwrap();
    let err = e.execute(s, "FETCH d", vec![]).unwrap_err();
    assert_eq!(err.sqlstate().0, "55006");
    e.execute(s, "ROLLBACK", vec![]).unwrap();
}

/// A dropped table bigger than the buffer pool can free at once keeps its
/// storage (its frees are one change, which must fit the pool): DROP
/// and VACUUM succeed, VACUUM warns, smaller dropped tables are freed,
/// and the database stays whole.
#[test]
fn dropping_a_table_bigger_than_the_pool() {
    use neuraldb::value::Value;
    let mut cfg = EngineConfig::default();
    cfg.pager.pool_bytes = 1 << 20;
    let mut e = Engine::open(
        Box::new(neuraldb::storage::MemoryStorage::new()),
        Box::new(neuraldb::storage::MemoryStorage::new()),
        cfg,
    )
    .unwrap();
    let s = e.connect();
    e.execute(
        s,
        "CREATE TABLE big (id int PRIMARY KEY, v text); \
         INSERT INTO big SELECT g, repeat('x', 200) FROM generate_series(1, 40000) g; \
         CREATE TABLE small (id int); INSERT INTO small SELECT generate_series(1, 3000); \
         CREATE TABLE keep (id int); INSERT INTO keep VALUES (1), (2)",
        vec![],
    )
    .unwrap();
    let pages = e.database_pages();
    assert!(pages > 1000, "{pages} pages");
    e.execute(s, "DROP TABLE big", vec![]).unwrap();
    assert_eq!(e.database_pages(), pages, "too big to free at once");
    e.take_notices(s);
    e.execute(s, "VACUUM", vec![]).unwrap();
    assert!(
        e.take_notices(s)
            .iter()
            .any(|n| n.body.message.contains("keep their storage")),
        "VACUUM warns"
    );
    e.execute(s, "DROP TABLE small", vec![]).unwrap();
    let free = e.execute(s, "SELECT count(*) FROM keep", vec![]).unwrap();
    assert_eq!(free[0].rows[0][0], Value::Int8(2));
    e.execute(s, "VACUUM", vec![]).unwrap();
    let r = e.execute(s, "SELECT sum(id) FROM keep", vec![]).unwrap();
    assert_eq!(r[0].rows[0][0], Value::Int8(3));
}
