//! Serializable Snapshot Isolation, as PostgreSQL does it (Cahill and
//! Fekete's SSI; Ports and Grittner, VLDB 2012; PostgreSQL's
//! `src/backend/storage/lmgr/README-SSI`).
//!
//! A SERIALIZABLE transaction runs on a REPEATABLE READ snapshot and is
//! tracked here as a [`Sxact`]. Reads take SIREAD ("predicate") locks on
//! what they looked at — a whole table for a sequential scan, each tuple
//! read through an index and the index key range scanned (so an insert
//! into that range, a phantom, conflicts), a whole index for methods
//! without ranges (HNSW) — and never block. A read-write antidependency
//! T1 →rw T2 (T1 read something T2 wrote, without seeing T2's write) is
//! recorded from either side: a read that meets a version written by a
//! concurrent transaction ([`Ssi::conflict_out`]), or a write that hits
//! another transaction's SIREAD lock ([`Ssi::conflict_in`]). A cycle in
//! the serialization graph needs a "dangerous structure" Tin →rw Tpivot
//! →rw Tout in which Tout commits first; when one appears, one of the
//! transactions is aborted with 40001, chosen as PostgreSQL chooses it so
//! that an immediate retry does not fail the same way.
//!
//! SIREAD locks outlive their transaction's commit: they matter until
//! every transaction that overlapped it has ended. Memory is bounded:
//! past [`Ssi::max_targets`] the oldest committed transactions are
//! summarised into one "old committed" transaction whose locks still
//! conflict, and whose out-conflicts are remembered per xid.
//!
//! The engine is single-threaded, so a transaction's pre-commit check and
//! its commit happen with nothing in between; "prepared" here means that
//! check was done (at COMMIT, or at PREPARE TRANSACTION, after which the
//! transaction may wait for COMMIT PREPARED).

use std::collections::{BTreeSet, HashMap, HashSet};

use super::ids::{SessionId, Xid};

/// A serializable transaction's id in this module (never reused).
pub type SxactId = u64;

/// The summary of committed transactions dropped for memory.
const OLD_COMMITTED: SxactId = 0;

/// What a SIREAD lock covers.
#[derive(
    Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum Target {
    /// A whole table or index (by OID).
    Relation(u32),
    /// One tuple version of a table: its OID and TID (page, slot).
    Tuple(u32, u32, u16),
    /// A key range of an ordered index: its OID, the encoded lower key
    /// (inclusive) and upper key (exclusive; `None`: unbounded).
    Range(u32, Vec<u8>, Option<Vec<u8>>),
}

impl Target {
    /// The relation the target belongs to.
    pub fn relation(&self) -> u32 {
        match self {
            Target::Relation(r) | Target::Tuple(r, ..) | Target::Range(r, ..) => *r,
        }
    }
}

/// A write, as [`Ssi::conflict_in`] checks it against SIREAD locks.
#[derive(Clone, Debug)]
pub enum Write {
    /// A tuple version updated, deleted or locked... (table OID, page, slot).
    Tuple(u32, u32, u16),
    /// A row inserted into a table (any lock on the table conflicts).
    Table(u32),
    /// An index entry with this encoded key (range locks containing it
    /// conflict, as does a lock on the whole index).
    IndexKey(u32, Vec<u8>),
    /// An entry in an index without key ranges (HNSW): the whole index.
    Index(u32),
}

/// One serializable transaction.
#[derive(Debug, Default)]
pub struct Sxact {
    /// Its session while it runs.
    pub owner: Option<SessionId>,
    pub read_only: bool,
    /// The commit sequence number when its snapshot was taken: commits
    /// with a number above it are concurrent with it.
    pub snapshot_seq: u64,
    /// Set by the pre-commit check (COMMIT or PREPARE TRANSACTION).
    pub prepare_seq: Option<u64>,
    pub commit_seq: Option<u64>,
    /// Must abort: chosen as the victim of a dangerous structure.
    pub doomed: bool,
    /// Readers that depend on it: R →rw this.
    pub in_conflicts: BTreeSet<SxactId>,
    /// Writers it depends on: this →rw W.
    pub out_conflicts: BTreeSet<SxactId>,
    /// It has an in-conflict from (out-conflict to) a summarised old
    /// committed transaction.
    pub summary_in: bool,
    pub summary_out: bool,
    /// Set at its commit: it had an out-conflict to a transaction that
    /// committed before it (PostgreSQL's SXACT_FLAG_CONFLICT_OUT). That
    /// edge is then dropped; the flag remembers it.
    pub has_conflict_out: bool,
    /// The earliest (pre-commit) sequence number among those transactions
    /// (for the read-only optimisation).
    pub earliest_out_conflict_commit: Option<u64>,
    pub xids: Vec<Xid>,
    pub locks: HashSet<Target>,
    /// A read-only transaction whose snapshot turned out safe: it no
    /// longer needs tracking.
    pub safe: bool,
    /// Read-only: the read-write transactions that were running when it
    /// took its snapshot, and whether one of them made it unsafe.
    pub possible_unsafe: BTreeSet<SxactId>,
    pub unsafe_: bool,
}

impl Sxact {
    fn committed(&self) -> bool {
        self.commit_seq.is_some()
    }

    fn prepared(&self) -> bool {
        self.prepare_seq.is_some()
    }
}

/// A serialization failure: PostgreSQL's message, with its reason code
/// as the detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SerializationFailure {
    pub reason: String,
}

/// Tuple (and range) locks one transaction may hold on one relation
/// before they are promoted to a lock on the whole relation
/// (PostgreSQL's `max_pred_locks_per_relation`, by default half of
/// `max_pred_locks_per_transaction`).
fn per_relation_limit(max_per_txn: usize) -> usize {
    (max_per_txn / 2).max(1)
}

/// The SSI state of every serializable transaction.
#[derive(Debug)]
pub struct Ssi {
    sxacts: HashMap<SxactId, Sxact>,
    by_session: HashMap<SessionId, SxactId>,
    by_xid: HashMap<Xid, SxactId>,
    /// Who holds a lock on each target.
    holders: HashMap<Target, BTreeSet<SxactId>>,
    next_id: SxactId,
    /// The last commit sequence number handed out.
    last_commit_seq: u64,
    /// `max_pred_locks_per_transaction`.
    pub max_pred_locks_per_transaction: usize,
    /// How many targets may be locked in all before old committed
    /// transactions are summarised.
    pub max_targets: usize,
    /// Summarised transactions' xids with the earliest commit among their
    /// out-conflicts (`None`: they had none).
    summarised: HashMap<Xid, Option<u64>>,
}

impl Default for Ssi {
    fn default() -> Self {
        Ssi {
            sxacts: HashMap::new(),
            by_session: HashMap::new(),
            by_xid: HashMap::new(),
            holders: HashMap::new(),
            next_id: OLD_COMMITTED + 1,
            last_commit_seq: 0,
            max_pred_locks_per_transaction: 64,
            max_targets: 64 * 1024,
            summarised: HashMap::new(),
        }
    }
}

fn failure(reason: impl Into<String>) -> SerializationFailure {
    SerializationFailure {
        reason: reason.into(),
    }
}

impl Ssi {
    /// Starts tracking `sid`'s serializable transaction, whose snapshot
    /// is being taken now. A READ ONLY one that no read-write
    /// serializable transaction runs beside is safe from the start and is
    /// not tracked (PostgreSQL's safe-snapshot shortcut); returns whether
    /// it is tracked.
    pub fn begin(&mut self, sid: SessionId, read_only: bool) -> bool {
        self.begin_at(sid, read_only, self.last_commit_seq)
    }

    /// [`Ssi::begin`] with a snapshot taken earlier, when the commit
    /// sequence number was `snapshot_seq` (SET TRANSACTION SNAPSHOT).
    pub fn begin_at(&mut self, sid: SessionId, read_only: bool, snapshot_seq: u64) -> bool {
        let writers: BTreeSet<SxactId> = self
            .sxacts
            .iter()
            .filter(|(&id, s)| id != OLD_COMMITTED && !s.committed() && !s.read_only && !s.doomed)
            .map(|(&id, _)| id)
            .collect();
        if read_only && writers.is_empty() {
            return false;
        }
        let id = self.next_id;
        self.next_id += 1;
        self.sxacts.insert(
            id,
            Sxact {
                owner: Some(sid),
                read_only,
                snapshot_seq,
                possible_unsafe: if read_only { writers } else { BTreeSet::new() },
                ..Sxact::default()
            },
        );
        self.by_session.insert(sid, id);
        true
    }

    /// The commit sequence number `sid`'s snapshot was taken at (now, if
    /// it is not tracked): what an exported snapshot carries.
    pub fn snapshot_seq(&self, sid: SessionId) -> u64 {
        self.of_session(sid)
            .and_then(|id| self.sxacts.get(&id))
            .map_or(self.last_commit_seq, |s| s.snapshot_seq)
    }

    /// The tracked transaction of `sid`, if any.
    pub fn of_session(&self, sid: SessionId) -> Option<SxactId> {
        self.by_session.get(&sid).copied()
    }

    pub fn get(&self, id: SxactId) -> Option<&Sxact> {
        self.sxacts.get(&id)
    }

    /// Whether `sid`'s read-only transaction is waiting for a safe
    /// snapshot: `Some(true)` safe now, `Some(false)` unsafe (take a new
    /// snapshot), `None` still undecided (read-write transactions it
    /// overlaps are running; see [`Ssi::unsafe_writers`]).
    pub fn snapshot_safety(&self, sid: SessionId) -> Option<bool> {
        let Some(id) = self.of_session(sid) else {
            return Some(true);
        };
        let s = &self.sxacts[&id];
        if s.safe {
            Some(true)
        } else if s.unsafe_ {
            Some(false)
        } else if s.possible_unsafe.is_empty() {
            Some(true)
        } else {
            None
        }
    }

    /// The sessions of the read-write transactions a deferrable read-only
    /// transaction still waits for.
    pub fn unsafe_writers(&self, sid: SessionId) -> Vec<SessionId> {
        let Some(id) = self.of_session(sid) else {
            return Vec::new();
        };
        self.sxacts[&id]
            .possible_unsafe
            .iter()
            .filter_map(|w| self.sxacts.get(w).and_then(|s| s.owner))
            .collect()
    }

    /// A read-only transaction found safe: it stops being tracked (its
    /// locks and conflicts go).
    pub fn release_safe(&mut self, sid: SessionId) {
        if let Some(id) = self.by_session.remove(&sid) {
            self.forget(id);
        }
    }

    /// `sid`'s transaction wrote with `xid`.
    pub fn note_xid(&mut self, sid: SessionId, xid: Xid) {
        if let Some(&id) = self.by_session.get(&sid) {
            if let Some(s) = self.sxacts.get_mut(&id) {
                s.xids.push(xid);
                self.by_xid.insert(xid, id);
            }
        }
    }

    fn doomed_check(&self, id: SxactId, during: &str) -> Result<(), SerializationFailure> {
        if self.sxacts.get(&id).is_some_and(|s| s.doomed) {
            return Err(failure(format!(
                "Reason code: Canceled on identification as a pivot, during {during}."
            )));
        }
        Ok(())
    }

    /// `sid` read `targets`: SIREAD locks, promoted to a lock on the whole
    /// relation when one relation holds too many of them.
    pub fn lock(&mut self, sid: SessionId, targets: impl IntoIterator<Item = Target>) {
        let Some(&id) = self.by_session.get(&sid) else {
            return;
        };
        let limit = per_relation_limit(self.max_pred_locks_per_transaction);
        for t in targets {
            let Some(s) = self.sxacts.get(&id) else {
                return;
            };
            if s.locks.contains(&t) || s.locks.contains(&Target::Relation(t.relation())) {
                continue;
            }
            let rel = t.relation();
            let fine = s
                .locks
                .iter()
                .filter(|x| x.relation() == rel && !matches!(x, Target::Relation(_)))
                .count();
            if !matches!(t, Target::Relation(_)) && fine + 1 > limit {
                // Promote: the coarser lock is taken before the finer
                // ones go, so no conflict is missed in between.
                self.add_lock(id, Target::Relation(rel));
                let finer: Vec<Target> = self.sxacts[&id]
                    .locks
                    .iter()
                    .filter(|x| x.relation() == rel && !matches!(x, Target::Relation(_)))
                    .cloned()
                    .collect();
                for f in finer {
                    self.drop_lock(id, &f);
                }
            } else {
                self.add_lock(id, t);
            }
        }
    }

    fn add_lock(&mut self, id: SxactId, t: Target) {
        if let Some(s) = self.sxacts.get_mut(&id) {
            if s.locks.insert(t.clone()) {
                self.holders.entry(t).or_default().insert(id);
            }
        }
    }

    fn drop_lock(&mut self, id: SxactId, t: &Target) {
        if let Some(s) = self.sxacts.get_mut(&id) {
            s.locks.remove(t);
        }
        if let Some(h) = self.holders.get_mut(t) {
            h.remove(&id);
            if h.is_empty() {
                self.holders.remove(t);
            }
        }
    }

    /// Whether `a` and `b` overlapped in time (neither committed before
    /// the other took its snapshot).
    fn concurrent(&self, a: SxactId, b: SxactId) -> bool {
        let (Some(x), Some(y)) = (self.sxacts.get(&a), self.sxacts.get(&b)) else {
            return false;
        };
        x.commit_seq.is_none_or(|c| c > y.snapshot_seq)
            && y.commit_seq.is_none_or(|c| c > x.snapshot_seq)
    }

    fn conflict_exists(&self, reader: SxactId, writer: SxactId) -> bool {
        self.sxacts
            .get(&reader)
            .is_some_and(|r| r.out_conflicts.contains(&writer))
    }

    /// `sid` read a version that `writer_xid` changed without `sid` seeing
    /// the change (an insert it cannot see, or a delete or update of a
    /// version it sees): reader →rw writer. PostgreSQL's
    /// CheckForSerializableConflictOut.
    pub fn conflict_out(
        &mut self,
        sid: SessionId,
        writer_xid: Xid,
    ) -> Result<(), SerializationFailure> {
        let Some(&me) = self.by_session.get(&sid) else {
            return Ok(());
        };
        self.doomed_check(me, "conflict out checking")?;
        let Some(&writer) = self.by_xid.get(&writer_xid) else {
            // Not serializable, or summarised.
            if let Some(&min_conflict) = self.summarised.get(&writer_xid) {
                let mine = &self.sxacts[&me];
                if let Some(c) = min_conflict {
                    if !mine.read_only || c <= mine.snapshot_seq {
                        return Err(failure(format!(
                            "Reason code: Canceled on conflict out to old pivot {writer_xid}."
                        )));
                    }
                }
                if mine.summary_in || !mine.in_conflicts.is_empty() {
                    return Err(failure(format!("Reason code: Canceled on identification as a pivot, with conflict out to old committed transaction {writer_xid}.")));
                }
                if let Some(m) = self.sxacts.get_mut(&me) {
                    m.summary_out = true;
                }
            }
            return Ok(());
        };
        if writer == me || self.sxacts.get(&writer).is_none_or(|w| w.doomed) {
            return Ok(());
        }
        let w = &self.sxacts[&writer];
        let mine = &self.sxacts[&me];
        if w.summary_out {
            if !w.prepared() {
                if let Some(w) = self.sxacts.get_mut(&writer) {
                    w.doomed = true;
                }
                return Ok(());
            }
            return Err(failure(
                "Reason code: Canceled on conflict out to old pivot.",
            ));
        }
        // A read-only transaction that read before a committed writer's
        // own conflicts committed appears to run first: no conflict.
        if mine.read_only
            && w.committed()
            && (!w.has_conflict_out
                || w.earliest_out_conflict_commit
                    .is_some_and(|c| mine.snapshot_seq < c))
        {
            return Ok(());
        }
        if !self.concurrent(me, writer) || self.conflict_exists(me, writer) {
            return Ok(());
        }
        self.flag(me, writer, me)
    }

    /// `sid` writes `writes`: every other transaction holding a SIREAD
    /// lock on them depends on it (holder →rw sid). PostgreSQL's
    /// CheckForSerializableConflictIn.
    pub fn conflict_in(
        &mut self,
        sid: SessionId,
        writes: &[Write],
    ) -> Result<(), SerializationFailure> {
        let Some(&me) = self.by_session.get(&sid) else {
            return Ok(());
        };
        self.doomed_check(me, "conflict in checking")?;
        let mut readers: BTreeSet<SxactId> = BTreeSet::new();
        for w in writes {
            let mut add = |t: &Target| {
                if let Some(h) = self.holders.get(t) {
                    readers.extend(h.iter().copied());
                }
            };
            match w {
                Write::Tuple(rel, page, slot) => {
                    add(&Target::Tuple(*rel, *page, *slot));
                    add(&Target::Relation(*rel));
                }
                Write::Table(rel) | Write::Index(rel) => add(&Target::Relation(*rel)),
                Write::IndexKey(rel, key) => {
                    add(&Target::Relation(*rel));
                    for (t, h) in &self.holders {
                        if let Target::Range(r, lo, hi) = t {
                            if r == rel
                                && lo.as_slice() <= key.as_slice()
                                && hi.as_ref().is_none_or(|hi| key.as_slice() < hi.as_slice())
                            {
                                readers.extend(h.iter().copied());
                            }
                        }
                    }
                }
            }
        }
        readers.remove(&me);
        for reader in readers {
            let Some(r) = self.sxacts.get(&reader) else {
                continue;
            };
            if r.doomed || self.conflict_exists(reader, me) {
                continue;
            }
            if reader == OLD_COMMITTED {
                // Its transactions all committed before anyone still
                // running started or are summarised: they overlapped us
                // only if we started before they committed.
                if r.commit_seq
                    .is_some_and(|c| c > self.sxacts[&me].snapshot_seq)
                {
                    self.flag(reader, me, me)?;
                }
                continue;
            }
            if self.concurrent(reader, me) {
                self.flag(reader, me, me)?;
            }
        }
        Ok(())
    }

    /// Records reader →rw writer after checking that it does not complete
    /// a dangerous structure (PostgreSQL's FlagRWConflict and
    /// OnConflict_CheckForSerializationFailure); `me` is the transaction
    /// doing the check, which is the one to fail if it must be.
    fn flag(
        &mut self,
        reader: SxactId,
        writer: SxactId,
        me: SxactId,
    ) -> Result<(), SerializationFailure> {
        self.check_on_conflict(reader, writer, me)?;
        if reader == OLD_COMMITTED {
            if let Some(w) = self.sxacts.get_mut(&writer) {
                w.summary_in = true;
            }
        } else if writer == OLD_COMMITTED {
            if let Some(r) = self.sxacts.get_mut(&reader) {
                r.summary_out = true;
            }
        } else {
            if let Some(r) = self.sxacts.get_mut(&reader) {
                r.out_conflicts.insert(writer);
            }
            if let Some(w) = self.sxacts.get_mut(&writer) {
                w.in_conflicts.insert(reader);
            }
        }
        Ok(())
    }

    fn check_on_conflict(
        &mut self,
        reader: SxactId,
        writer: SxactId,
        me: SxactId,
    ) -> Result<(), SerializationFailure> {
        let r = &self.sxacts[&reader];
        let w = &self.sxacts[&writer];
        // R →rw W →rw T2 with W committed: the flag says T2 committed
        // before W.
        let mut fail = w.committed() && (w.has_conflict_out || w.summary_out);
        // W becomes a pivot with an out-conflict T2 that committed (or
        // prepared) first.
        if !fail && w.summary_out {
            fail = true;
        } else if !fail {
            fail = w.out_conflicts.iter().any(|t2| {
                self.sxacts.get(t2).is_some_and(|t2| {
                    t2.prepare_seq.is_some_and(|p2| {
                        r.commit_seq.is_none_or(|rc| p2 <= rc)
                            && w.commit_seq.is_none_or(|wc| p2 <= wc)
                            && (!r.read_only || p2 <= r.snapshot_seq)
                    })
                })
            });
        }
        // R becomes a pivot T0 →rw R →rw W with W committed (prepared)
        // first.
        if !fail && w.prepared() && !r.read_only {
            if r.summary_in {
                fail = true;
            } else {
                let wp = w.prepare_seq.expect("prepared");
                fail = r.in_conflicts.iter().any(|t0| {
                    self.sxacts.get(t0).is_some_and(|t0| {
                        !t0.doomed
                            && t0.commit_seq.is_none_or(|c| c >= wp)
                            && (!t0.read_only || t0.snapshot_seq >= wp)
                    })
                });
            }
        }
        if !fail {
            return Ok(());
        }
        if me == writer {
            return Err(failure(
                "Reason code: Canceled on identification as a pivot, during write.",
            ));
        }
        if w.prepared() {
            return Err(failure(format!(
                "Reason code: Canceled on conflict out to pivot {}, during read.",
                w.xids.first().copied().unwrap_or(0)
            )));
        }
        if let Some(w) = self.sxacts.get_mut(&writer) {
            w.doomed = true;
        }
        Ok(())
    }

    /// COMMIT (or PREPARE TRANSACTION) of `sid`: fails if it was chosen
    /// as a victim; dooms the pivot of any dangerous structure it would
    /// complete as Tout (PostgreSQL's PreCommit_CheckForSerializationFailure,
    /// which kills the pivot so that a retry makes progress).
    pub fn pre_commit(&mut self, sid: SessionId) -> Result<(), SerializationFailure> {
        let Some(&me) = self.by_session.get(&sid) else {
            return Ok(());
        };
        self.doomed_check(me, "commit attempt")?;
        let near: Vec<SxactId> = self.sxacts[&me].in_conflicts.iter().copied().collect();
        for n in near {
            let Some(ns) = self.sxacts.get(&n) else {
                continue;
            };
            if ns.committed() || ns.doomed {
                continue;
            }
            let dangerous = ns.in_conflicts.iter().any(|f| {
                *f == me
                    || self
                        .sxacts
                        .get(f)
                        .is_some_and(|fs| !fs.committed() && !fs.read_only && !fs.doomed)
            });
            if dangerous {
                if ns.prepared() {
                    return Err(failure("Reason code: Canceled on commit attempt with conflict in from prepared pivot."));
                }
                if let Some(ns) = self.sxacts.get_mut(&n) {
                    ns.doomed = true;
                }
            }
        }
        self.last_commit_seq += 1;
        let seq = self.last_commit_seq;
        if let Some(s) = self.sxacts.get_mut(&me) {
            s.prepare_seq = Some(seq);
        }
        Ok(())
    }

    /// `sid`'s transaction committed: its SIREAD locks stay while
    /// transactions it overlapped still run. As PostgreSQL's
    /// ReleasePredicateLocks: a transaction that wrote nothing is read-only
    /// from now on; its out-conflicts to transactions that committed before
    /// it become the conflict-out flag (with the earliest of their
    /// sequence numbers) and are dropped.
    pub fn commit(&mut self, sid: SessionId) {
        let Some(id) = self.by_session.remove(&sid) else {
            return;
        };
        self.last_commit_seq += 1;
        let seq = self.last_commit_seq;
        let outs: Vec<SxactId> = match self.sxacts.get(&id) {
            Some(s) => s.out_conflicts.iter().copied().collect(),
            None => return,
        };
        let committed_outs: Vec<(SxactId, u64)> = outs
            .iter()
            .filter_map(|o| {
                let os = self.sxacts.get(o)?;
                os.committed().then(|| (*o, os.prepare_seq.unwrap_or(0)))
            })
            .collect();
        let (read_only, has_out, earliest) = {
            let s = self.sxacts.get_mut(&id).expect("found above");
            s.commit_seq = Some(seq);
            s.owner = None;
            if s.xids.is_empty() {
                s.read_only = true;
            }
            if !s.read_only && !committed_outs.is_empty() {
                s.has_conflict_out = true;
                let min = committed_outs.iter().map(|(_, p)| *p).min();
                s.earliest_out_conflict_commit = match (s.earliest_out_conflict_commit, min) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
            }
            (
                s.read_only,
                s.has_conflict_out || s.summary_out,
                s.earliest_out_conflict_commit,
            )
        };
        for (o, _) in committed_outs {
            if let Some(s) = self.sxacts.get_mut(&id) {
                s.out_conflicts.remove(&o);
            }
            if let Some(os) = self.sxacts.get_mut(&o) {
                os.in_conflicts.remove(&id);
            }
        }
        // Read-only transactions that overlapped it learn whether it made
        // their snapshot unsafe: it did if it depends on a transaction that
        // committed before their snapshot.
        for s in self.sxacts.values_mut() {
            if s.possible_unsafe.remove(&id)
                && !read_only
                && has_out
                && earliest.is_none_or(|e| e <= s.snapshot_seq)
            {
                s.unsafe_ = true;
            }
        }
        self.cleanup();
    }

    /// `sid`'s transaction rolled back: it no longer matters.
    pub fn abort(&mut self, sid: SessionId) {
        if let Some(id) = self.by_session.remove(&sid) {
            for s in self.sxacts.values_mut() {
                s.possible_unsafe.remove(&id);
            }
            self.forget(id);
        }
        self.cleanup();
    }

    /// A prepared transaction passes from its session `from` to the
    /// pseudo session `to` that holds it until COMMIT/ROLLBACK PREPARED.
    pub fn rebind(&mut self, from: SessionId, to: SessionId) {
        if let Some(id) = self.by_session.remove(&from) {
            if let Some(s) = self.sxacts.get_mut(&id) {
                s.owner = Some(to);
            }
            self.by_session.insert(to, id);
        }
    }

    /// `sid`'s SIREAD locks, if it is tracked.
    pub fn locks_of(&self, sid: SessionId) -> Option<Vec<Target>> {
        let s = self.sxacts.get(self.by_session.get(&sid)?)?;
        let mut out: Vec<Target> = s.locks.iter().cloned().collect();
        out.sort();
        Some(out)
    }

    /// A prepared serializable transaction restored after a restart, held
    /// by pseudo session `sid`. Its rw-conflicts were not recorded, so it
    /// is assumed to have both (PostgreSQL's summary flags on recovery),
    /// and every later transaction counts as concurrent with it.
    pub fn restore_prepared(
        &mut self,
        sid: SessionId,
        xids: &[Xid],
        read_only: bool,
        locks: Vec<Target>,
    ) {
        let id = self.next_id;
        self.next_id += 1;
        self.last_commit_seq += 1;
        let seq = self.last_commit_seq;
        for &x in xids {
            self.by_xid.insert(x, id);
        }
        for t in &locks {
            self.holders.entry(t.clone()).or_default().insert(id);
        }
        self.sxacts.insert(
            id,
            Sxact {
                owner: Some(sid),
                read_only,
                snapshot_seq: 0,
                prepare_seq: Some(seq),
                summary_in: true,
                summary_out: true,
                xids: xids.to_vec(),
                locks: locks.into_iter().collect(),
                ..Sxact::default()
            },
        );
        self.by_session.insert(sid, id);
    }

    fn forget(&mut self, id: SxactId) {
        let Some(s) = self.sxacts.remove(&id) else {
            return;
        };
        for t in &s.locks {
            if let Some(h) = self.holders.get_mut(t) {
                h.remove(&id);
                if h.is_empty() {
                    self.holders.remove(t);
                }
            }
        }
        for x in &s.xids {
            self.by_xid.remove(x);
        }
        for o in s.out_conflicts.iter().chain(s.in_conflicts.iter()) {
            if let Some(other) = self.sxacts.get_mut(o) {
                other.in_conflicts.remove(&id);
                other.out_conflicts.remove(&id);
            }
        }
    }

    /// Drops committed transactions no running one overlaps, and
    /// summarises the oldest committed ones when too many targets are
    /// locked.
    fn cleanup(&mut self) {
        let oldest_running = self
            .sxacts
            .iter()
            .filter(|(&id, s)| id != OLD_COMMITTED && !s.committed())
            .map(|(_, s)| s.snapshot_seq)
            .min();
        let done: Vec<SxactId> = self
            .sxacts
            .iter()
            .filter(|(&id, s)| {
                id != OLD_COMMITTED
                    && s.commit_seq
                        .is_some_and(|c| oldest_running.is_none_or(|o| c <= o))
            })
            .map(|(&id, _)| id)
            .collect();
        for id in done {
            self.forget(id);
        }
        if oldest_running.is_none() {
            self.forget(OLD_COMMITTED);
            self.summarised.clear();
        }
        while self.holders.len() > self.max_targets {
            let Some(oldest) = self
                .sxacts
                .iter()
                .filter(|(&id, s)| id != OLD_COMMITTED && s.committed())
                .min_by_key(|(_, s)| s.commit_seq)
                .map(|(&id, _)| id)
            else {
                break;
            };
            self.summarise(oldest);
        }
    }

    /// Folds committed transaction `id` into the old-committed summary:
    /// its locks become the summary's, its xids map to the earliest commit
    /// among its out-conflicts.
    fn summarise(&mut self, id: SxactId) {
        let Some(s) = self.sxacts.remove(&id) else {
            return;
        };
        let commit = s.commit_seq.unwrap_or(self.last_commit_seq);
        let old = self.sxacts.entry(OLD_COMMITTED).or_insert_with(|| Sxact {
            commit_seq: Some(commit),
            prepare_seq: Some(commit),
            ..Sxact::default()
        });
        old.commit_seq = Some(old.commit_seq.map_or(commit, |c| c.max(commit)));
        old.prepare_seq = old.commit_seq;
        for x in &s.xids {
            self.by_xid.remove(x);
            self.summarised.insert(
                *x,
                (s.summary_out || !s.out_conflicts.is_empty())
                    .then(|| s.earliest_out_conflict_commit.unwrap_or(commit)),
            );
        }
        for t in s.locks {
            if let Some(h) = self.holders.get_mut(&t) {
                h.remove(&id);
                h.insert(OLD_COMMITTED);
            }
            if let Some(o) = self.sxacts.get_mut(&OLD_COMMITTED) {
                o.locks.insert(t);
            }
        }
        for r in &s.in_conflicts {
            if let Some(other) = self.sxacts.get_mut(r) {
                other.out_conflicts.remove(&id);
                other.summary_out = true;
            }
        }
        for w in &s.out_conflicts {
            if let Some(other) = self.sxacts.get_mut(w) {
                other.in_conflicts.remove(&id);
                other.summary_in = true;
            }
        }
    }

    /// SIREAD locks for `pg_locks`: (target, holding session or the xid
    /// of a committed or prepared transaction).
    pub fn all_locks(&self) -> Vec<(Target, Option<SessionId>, Option<Xid>)> {
        let mut out = Vec::new();
        for (t, h) in &self.holders {
            for id in h {
                let s = self.sxacts.get(id);
                out.push((
                    t.clone(),
                    s.and_then(|s| s.owner),
                    s.and_then(|s| s.xids.first().copied()),
                ));
            }
        }
        out.sort();
        out
    }

    /// How many transactions and targets are tracked (tests, memory).
    pub fn footprint(&self) -> (usize, usize) {
        (self.sxacts.len(), self.holders.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Write skew: T1 reads x and writes y, T2 reads y and writes x. The
    /// second to commit fails.
    #[test]
    fn write_skew_fails_one() {
        let mut ssi = Ssi::default();
        assert!(ssi.begin(1, false));
        assert!(ssi.begin(2, false));
        ssi.note_xid(1, 100);
        ssi.note_xid(2, 101);
        ssi.lock(1, [Target::Tuple(7, 1, 1)]);
        ssi.lock(2, [Target::Tuple(7, 1, 2)]);
        ssi.conflict_in(1, &[Write::Tuple(7, 1, 2)])
            .expect("first edge");
        let second = ssi.conflict_in(2, &[Write::Tuple(7, 1, 1)]);
        let commit1 = ssi.pre_commit(1);
        assert!(
            second.is_err() || commit1.is_err() || ssi.pre_commit(2).is_err(),
            "a dangerous structure must fail someone"
        );
    }

    /// Reads of disjoint rows do not conflict.
    #[test]
    fn disjoint_transactions_commit() {
        let mut ssi = Ssi::default();
        ssi.begin(1, false);
        ssi.begin(2, false);
        ssi.lock(1, [Target::Tuple(7, 1, 1)]);
        ssi.lock(2, [Target::Tuple(7, 1, 2)]);
        ssi.conflict_in(1, &[Write::Tuple(7, 1, 1)]).expect("own");
        ssi.conflict_in(2, &[Write::Tuple(7, 1, 2)]).expect("own");
        ssi.pre_commit(1).expect("commits");
        ssi.commit(1);
        ssi.pre_commit(2).expect("commits");
        ssi.commit(2);
        assert_eq!(ssi.footprint(), (0, 0), "nothing left once all ended");
    }

    /// A range lock covers the keys inside it only.
    #[test]
    fn range_locks_cover_their_keys() {
        let mut ssi = Ssi::default();
        ssi.begin(1, false);
        ssi.begin(2, false);
        ssi.lock(1, [Target::Range(9, vec![5], Some(vec![8]))]);
        ssi.conflict_in(2, &[Write::IndexKey(9, vec![9])])
            .expect("outside");
        assert!(ssi.sxacts[&ssi.by_session[&2]].in_conflicts.is_empty());
        ssi.conflict_in(2, &[Write::IndexKey(9, vec![6])])
            .expect("no structure");
        assert_eq!(ssi.sxacts[&ssi.by_session[&2]].in_conflicts.len(), 1);
    }

    /// Many tuple locks on one relation become one relation lock.
    #[test]
    fn promotion_to_relation() {
        let mut ssi = Ssi {
            max_pred_locks_per_transaction: 8,
            ..Ssi::default()
        };
        ssi.begin(1, false);
        ssi.lock(1, (0..10).map(|i| Target::Tuple(3, 0, i)));
        let id = ssi.by_session[&1];
        assert!(ssi.sxacts[&id].locks.contains(&Target::Relation(3)));
        assert!(ssi.sxacts[&id].locks.len() <= 5);
    }

    /// A read-only transaction with no writer beside it is not tracked.
    #[test]
    fn read_only_shortcut() {
        let mut ssi = Ssi::default();
        assert!(!ssi.begin(1, true));
        assert!(ssi.begin(2, false));
        assert!(ssi.begin(3, true));
        assert_eq!(ssi.snapshot_safety(3), None);
        ssi.pre_commit(2).expect("commits");
        ssi.commit(2);
        assert_eq!(ssi.snapshot_safety(3), Some(true));
    }
}
