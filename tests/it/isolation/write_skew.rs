//! A seeded, write-skew-prone bank at SERIALIZABLE: each customer has a
//! checking and a savings account, and a withdrawal from either is allowed
//! when the customer's two balances together stay at or above zero. Two
//! concurrent withdrawals from the two accounts of one customer each see
//! enough money and write different rows: the classic write skew. Under
//! SSI the invariant must hold; under REPEATABLE READ the same workload
//! must break it (so the test can fail).
//!
//! Sixteen sessions interleave statement by statement in a seeded order;
//! a transaction that fails with 40001 or 40P01 rolls back and retries.
//! `NEURALDB_SKEW_TXNS=N` changes how many transactions commit.

use std::collections::VecDeque;

use neuraldb::util::Rng;
use neuraldb::value::Value;

use super::harness::*;

const CUSTOMERS: i64 = 12;
const INITIAL: i64 = 50;
const SESSIONS: usize = 16;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Iso {
    Serializable,
    RepeatableRead,
}

/// One session's transaction: the statements left to send.
struct Teller {
    sid: SessionId,
    script: VecDeque<String>,
    /// The current transaction (customer, account, amount, withdrawal),
    /// for retries.
    txn: Option<(i64, i64, i64, bool)>,
    parked: bool,
    /// The sum read by the current transaction, once known.
    seen_sum: Option<i64>,
}

#[derive(Debug, Default)]
struct Stats {
    committed: u64,
    retries: u64,
    refused: u64,
    /// Commits after which the customer's committed balances summed below
    /// zero.
    violations: u64,
}

struct Skew {
    engine: Engine,
    iso: Iso,
    rng: Rng,
    tellers: Vec<Teller>,
    /// Checks the invariant after each commit (autocommit reads).
    checker: SessionId,
    stats: Stats,
}

fn int(v: &Value) -> i64 {
    match v {
        Value::Int4(n) => *n as i64,
        Value::Int8(n) => *n,
        Value::Null => 0,
        other => panic!("not an integer: {other:?}"),
    }
}

impl Skew {
    fn new(iso: Iso, seed: u64) -> Skew {
        let mut engine = test_engine();
        let admin = engine.connect();
        engine
            .execute(
                admin,
                &format!(
                    "CREATE TABLE acct (cust int, kind int, balance int, PRIMARY KEY (cust, kind)); \
                     INSERT INTO acct SELECT c, k, {INITIAL} FROM generate_series(1, {CUSTOMERS}) c, \
                     generate_series(0, 1) k"
                ),
                Vec::new(),
            )
            .expect("setup");
        let tellers = (0..SESSIONS)
            .map(|_| Teller {
                sid: engine.connect(),
                script: VecDeque::new(),
                txn: None,
                parked: false,
                seen_sum: None,
            })
            .collect();
        let checker = engine.connect();
        Skew {
            checker,
            engine,
            iso,
            rng: Rng::new(seed),
            tellers,
            stats: Stats::default(),
        }
    }

    fn begin(&self) -> &'static str {
        match self.iso {
            Iso::Serializable => "BEGIN ISOLATION LEVEL SERIALIZABLE",
            Iso::RepeatableRead => "BEGIN ISOLATION LEVEL REPEATABLE READ",
        }
    }

    /// Starts (or restarts) teller `i`'s transaction.
    fn start(&mut self, i: usize, txn: (i64, i64, i64, bool)) {
        let (cust, _, _, _) = txn;
        let begin = self.begin().to_string();
        let t = &mut self.tellers[i];
        t.txn = Some(txn);
        t.seen_sum = None;
        t.script = VecDeque::from([
            begin,
            format!("SELECT sum(balance) FROM acct WHERE cust = {cust}"),
        ]);
    }

    fn new_txn(&mut self) -> (i64, i64, i64, bool) {
        let cust = 1 + self.rng.below(CUSTOMERS as u64) as i64;
        let kind = self.rng.below(2) as i64;
        let withdraw = !self.rng.chance(45);
        let amount = if withdraw {
            10 + self.rng.below(60) as i64
        } else {
            1 + self.rng.below(30) as i64
        };
        (cust, kind, amount, withdraw)
    }

    /// What teller `i` does with an outcome.
    fn handle(&mut self, i: usize, o: Outcome) {
        if let Some(e) = &o.error {
            let code = e.sqlstate().as_str().to_string();
            assert!(
                code == "40001" || code == "40P01",
                "unexpected error {code}: {e}"
            );
            self.stats.retries += 1;
            let txn = self.tellers[i].txn.expect("in a transaction");
            // Roll back (synchronously: ROLLBACK never waits), then retry.
            let sid = self.tellers[i].sid;
            self.engine
                .execute(sid, "ROLLBACK", Vec::new())
                .expect("rollback");
            self.start(i, txn);
            return;
        }
        let t = &mut self.tellers[i];
        let last = o.results.last();
        if let Some(r) = last.filter(|r| r.command.starts_with("SELECT")) {
            let sum = int(&r.rows[0][0]);
            t.seen_sum = Some(sum);
            let (cust, kind, amount, withdraw) = t.txn.expect("in a transaction");
            if withdraw && sum - amount < 0 {
                // Not enough money: nothing to do.
                t.script.push_back("ROLLBACK".into());
                self.stats.refused += 1;
            } else {
                let delta = if withdraw { -amount } else { amount };
                t.script.push_back(format!(
                    "UPDATE acct SET balance = balance + {delta} WHERE cust = {cust} AND kind = {kind}"
                ));
                t.script.push_back("COMMIT".into());
            }
        } else if last.is_some_and(|r| r.command == "COMMIT") {
            let (cust, ..) = t.txn.take().expect("in a transaction");
            self.stats.committed += 1;
            let r = self
                .engine
                .execute(
                    self.checker,
                    &format!("SELECT sum(balance) FROM acct WHERE cust = {cust}"),
                    Vec::new(),
                )
                .expect("check");
            if int(&r[0].rows[0][0]) < 0 {
                self.stats.violations += 1;
            }
        } else if last.is_some_and(|r| r.command == "ROLLBACK") {
            t.txn = None;
        }
    }

    fn run(mut self, target: u64) -> Stats {
        let mut steps = 0u64;
        while self.stats.committed < target {
            steps += 1;
            assert!(steps < target * 200, "the workload does not progress");
            let i = self.rng.below(SESSIONS as u64) as usize;
            if self.tellers[i].parked {
                continue;
            }
            if self.tellers[i].txn.is_none() {
                let txn = self.new_txn();
                self.start(i, txn);
            }
            let Some(sql) = self.tellers[i].script.pop_front() else {
                continue;
            };
            let sid = self.tellers[i].sid;
            match self.engine.submit(sid, &sql, Vec::new()) {
                Submitted::Done(o) => self.handle(i, o),
                Submitted::Parked => self.tellers[i].parked = true,
            }
            for (sid, o) in self.engine.take_completions() {
                let j = self
                    .tellers
                    .iter()
                    .position(|t| t.sid == sid)
                    .expect("a teller");
                self.tellers[j].parked = false;
                self.handle(j, o);
            }
        }
        self.stats
    }
}

fn target() -> u64 {
    std::env::var("NEURALDB_SKEW_TXNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
}

#[test]
fn isolation_write_skew_bank_serializable_keeps_the_invariant() {
    let stats = Skew::new(Iso::Serializable, 7).run(target());
    let attempts = stats.committed + stats.retries;
    eprintln!(
        "write-skew bank SERIALIZABLE: {} committed ({} refused for lack of money), {} serialization failures or deadlocks ({:.1}% of attempts)",
        stats.committed,
        stats.refused,
        stats.retries,
        100.0 * stats.retries as f64 / attempts as f64
    );
    assert_eq!(
        stats.violations, 0,
        "a customer's balances summed below zero under SERIALIZABLE: {stats:?}"
    );
    assert!(stats.retries > 0, "no transaction ever conflicted");
}

#[test]
fn isolation_write_skew_bank_repeatable_read_breaks_the_invariant() {
    let stats = Skew::new(Iso::RepeatableRead, 7).run(2_000);
    eprintln!("write-skew bank REPEATABLE READ: {stats:?}");
    assert!(
        stats.violations > 0,
        "REPEATABLE READ should allow write skew: {stats:?}"
    );
}
