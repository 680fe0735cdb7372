//! A seeded bank-transfer workload over many sessions.

use neuraldb::util::Rng;

use super::harness::*;

// ---- 9. bank transfers -----------------------------------------------------------

const ACCOUNTS: i64 = 8;
const INITIAL: i64 = 100;

#[derive(Default, Debug)]
struct BankStats {
    committed: u64,
    parks: u64,
    deadlocks: u64,
    serialization_failures: u64,
    check_failures: u64,
    voluntary_rollbacks: u64,
    checkpoints: u64,
}

struct Teller {
    sid: SessionId,
    /// (from, to, amount) of the transfer in progress.
    transfer: Option<(i64, i64, i64)>,
    /// Index of the next statement: 0 BEGIN, 1 debit, 2 credit, 3 COMMIT
    /// (or ROLLBACK when `give_up`).
    next: usize,
    /// The transaction failed; the next statement is ROLLBACK.
    failed: bool,
    /// After the failed transaction's ROLLBACK, retry the transfer.
    retry: bool,
    /// End this transfer with a voluntary ROLLBACK.
    give_up: bool,
    parked: bool,
    /// The statement last submitted, for messages.
    last: String,
}

impl Teller {
    fn statement(&self, level: Level) -> String {
        let (from, to, amount) = self.transfer.expect("a transfer in progress");
        if self.failed {
            return "ROLLBACK".into();
        }
        match self.next {
            0 => level.begin().into(),
            1 => format!("UPDATE acct SET balance = balance - {amount} WHERE id = {from}"),
            2 => format!("UPDATE acct SET balance = balance + {amount} WHERE id = {to}"),
            _ if self.give_up => "ROLLBACK".into(),
            _ => "COMMIT".into(),
        }
    }
}

struct Bank {
    engine: Engine,
    level: Level,
    rng: Rng,
    tellers: Vec<Teller>,
    observer: SessionId,
    /// Balances implied by the committed transfers.
    model: Vec<i64>,
    stats: BankStats,
    /// The observer's open REPEATABLE READ snapshot of all balances.
    observed: Option<Vec<String>>,
    trace: Vec<String>,
}

impl Bank {
    fn new(level: Level, seed: u64, tellers: usize) -> Bank {
        let mut engine = super::harness::test_engine();
        let setup = engine.connect();
        engine
            .execute(
                setup,
                &format!(
                    "CREATE TABLE acct (id int PRIMARY KEY, balance int8 NOT NULL CHECK (balance >= 0));
                     INSERT INTO acct SELECT g, {INITIAL} FROM generate_series(1, {ACCOUNTS}) g"
                ),
                Vec::new(),
            )
            .expect("bank setup");
        engine.disconnect(setup);
        let tellers = (0..tellers)
            .map(|_| Teller {
                sid: engine.connect(),
                transfer: None,
                next: 0,
                failed: false,
                retry: false,
                give_up: false,
                parked: false,
                last: String::new(),
            })
            .collect();
        let observer = engine.connect();
        Bank {
            engine,
            level,
            rng: Rng::new(seed),
            tellers,
            observer,
            model: vec![INITIAL; ACCOUNTS as usize],
            stats: BankStats::default(),
            observed: None,
            trace: Vec::new(),
        }
    }

    fn fail(&self, msg: &str) -> ! {
        let start = self.trace.len().saturating_sub(40);
        panic!(
            "bank workload ({:?}) failed: {msg}\nstats: {:?}\nlast steps:\n  {}",
            self.level,
            self.stats,
            self.trace[start..].join("\n  ")
        );
    }

    /// Applies the outcome of teller `i`'s last statement.
    fn handle(&mut self, i: usize, o: Outcome) {
        let desc = describe(&o);
        self.trace.push(format!("teller {i} <- {desc}"));
        let t = &mut self.tellers[i];
        t.parked = false;
        let stmt = t.last.clone();
        if let Some(e) = &o.error {
            let code = e.sqlstate().as_str();
            if t.failed {
                self.fail(&format!("teller {i}: ROLLBACK failed: {desc}"));
            }
            match code {
                "40P01" => self.stats.deadlocks += 1,
                "40001" if self.level == RR => self.stats.serialization_failures += 1,
                "23514" if t.next == 1 => self.stats.check_failures += 1,
                _ => self.fail(&format!("teller {i}: {stmt:?} -> {desc}")),
            }
            let t = &mut self.tellers[i];
            // Insufficient funds: give up; conflicts: retry.
            t.retry = code != "23514";
            t.failed = true;
            if self.engine.txn_status(t.sid) != TxnStatus::Failed {
                self.fail(&format!("teller {i}: block not failed after {desc}"));
            }
            return;
        }
        let tag = o
            .results
            .last()
            .map(|r| r.command.clone())
            .unwrap_or_default();
        let t = &mut self.tellers[i];
        if t.failed {
            if tag != "ROLLBACK" {
                self.fail(&format!("teller {i}: ROLLBACK -> {desc}"));
            }
            t.failed = false;
            t.next = 0;
            if !std::mem::take(&mut t.retry) {
                t.transfer = None;
            }
            return;
        }
        let expected = match t.next {
            0 => "BEGIN",
            1 | 2 => "UPDATE 1",
            _ if t.give_up => "ROLLBACK",
            _ => "COMMIT",
        };
        if tag != expected {
            self.fail(&format!(
                "teller {i}: {stmt:?} -> {desc}, expected {expected}"
            ));
        }
        t.next += 1;
        if t.next == 4 {
            let (from, to, amount) = t.transfer.take().expect("transfer");
            if t.give_up {
                self.stats.voluntary_rollbacks += 1;
            } else {
                self.stats.committed += 1;
                self.model[from as usize - 1] -= amount;
                self.model[to as usize - 1] += amount;
            }
            t.next = 0;
        }
        if self.engine.txn_status(t.sid)
            != if t.next == 0 {
                TxnStatus::Idle
            } else {
                TxnStatus::InBlock
            }
        {
            self.fail(&format!(
                "teller {i}: wrong transaction status after {stmt:?}"
            ));
        }
    }

    fn observe(&mut self, sql: &str) -> Vec<String> {
        match self.engine.submit(self.observer, sql, Vec::new()) {
            Submitted::Done(o) if o.error.is_none() => outcome_rows(&o).unwrap_or_default(),
            Submitted::Done(o) => self.fail(&format!("observer {sql:?} -> {}", describe(&o))),
            Submitted::Parked => self.fail(&format!("observer {sql:?} parked")),
        }
    }

    /// Invariants visible to a reader at any time.
    fn checkpoint(&mut self) {
        self.stats.checkpoints += 1;
        let got = self.observe("SELECT sum(balance), count(*), min(balance) >= 0 FROM acct");
        let want = vec![format!("{}|{ACCOUNTS}|t", ACCOUNTS * INITIAL)];
        if got != want {
            self.fail(&format!("checkpoint: got {got:?}, want {want:?}"));
        }
        // A REPEATABLE READ reader sees the same balances throughout, and
        // they add up.
        let all = "SELECT id, balance FROM acct ORDER BY id";
        match self.observed.take() {
            None => {
                self.observe("BEGIN ISOLATION LEVEL REPEATABLE READ");
                let snap = self.observe(all);
                let sum: i64 = snap
                    .iter()
                    .map(|r| r.split('|').nth(1).unwrap().parse::<i64>().unwrap())
                    .sum();
                if sum != ACCOUNTS * INITIAL {
                    self.fail(&format!("observer snapshot sums to {sum}: {snap:?}"));
                }
                self.observed = Some(snap);
            }
            Some(snap) => {
                let again = self.observe(all);
                if again != snap {
                    self.fail(&format!("RR observer: {snap:?} then {again:?}"));
                }
                self.observe("COMMIT");
            }
        }
    }

    fn tick(&mut self, new_transfers: bool) -> bool {
        let ready: Vec<usize> = (0..self.tellers.len())
            .filter(|&i| !self.tellers[i].parked)
            .filter(|&i| new_transfers || self.tellers[i].transfer.is_some())
            .collect();
        if ready.is_empty() {
            if self.tellers.iter().any(|t| t.parked) {
                self.fail("every teller with work is parked (undetected deadlock?)");
            }
            return false;
        }
        let i = ready[self.rng.below(ready.len() as u64) as usize];
        if self.tellers[i].transfer.is_none() {
            let from = 1 + self.rng.below(ACCOUNTS as u64) as i64;
            let to = 1 + (from + self.rng.below(ACCOUNTS as u64 - 1) as i64) % ACCOUNTS;
            let amount = 1 + self.rng.below(60) as i64;
            let give_up = self.rng.chance(10);
            let t = &mut self.tellers[i];
            t.transfer = Some((from, to, amount));
            t.give_up = give_up;
            t.next = 0;
        }
        let stmt = self.tellers[i].statement(self.level);
        self.tellers[i].last = stmt.clone();
        self.trace.push(format!("teller {i} -> {stmt}"));
        let sid = self.tellers[i].sid;
        let submitted = self.engine.submit(sid, &stmt, Vec::new());
        let completions = self.engine.take_completions();
        match submitted {
            Submitted::Done(o) => self.handle(i, o),
            Submitted::Parked => {
                if stmt.starts_with("BEGIN") || stmt == "COMMIT" || stmt == "ROLLBACK" {
                    self.fail(&format!("teller {i}: {stmt:?} parked"));
                }
                self.stats.parks += 1;
                self.tellers[i].parked = true;
                self.trace.push(format!("teller {i} parked"));
            }
        }
        for (sid, o) in completions {
            let Some(j) = self.tellers.iter().position(|t| t.sid == sid) else {
                self.fail(&format!("completion for unknown session {sid}"));
            };
            if !self.tellers[j].parked || j == i {
                self.fail(&format!("completion for teller {j}, which was not parked"));
            }
            self.handle(j, o);
        }
        for (j, t) in self.tellers.iter().enumerate() {
            if t.parked != self.engine.is_parked(t.sid) {
                self.fail(&format!(
                    "teller {j}: parked {} but is_parked {}",
                    t.parked, !t.parked
                ));
            }
        }
        true
    }

    fn run(mut self, ticks: usize) -> BankStats {
        for n in 0..ticks {
            self.tick(true);
            if n % 25 == 24 {
                self.checkpoint();
            }
        }
        // Drain: finish the transfers in progress.
        let mut guard = 0;
        while self.tick(false) {
            guard += 1;
            if guard > 10_000 {
                self.fail("workload does not drain");
            }
        }
        if self.observed.is_some() {
            self.checkpoint();
        }
        self.checkpoint();
        let got = self.observe("SELECT id, balance FROM acct ORDER BY id");
        let want: Vec<String> = self
            .model
            .iter()
            .enumerate()
            .map(|(i, b)| format!("{}|{b}", i + 1))
            .collect();
        if got != want {
            self.fail(&format!(
                "final balances differ from the committed transfers:\n got  {got:?}\n want {want:?}"
            ));
        }
        self.stats
    }
}

fn bank(level: Level) {
    let mut total = BankStats::default();
    for seed in 1..=12 {
        let s = Bank::new(level, seed, 5).run(400);
        total.committed += s.committed;
        total.parks += s.parks;
        total.deadlocks += s.deadlocks;
        total.serialization_failures += s.serialization_failures;
        total.check_failures += s.check_failures;
        total.voluntary_rollbacks += s.voluntary_rollbacks;
        total.checkpoints += s.checkpoints;
    }
    eprintln!("bank {level:?}: {total:?}");
    // The workload must actually have exercised the interesting paths.
    assert!(total.committed >= 100, "{total:?}");
    assert!(total.parks > 0, "{total:?}");
    assert!(total.deadlocks > 0, "{total:?}");
    assert!(total.voluntary_rollbacks > 0, "{total:?}");
    match level {
        RC => assert_eq!(total.serialization_failures, 0),
        RR => assert!(total.serialization_failures > 0, "{total:?}"),
    }
}

#[test]
fn isolation_bank_transfers_read_committed() {
    bank(RC);
}

#[test]
fn isolation_bank_transfers_repeatable_read() {
    bank(RR);
}
