//! A query opened once and read a batch at a time (SQL cursors, the npm
//! `db.stream`, pgwire portals with a row limit).
//!
//! The engine serves many sessions between two fetches, so a cursor owns
//! everything it needs (its plan's pieces, a scan position) and borrows
//! nothing: every fetch gets a fresh [`Env`] at the cursor's snapshot.
//! Plans whose rows come straight off one table — a heap scan or a B+tree
//! index scan, under any stack of Filter, Project, column truncation and
//! LIMIT/OFFSET — stream: a fetch reads only as far as the rows it returns.
//! Anything else (sorts, joins, aggregates, ...) runs to completion at open
//! (charged to the statement's `RowBudget`s like any query) and is handed
//! out in batches.

use std::rc::Rc;

use super::eval::{eval, passes};
use super::scan::{scan_keys, stored_types, tid_value, visible_in_chain};
use super::{err, run, Env, ExecResult, Row, RowBudget};
use crate::access;
use crate::catalog::TableDef;
use crate::error::SqlState;
use crate::heap::{Heap, PageView, Tid};
use crate::pager::PageId;
use crate::sql::plan::{BExpr, Plan};
use crate::txn::ssi::Target;
use crate::value::row::decode_row;
use crate::value::Value;

/// One step a streamed row goes through on its way up, bottom first.
enum Stage {
    Filter(BExpr),
    Project(Vec<BExpr>),
    Truncate(usize),
    /// OFFSET rows still to skip, LIMIT rows still to pass (`None`: no
    /// LIMIT).
    Limit {
        skip: usize,
        left: Option<usize>,
    },
}

/// Where a streamed cursor's rows come from.
enum Source {
    /// A sequential scan, positioned after `after_slot` of `page` (`page`
    /// 0: the scan is over). Positions are slot numbers, not indexes into
    /// the page's slot array, so slots freed or reused since the last
    /// fetch do not shift it (a reused slot holds a version too new for
    /// the cursor's snapshot).
    Heap {
        page: PageId,
        after_slot: Option<u16>,
    },
    /// An index scan whose matching TIDs were collected at open (8 bytes
    /// per entry instead of a row; a B+tree position would not survive
    /// other sessions' page splits between fetches). The heap versions
    /// they name stay put: the cursor's snapshot is registered, so vacuum
    /// keeps every version it may still see.
    Tids { tids: Vec<Tid>, next: usize },
}

struct Stream {
    table: Rc<TableDef>,
    filter: Option<BExpr>,
    with_tid: bool,
    source: Source,
    /// Bottom first.
    stages: Vec<Stage>,
    view: PageView,
}

/// A query being read a batch at a time.
pub struct PlanCursor {
    state: State,
    /// The last fetch came up short: no rows are left.
    done: bool,
}

enum State {
    Rows(std::vec::IntoIter<Row>),
    Stream(Box<Stream>),
}

impl PlanCursor {
    /// Opens `plan`: a streaming shape keeps a scan position, anything
    /// else is run to completion now.
    pub fn open(plan: Plan, env: &mut Env) -> ExecResult<PlanCursor> {
        let mut stages = Vec::new();
        let mut node = plan;
        // Peel the row-at-a-time nodes off the top, checking first that
        // the whole chain ends in a scan (so a plan that will be run whole
        // is not taken apart).
        if !streams(&node) {
            let rows = run(&node, env)?;
            return Ok(PlanCursor {
                state: State::Rows(rows.into_iter()),
                done: false,
            });
        }
        loop {
            node = match node {
                Plan::Filter { input, pred } => {
                    stages.push(Stage::Filter(pred));
                    *input
                }
                Plan::Project { input, exprs, .. } => {
                    stages.push(Stage::Project(exprs));
                    *input
                }
                Plan::Truncate { input, keep } => {
                    stages.push(Stage::Truncate(keep));
                    *input
                }
                Plan::Limit {
                    input,
                    limit,
                    offset,
                } => {
                    let skip = match offset {
                        Some(e) => count(eval(&e, &[], env)?, "OFFSET")?.unwrap_or(0),
                        None => 0,
                    };
                    let left = match limit {
                        Some(e) => count(eval(&e, &[], env)?, "LIMIT")?,
                        None => None,
                    };
                    stages.push(Stage::Limit { skip, left });
                    *input
                }
                Plan::SeqScan {
                    table,
                    filter,
                    with_tid,
                    ..
                } => {
                    // A sequential scan reads the whole table: any later
                    // insert could have changed its result.
                    env.read_target(|| Target::Relation(table.oid));
                    let page = Heap::open(table.heap).first_page(env.pager)?;
                    stages.reverse();
                    return Ok(PlanCursor::stream(Stream {
                        table,
                        filter,
                        with_tid,
                        source: Source::Heap {
                            page,
                            after_slot: None,
                        },
                        stages,
                        view: PageView::default(),
                    }));
                }
                Plan::IndexScan {
                    table,
                    index,
                    bounds,
                    reverse,
                    filter,
                    with_tid,
                    stop_after: _,
                    ..
                } => {
                    // `stop_after` only shortens nearest-neighbour scans,
                    // which `streams` leaves to `run`; a LIMIT above
                    // still applies as a stage.
                    let mut tids = Vec::new();
                    if let Some(keys) = scan_keys(&bounds, reverse, env)? {
                        let am = access::open(&index);
                        if env.ssi.is_some() {
                            let span = am.predicate_span(&keys)?;
                            env.read_target(|| match span {
                                Some((lo, hi)) => Target::Range(index.oid, lo, hi),
                                None => Target::Relation(index.oid),
                            });
                        }
                        let mut cursor = am.scan(env.pager, &keys)?;
                        loop {
                            env.interrupts.tick()?;
                            let batch = cursor.next_batch(env.pager, 1024)?;
                            if batch.is_empty() {
                                break;
                            }
                            tids.extend(batch);
                        }
                    }
                    stages.reverse();
                    return Ok(PlanCursor::stream(Stream {
                        table,
                        filter,
                        with_tid,
                        source: Source::Tids { tids, next: 0 },
                        stages,
                        view: PageView::default(),
                    }));
                }
                other => {
                    // `streams` said no other node is in the chain.
                    let rows = run(&other, env)?;
                    return Ok(PlanCursor {
                        state: State::Rows(rows.into_iter()),
                        done: false,
                    });
                }
            };
        }
    }

    fn stream(s: Stream) -> PlanCursor {
        PlanCursor {
            state: State::Stream(Box::new(s)),
            done: false,
        }
    }

    /// The table a streaming cursor reads, and its heap: the engine checks
    /// before each fetch that the session has not since dropped or
    /// rewritten it (other sessions cannot: the cursor's transaction holds
    /// its AccessShare lock).
    pub fn streamed_table(&self) -> Option<(crate::catalog::Oid, PageId)> {
        match &self.state {
            State::Stream(s) if !self.done => Some((s.table.oid, s.table.heap)),
            _ => None,
        }
    }

    /// Whether a fetch came up short: no rows are left.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Whether rows are produced on demand (rather than computed at open).
    pub fn is_streaming(&self) -> bool {
        matches!(self.state, State::Stream(_))
    }

    /// Passes up to `max` more rows (all of them with `None`) to `sink`;
    /// returns how many. `env` must be at the snapshot and command id the
    /// cursor was opened with.
    pub fn fetch(
        &mut self,
        max: Option<usize>,
        env: &mut Env,
        sink: &mut dyn FnMut(Row, &Env) -> ExecResult<()>,
    ) -> ExecResult<usize> {
        let want = max.unwrap_or(usize::MAX);
        if self.done || want == 0 {
            return Ok(0);
        }
        let mut n = 0;
        match &mut self.state {
            State::Rows(rows) => {
                for row in rows.by_ref() {
                    sink(row, env)?;
                    n += 1;
                    if n == want {
                        break;
                    }
                }
            }
            State::Stream(s) => n = s.fetch(want, env, sink)?,
        }
        if n < want {
            // Nothing more to read: let go of the rows' buffer or the
            // scan's page view and TIDs now, not at CLOSE.
            self.done = true;
            self.state = State::Rows(Vec::new().into_iter());
        }
        Ok(n)
    }

    /// Up to `max` more rows (all with `None`), charged to a `RowBudget`
    /// like any result the engine holds.
    pub fn fetch_rows(&mut self, max: Option<usize>, env: &mut Env) -> ExecResult<Vec<Row>> {
        let mut out = Vec::new();
        let mut budget = RowBudget::new();
        self.fetch(max, env, &mut |row, env| {
            budget.charge(&row, env)?;
            out.push(row);
            Ok(())
        })?;
        Ok(out)
    }
}

/// Whether `plan` is a scan under row-at-a-time nodes only.
fn streams(plan: &Plan) -> bool {
    match plan {
        Plan::Filter { input, .. }
        | Plan::Project { input, .. }
        | Plan::Truncate { input, .. }
        | Plan::Limit { input, .. } => streams(input),
        Plan::SeqScan { .. } => true,
        // Nearest-neighbour scans decide their own end (visible-row
        // budgets); they run whole.
        Plan::IndexScan { bounds, .. } => bounds.nearest.is_none(),
        _ => false,
    }
}

/// A LIMIT or OFFSET value (PostgreSQL: 2201W / 2201X when negative).
fn count(v: Value, what: &str) -> ExecResult<Option<usize>> {
    match v {
        Value::Null => Ok(None),
        Value::Int8(n) if n >= 0 => Ok(Some(n as usize)),
        Value::Int4(n) if n >= 0 => Ok(Some(n as usize)),
        _ => Err(err(
            SqlState(if what == "LIMIT" { "2201W" } else { "2201X" }),
            format!("{what} must not be negative"),
        )),
    }
}

/// What became of a row pushed through the stages.
enum Passed {
    Row(Row),
    Dropped,
    /// A LIMIT is used up: no later row can pass.
    End,
}

impl Stream {
    fn fetch(
        &mut self,
        want: usize,
        env: &mut Env,
        sink: &mut dyn FnMut(Row, &Env) -> ExecResult<()>,
    ) -> ExecResult<usize> {
        let heap = Heap::open(self.table.heap);
        let types = stored_types(&self.table);
        let mut n = 0;
        // A LIMIT 0 (or a LIMIT used up by an earlier fetch) ends the scan
        // before it reads anything.
        if self
            .stages
            .iter()
            .any(|s| matches!(s, Stage::Limit { left: Some(0), .. }))
        {
            return Ok(0);
        }
        match &mut self.source {
            Source::Heap { page, after_slot } => {
                while *page != 0 {
                    heap.view_page(env.pager, *page, &mut self.view)?;
                    for i in 0..self.view.len() {
                        let (tid, header) = self.view.tuple(i);
                        if after_slot.is_some_and(|s| tid.slot <= s) {
                            continue;
                        }
                        *after_slot = Some(tid.slot);
                        env.interrupts.tick()?;
                        if !env.visible(&header)? {
                            continue;
                        }
                        let payload = self.view.payload(env.pager, i)?;
                        let mut row = decode_row(&payload, &types)?;
                        if self.with_tid {
                            row.push(tid_value(tid));
                        }
                        match pass(&mut self.stages, self.filter.as_ref(), row, env)? {
                            Passed::Row(row) => {
                                sink(row, env)?;
                                n += 1;
                                if n == want {
                                    return Ok(n);
                                }
                            }
                            Passed::Dropped => {}
                            Passed::End => {
                                *page = 0;
                                return Ok(n);
                            }
                        }
                    }
                    *page = self.view.next_page();
                    *after_slot = None;
                }
            }
            Source::Tids { tids, next } => {
                while let Some(&entry) = tids.get(*next) {
                    *next += 1;
                    env.interrupts.tick()?;
                    let Some(tid) = visible_in_chain(&heap, entry, &mut self.view, env)? else {
                        continue;
                    };
                    env.read_target(|| Target::Tuple(self.table.oid, tid.page, tid.slot));
                    let mut row = decode_row(&self.view.payload(env.pager, 0)?, &types)?;
                    self.view.release();
                    if self.with_tid {
                        row.push(tid_value(tid));
                    }
                    match pass(&mut self.stages, self.filter.as_ref(), row, env)? {
                        Passed::Row(row) => {
                            sink(row, env)?;
                            n += 1;
                            if n == want {
                                return Ok(n);
                            }
                        }
                        Passed::Dropped => {}
                        Passed::End => {
                            *next = tids.len();
                            return Ok(n);
                        }
                    }
                }
                // Done: the TIDs are no longer needed.
                *tids = Vec::new();
                *next = 0;
            }
        }
        Ok(n)
    }
}

/// Pushes one scanned row through the scan's filter and the stages.
fn pass(
    stages: &mut [Stage],
    filter: Option<&BExpr>,
    mut row: Row,
    env: &mut Env,
) -> ExecResult<Passed> {
    if let Some(f) = filter {
        if !passes(f, &row, env)? {
            return Ok(Passed::Dropped);
        }
    }
    for stage in stages.iter_mut() {
        match stage {
            Stage::Filter(pred) => {
                if !passes(pred, &row, env)? {
                    return Ok(Passed::Dropped);
                }
            }
            Stage::Project(exprs) => {
                let mut out = Vec::with_capacity(exprs.len());
                for e in exprs.iter() {
                    out.push(eval(e, &row, env)?);
                }
                row = out;
            }
            Stage::Truncate(keep) => row.truncate(*keep),
            Stage::Limit { skip, left } => {
                if *left == Some(0) {
                    return Ok(Passed::End);
                }
                if *skip > 0 {
                    *skip -= 1;
                    return Ok(Passed::Dropped);
                }
                if let Some(l) = left {
                    *l -= 1;
                }
            }
        }
    }
    Ok(Passed::Row(row))
}
