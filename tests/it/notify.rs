//! LISTEN / UNLISTEN / NOTIFY between engine sessions, and the commit
//! events live queries follow.

use neuraldb::engine::{CommitEvent, Engine, Notification};
use neuraldb::value::Value;

fn run(e: &mut Engine, sid: u32, sql: &str) {
    if let Err(err) = e.execute(sid, sql, vec![]) {
        panic!("{sql}: {err}");
    }
}

fn payloads(e: &mut Engine, sid: u32) -> Vec<String> {
    e.take_notifications(sid, usize::MAX)
        .into_iter()
        .map(|n| n.payload)
        .collect()
}

#[test]
fn notifications_arrive_at_commit_in_order_deduplicated_never_rolled_back() {
    let mut e = Engine::open_memory().unwrap();
    let listener = e.connect();
    let sender = e.connect();
    run(&mut e, listener, "LISTEN jobs");
    run(&mut e, sender, "BEGIN");
    run(&mut e, sender, "NOTIFY jobs, 'a'");
    run(&mut e, sender, "SELECT pg_notify('jobs', 'b')");
    run(&mut e, sender, "NOTIFY jobs, 'a'");
    run(&mut e, sender, "SAVEPOINT s");
    run(&mut e, sender, "NOTIFY jobs, 'undone'");
    run(&mut e, sender, "ROLLBACK TO s");
    run(&mut e, sender, "NOTIFY elsewhere, 'c'");
    // Nothing before the commit.
    assert!(e.notified_sessions().is_empty());
    run(&mut e, sender, "COMMIT");
    assert_eq!(e.notified_sessions(), vec![listener]);
    let got = e.take_notifications(listener, usize::MAX);
    assert_eq!(
        got,
        ["a", "b"]
            .iter()
            .map(|p| Notification {
                channel: "jobs".into(),
                payload: (*p).into(),
                sender,
            })
            .collect::<Vec<_>>()
    );
    // A rolled-back transaction sends nothing.
    run(&mut e, sender, "BEGIN; NOTIFY jobs, 'no'; ROLLBACK");
    assert!(payloads(&mut e, listener).is_empty());
    // A listener inside a transaction receives after it ends.
    run(&mut e, listener, "BEGIN");
    run(&mut e, sender, "NOTIFY jobs, 'later'");
    assert!(payloads(&mut e, listener).is_empty());
    run(&mut e, listener, "COMMIT");
    assert_eq!(payloads(&mut e, listener), ["later"]);
    // LISTEN itself is transactional.
    run(&mut e, listener, "BEGIN; UNLISTEN jobs; ROLLBACK");
    run(&mut e, sender, "NOTIFY jobs, 'still'");
    assert_eq!(payloads(&mut e, listener), ["still"]);
    let channels = e
        .execute(listener, "SELECT * FROM pg_listening_channels()", vec![])
        .unwrap();
    assert_eq!(channels[0].rows, vec![vec![Value::Text("jobs".into())]]);
    // A session that ends listens no more, and its queue goes.
    run(&mut e, sender, "NOTIFY jobs, 'queued'");
    e.disconnect(listener);
    assert!(e.notified_sessions().is_empty());
    // PREPARE TRANSACTION refuses them, as PostgreSQL does.
    let err = e
        .execute(
            sender,
            "BEGIN; NOTIFY jobs; PREPARE TRANSACTION 'x'",
            vec![],
        )
        .unwrap_err();
    assert_eq!(err.sqlstate().0, "0A000");
}

#[test]
fn a_full_notification_queue_fails_the_commit_with_54000() {
    let mut e = Engine::open_memory().unwrap();
    let listener = e.connect();
    let sender = e.connect();
    run(&mut e, listener, "LISTEN big");
    // 8,500 distinct payloads of ~8 kB: more than the 64 MiB queue.
    let err = e
        .execute(
            sender,
            "SELECT count(pg_notify('big', repeat('x', 7990) || g)) FROM generate_series(1, 8500) AS g",
            vec![],
        )
        .unwrap_err();
    assert_eq!(err.sqlstate().0, "54000", "{err}");
    assert!(e.notified_sessions().is_empty());
    // The session and the queue stay usable.
    run(&mut e, sender, "NOTIFY big, 'small'");
    assert_eq!(payloads(&mut e, listener), ["small"]);
}

#[test]
fn commit_events_name_the_relations_written_and_queries_name_what_they_read() {
    let mut e = Engine::open_memory().unwrap();
    let s = e.connect();
    run(
        &mut e,
        s,
        "CREATE TABLE parent (id int PRIMARY KEY);
         CREATE TABLE child (id int PRIMARY KEY, p int REFERENCES parent ON DELETE CASCADE);
         CREATE TABLE other (x int);
         CREATE VIEW kids AS SELECT c.id FROM child c WHERE c.p IN (SELECT id FROM parent);
         INSERT INTO parent VALUES (1); INSERT INTO child VALUES (10, 1)",
    );
    let oid = |e: &mut Engine, name: &str| -> u32 {
        let r = e
            .execute(s, &format!("SELECT '{name}'::regclass::oid::int8"), vec![])
            .unwrap();
        match r[0].rows[0][0] {
            Value::Int8(o) => o as u32,
            ref v => panic!("{v:?}"),
        }
    };
    let (parent, child, other, kids) = (
        oid(&mut e, "parent"),
        oid(&mut e, "child"),
        oid(&mut e, "other"),
        oid(&mut e, "kids"),
    );
    e.set_change_tracking(true);
    run(&mut e, s, "SELECT * FROM parent");
    run(&mut e, s, "BEGIN; INSERT INTO other VALUES (1); ROLLBACK");
    assert!(
        e.take_commit_events().is_empty(),
        "reads and rollbacks are no change"
    );
    run(&mut e, s, "INSERT INTO other VALUES (1)");
    // A cascading delete changes the child too.
    run(&mut e, s, "DELETE FROM parent WHERE id = 1");
    let events = e.take_commit_events();
    let mut second = events[1].relations.clone().unwrap();
    second.sort_unstable();
    let mut want = vec![parent, child];
    want.sort_unstable();
    assert_eq!(
        events,
        vec![
            CommitEvent {
                sender: s,
                relations: Some(vec![other])
            },
            CommitEvent {
                sender: s,
                relations: Some(second.clone())
            },
        ]
    );
    assert_eq!(second, want);
    // A query through a view and a subquery reads all of them.
    let mut read = e
        .relations_read(
            s,
            "SELECT * FROM kids WHERE id > (SELECT count(*) FROM other)",
        )
        .unwrap();
    read.sort_unstable();
    let mut want = vec![kids, child, parent, other];
    want.sort_unstable();
    assert_eq!(read, want);
    let err = e.relations_read(s, "DELETE FROM other").unwrap_err();
    assert_eq!(err.sqlstate().0, "0A000");
}
