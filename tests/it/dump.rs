//! Dump and restore (`Engine::dump`, `Engine::restore`): a database with
//! every supported type and object kind survives dump → restore into a
//! fresh engine with identical query results and an identical second
//! dump; a failing restore names its statement and line and leaves
//! nothing behind; pg_dump's plain output (PostgreSQL 15) loads.

use neuraldb::engine::Engine;
use neuraldb::value::tz::TimeZone;

const FIXTURE: &str = include_str!("../dump/fixture.sql");
/// `pg_dump` (15.x) of a PostgreSQL database loaded from FIXTURE's dump.
const PG_DUMP: &str = include_str!("../dump/pg_dump_fixture.sql");

/// The fixture plus what PostgreSQL's test cluster lacks (pgvector) and a
/// temporary table, which a dump leaves out.
const EXTRA: &str = "
CREATE TABLE public.emb (id integer PRIMARY KEY, v vector(3), h halfvec(2), note text);
INSERT INTO emb VALUES (1, '[1,2,3]', '[0.5,1]', 'a'), (2, '[-1,0,1.5]', NULL, NULL), (3, NULL, '[2,3]', 'c');
CREATE INDEX emb_hnsw ON public.emb USING hnsw (v vector_l2_ops) WITH (m = 8, ef_construction = 32);
CREATE INDEX emb_cos ON public.emb USING hnsw (v vector_cosine_ops);
CREATE TEMP TABLE scratch (x integer);
INSERT INTO scratch VALUES (1);
";

const TABLES: &[&str] = &[
    "public.kinds",
    "app.parent",
    "app.child",
    "public.emb",
    "public.big_kinds",
    "app.child_totals",
];

fn engine_with(sql: &str) -> (Engine, u32) {
    let mut e = Engine::open_memory().expect("open");
    let s = e.connect();
    e.execute(s, sql, Vec::new()).expect("fixture runs");
    (e, s)
}

/// Every row of `table` ordered by all its columns, as text.
fn rows(e: &mut Engine, s: u32, table: &str) -> Vec<Vec<Option<String>>> {
    let tz = TimeZone::utc();
    let r = e
        .execute(s, &format!("SELECT * FROM {table} ORDER BY 1"), Vec::new())
        .unwrap_or_else(|err| panic!("{table}: {err}"));
    r[0].rows
        .iter()
        .map(|row| row.iter().map(|v| v.to_pg_text(&tz)).collect())
        .collect()
}

fn scalar(e: &mut Engine, s: u32, sql: &str) -> Option<String> {
    let r = e.execute(s, sql, Vec::new()).expect(sql);
    r[0].rows[0][0].to_pg_text(&TimeZone::utc())
}

#[test]
fn dump_restores_to_identical_results_and_dumps_identically() {
    let (mut a, sa) = engine_with(&format!("{FIXTURE}{EXTRA}"));
    let script = a.dump(sa).expect("dump");
    assert!(
        !script.contains("scratch"),
        "temporary tables are not dumped"
    );
    assert!(script.contains("CREATE EXTENSION IF NOT EXISTS vector;"));
    assert!(script.contains("USING hnsw (v vector_l2_ops) WITH (m='8', ef_construction='32')"));
    // Data before the constraints that check it.
    let copy = script.find("COPY app.child").expect("child data");
    let fk = script
        .find("ADD CONSTRAINT child_parent_id_fkey")
        .expect("fk");
    let pk = script.find("ADD CONSTRAINT parent_pkey").expect("pk");
    assert!(copy < pk && pk < fk, "data, keys, foreign keys in order");
    // The dump ran in its own transaction and left the session idle.
    assert_eq!(scalar(&mut a, sa, "SELECT 1").as_deref(), Some("1"));

    let mut b = Engine::open_memory().expect("open");
    let sb = b.connect();
    let summary = b.restore(sb, &script).expect("restore");
    assert_eq!(summary.rows, 3 + 3 + 4 + 3);
    for t in TABLES {
        assert_eq!(rows(&mut a, sa, t), rows(&mut b, sb, t), "{t}");
    }
    // Sequences continue where they were, serial defaults still work.
    for s in ["public.counter", "public.kinds_id_seq", "app.child_id_seq"] {
        let q = format!("SELECT nextval('{s}')");
        assert_eq!(scalar(&mut a, sa, &q), scalar(&mut b, sb, &q), "{s}");
    }
    // Comments, constraints and their flags came along.
    for q in [
        "SELECT obj_description('public.kinds'::regclass, 'pg_class')",
        "SELECT col_description('public.kinds'::regclass, 9)",
        "SELECT string_agg(conname || ':' || contype || condeferrable || condeferred || confdeltype || confupdtype, ',' ORDER BY conname) FROM pg_constraint",
        "SELECT string_agg(pg_get_indexdef(indexrelid), ';' ORDER BY indexrelid::regclass::text) FROM pg_index",
        "SELECT pg_get_viewdef('app.child_totals'::regclass)",
    ] {
        assert_eq!(scalar(&mut a, sa, q), scalar(&mut b, sb, q), "{q}");
    }
    // Restored constraints act: cascade, check, the deferred key.
    b.execute(sb, "DELETE FROM app.parent WHERE id = 1", Vec::new())
        .expect("cascade");
    assert_eq!(
        scalar(&mut b, sb, "SELECT count(*) FROM app.child").as_deref(),
        Some("2")
    );
    let e = b
        .execute(sb, "INSERT INTO kinds (i4) VALUES (-1)", Vec::new())
        .expect_err("check");
    assert_eq!(e.sqlstate().0, "23514");
    // The restore left the session's search_path as it was.
    assert_eq!(
        scalar(&mut b, sb, "SHOW search_path").as_deref(),
        Some("\"$user\", public")
    );

    let again = b.dump(sb).expect("second dump");
    let (mut c, sc) = engine_with(&format!("{FIXTURE}{EXTRA}"));
    let fresh = c.dump(sc).expect("dump");
    assert_eq!(fresh, script, "a dump is deterministic");
    // b changed since (a delete, nextvals): restore again and compare.
    let mut d = Engine::open_memory().expect("open");
    let sd = d.connect();
    d.restore(sd, &again).expect("restore the second dump");
    assert_eq!(d.dump(sd).expect("third dump"), again, "dump is idempotent");
    let _ = scalar(&mut c, sc, "SELECT 1");
}

#[test]
fn restore_is_all_or_nothing_and_names_the_failing_statement() {
    let script = "SET client_min_messages = warning;\n\
                  CREATE TABLE public.t (a integer PRIMARY KEY, b text);\n\
                  COPY public.t (a, b) FROM stdin;\n\
                  1\tone\n\
                  2\ttwo\n\
                  \\.\n\
                  \n\
                  -- the statement that fails:\n\
                  INSERT INTO public.missing\n    VALUES (1);\n\
                  CREATE TABLE public.u (x integer);\n";
    let mut e = Engine::open_memory().expect("open");
    let s = e.connect();
    let err = e.restore(s, script).expect_err("fails");
    assert_eq!(err.sqlstate().0, "42P01", "{err}");
    let msg = err.to_string();
    assert!(msg.contains("line 9"), "{msg}");
    assert!(
        msg.contains("INSERT INTO public.missing VALUES (1);"),
        "{msg}"
    );
    // Nothing of it stayed, and the session is usable.
    let gone = e
        .execute(s, "SELECT * FROM public.t", Vec::new())
        .expect_err("rolled back");
    assert_eq!(gone.sqlstate().0, "42P01");

    // Bad COPY data fails with COPY's own error, named likewise.
    let bad = "CREATE TABLE public.t (a integer);\nCOPY public.t (a) FROM stdin;\nx\n\\.\n";
    let err = e.restore(s, bad).expect_err("bad data");
    assert_eq!(err.sqlstate().0, "22P02", "{err}");
    assert!(err.to_string().contains("line 2"), "{err}");
    // An unknown meta-command and a COPY without its end.
    let err = e.restore(s, "\\i other.sql\n").expect_err("meta");
    assert_eq!(err.sqlstate().0, "0A000");
    let err = e
        .restore(
            s,
            "CREATE TABLE public.t (a integer);\nCOPY public.t FROM stdin;\n1\n",
        )
        .expect_err("no \\.");
    assert_eq!(err.sqlstate().0, "42601");
    assert!(e.execute(s, "SELECT * FROM public.t", Vec::new()).is_err());
    // Transaction control would break all-or-nothing.
    let err = e
        .restore(s, "CREATE TABLE public.t (a integer);\nCOMMIT;\n")
        .expect_err("commit");
    assert_eq!(err.sqlstate().0, "0A000");
    assert!(e.execute(s, "SELECT * FROM public.t", Vec::new()).is_err());
    // Not inside a transaction block.
    e.execute(s, "BEGIN", Vec::new()).expect("begin");
    assert_eq!(
        e.restore(s, "SELECT 1;")
            .expect_err("in block")
            .sqlstate()
            .0,
        "25001"
    );
    assert_eq!(e.dump(s).expect_err("in block").sqlstate().0, "25001");
    e.execute(s, "ROLLBACK", Vec::new()).expect("rollback");
}

#[test]
fn pg_dump_output_of_postgres_15_restores() {
    let mut e = Engine::open_memory().expect("open");
    let s = e.connect();
    let summary = e.restore(s, PG_DUMP).expect("pg_dump output loads");
    assert_eq!(summary.rows, 3 + 3 + 4);
    let (mut a, sa) = engine_with(FIXTURE);
    for t in [
        "public.kinds",
        "app.parent",
        "app.child",
        "public.big_kinds",
        "app.child_totals",
    ] {
        assert_eq!(rows(&mut a, sa, t), rows(&mut e, s, t), "{t}");
    }
    for seq in ["public.counter", "public.kinds_id_seq", "app.child_id_seq"] {
        let q = format!("SELECT nextval('{seq}')");
        assert_eq!(scalar(&mut a, sa, &q), scalar(&mut e, s, &q), "{seq}");
    }
    // ALTER SEQUENCE ... OWNED BY took: the sequence goes with its table.
    e.execute(s, "DROP TABLE app.child CASCADE", Vec::new())
        .expect("drop");
    assert!(e
        .execute(s, "SELECT nextval('app.child_id_seq')", Vec::new())
        .is_err());
}

#[test]
fn statements_pg_dump_emits() {
    let (mut e, s) = engine_with(
        "CREATE TABLE t (id integer NOT NULL, v text) WITH (fillfactor='100');\n\
         CREATE SEQUENCE public.t_id_seq AS integer START WITH 10 INCREMENT BY 2 NO MINVALUE NO MAXVALUE CACHE 1;\n\
         ALTER SEQUENCE public.t_id_seq OWNED BY public.t.id;\n\
         ALTER TABLE ONLY public.t ALTER COLUMN id SET DEFAULT nextval('public.t_id_seq'::regclass);\n\
         ALTER TABLE public.t OWNER TO postgres;\n\
         ALTER TABLE public.t_id_seq OWNER TO postgres;\n\
         ALTER SEQUENCE public.t_id_seq OWNER TO postgres;\n\
         ALTER SCHEMA public OWNER TO pg_database_owner;\n\
         COMMENT ON SCHEMA public IS 'standard public schema';\n\
         SET default_table_access_method = heap;\n\
         SET xmloption = content;\n\
         SET row_security = off;\n\
         INSERT INTO t (v) VALUES ('a'), ('b');\n",
    );
    assert_eq!(
        scalar(
            &mut e,
            s,
            "SELECT string_agg(id::text, ',' ORDER BY id) FROM t"
        )
        .as_deref(),
        Some("10,12")
    );
    assert_eq!(
        scalar(&mut e, s, "SELECT pg_get_serial_sequence('t', 'id')").as_deref(),
        Some("public.t_id_seq")
    );
    for (sql, code) in [
        ("ALTER TABLE public.nope OWNER TO postgres", "42P01"),
        ("ALTER SCHEMA nope OWNER TO postgres", "3F000"),
        ("ALTER SEQUENCE public.t OWNED BY public.t.id", "42809"),
        (
            "ALTER SEQUENCE public.t_id_seq OWNED BY public.t.nope",
            "42703",
        ),
        ("ALTER SEQUENCE public.t_id_seq RESTART", "0A000"),
        ("CREATE SEQUENCE s2 CYCLE", "0A000"),
        ("CREATE SEQUENCE s2 MAXVALUE 5", "0A000"),
        ("CREATE SEQUENCE s2 AS text", "22023"),
    ] {
        let err = e.execute(s, sql, Vec::new()).expect_err(sql);
        assert_eq!(err.sqlstate().0, code, "{sql}: {err}");
    }
    // OWNED BY NONE: the sequence outlives its table.
    e.execute(
        s,
        "ALTER SEQUENCE public.t_id_seq OWNED BY NONE; ALTER TABLE t ALTER COLUMN id DROP DEFAULT; DROP TABLE t",
        Vec::new(),
    )
    .expect("owned by none");
    assert_eq!(
        scalar(&mut e, s, "SELECT nextval('public.t_id_seq')").as_deref(),
        Some("14")
    );
}
