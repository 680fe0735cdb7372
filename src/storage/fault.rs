//! A storage that simulates what a crash or a failing medium does, for
//! deterministic crash-recovery tests.
//!
//! Every file of one simulated machine shares a [`FaultController`], which
//! numbers the mutating calls (`write_at`, `set_len`, `sync`) of all files in
//! one sequence. A test arms the controller to crash at call `n` (or to fail
//! it with an I/O error), runs a workload until the crash, then asks each
//! file for its [`FaultyStorage::crash_image`]: what a disk could hold after
//! power loss at that moment, according to a [`CrashMode`].

use std::cell::RefCell;
use std::rc::Rc;

use super::{MemoryStorage, Storage, StorageError, StorageErrorKind};
use crate::util::Rng;

/// What a crash does to writes that were not yet synced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrashMode {
    /// Every unsynced write and `set_len` is lost.
    DropUnsynced,
    /// Every unsynced write survives, except the one interrupted by the crash,
    /// which is torn: only a seeded-length prefix of it reaches the file.
    TearLast,
    /// Each unsynced write independently survives or is lost (a seeded coin
    /// flip; the medium may reorder writes), and the interrupted one is torn.
    Reorder,
}

#[derive(Debug)]
struct ControllerState {
    /// Number of mutating calls made so far, across all files.
    calls: u64,
    crash_at: Option<u64>,
    fail_at: Option<(u64, StorageErrorKind)>,
    crashed: bool,
    rng: Rng,
}

/// Shared by all files of one simulated machine; see the module docs.
#[derive(Clone, Debug)]
pub struct FaultController {
    state: Rc<RefCell<ControllerState>>,
}

enum Verdict {
    Proceed,
    Fail(StorageErrorKind),
    /// This call is the one the crash interrupts.
    CrashNow,
}

impl FaultController {
    pub fn new(seed: u64) -> Self {
        FaultController {
            state: Rc::new(RefCell::new(ControllerState {
                calls: 0,
                crash_at: None,
                fail_at: None,
                crashed: false,
                rng: Rng::new(seed),
            })),
        }
    }

    /// Mutating calls made so far.
    pub fn calls(&self) -> u64 {
        self.state.borrow().calls
    }

    /// Crash during mutating call number `n` (1-based, counted from the start).
    pub fn crash_at_call(&self, n: u64) {
        self.state.borrow_mut().crash_at = Some(n);
    }

    /// Make mutating call number `n` fail with `kind` without crashing.
    pub fn fail_call(&self, n: u64, kind: StorageErrorKind) {
        self.state.borrow_mut().fail_at = Some((n, kind));
    }

    pub fn has_crashed(&self) -> bool {
        self.state.borrow().crashed
    }

    fn next_random(&self, bound: u64) -> u64 {
        self.state.borrow_mut().rng.below(bound)
    }

    fn on_mutating_call(&self) -> Verdict {
        let mut s = self.state.borrow_mut();
        if s.crashed {
            return Verdict::Fail(StorageErrorKind::Crashed);
        }
        s.calls += 1;
        if s.crash_at == Some(s.calls) {
            s.crashed = true;
            return Verdict::CrashNow;
        }
        match s.fail_at {
            Some((n, kind)) if n == s.calls => Verdict::Fail(kind),
            _ => Verdict::Proceed,
        }
    }

    fn check_read(&self) -> Result<(), StorageError> {
        if self.state.borrow().crashed {
            Err(crashed("read"))
        } else {
            Ok(())
        }
    }
}

fn crashed(op: &'static str) -> StorageError {
    StorageError {
        kind: StorageErrorKind::Crashed,
        op,
        message: "simulated crash".into(),
    }
}

#[derive(Clone, Debug)]
enum PendingOp {
    Write { offset: u64, data: Vec<u8> },
    SetLen(u64),
}

/// An in-memory file that remembers which of its writes are durable. A
/// cheap handle: clones share the file, so a test can keep one while the
/// pager owns another.
#[derive(Clone)]
pub struct FaultyStorage {
    file: Rc<RefCell<FaultyFile>>,
}

struct FaultyFile {
    ctl: FaultController,
    /// What reads see: every write so far.
    current: MemoryStorage,
    /// What is durable: state at the last successful sync.
    durable: MemoryStorage,
    /// Writes since the last sync, in order.
    unsynced: Vec<PendingOp>,
    /// The write the crash interrupted, with the length of its torn prefix.
    torn: Option<(u64, Vec<u8>)>,
}

impl FaultyStorage {
    /// A file whose durable content is `initial`.
    pub fn new(ctl: &FaultController, initial: Vec<u8>) -> Self {
        FaultyStorage {
            file: Rc::new(RefCell::new(FaultyFile {
                ctl: ctl.clone(),
                current: MemoryStorage::from_bytes(initial.clone()),
                durable: MemoryStorage::from_bytes(initial),
                unsynced: Vec::new(),
                torn: None,
            })),
        }
    }

    /// The bytes a disk could hold if power were lost now, per `mode`.
    /// Deterministic for a given controller seed and call history.
    pub fn crash_image(&self, mode: CrashMode) -> Vec<u8> {
        self.file.borrow().crash_image(mode)
    }

    /// Everything written so far, synced or not (what a clean shutdown of
    /// the process, without power loss, leaves behind).
    pub fn current_bytes(&self) -> Vec<u8> {
        self.file.borrow().current.bytes().to_vec()
    }
}

impl FaultyFile {
    fn crash_image(&self, mode: CrashMode) -> Vec<u8> {
        let mut image = self.durable.clone();
        for op in &self.unsynced {
            let keep = match mode {
                CrashMode::DropUnsynced => false,
                CrashMode::TearLast => true,
                CrashMode::Reorder => self.ctl.next_random(2) == 0,
            };
            if keep {
                apply(&mut image, op);
            }
        }
        if mode != CrashMode::DropUnsynced {
            if let Some((offset, prefix)) = &self.torn {
                apply(
                    &mut image,
                    &PendingOp::Write {
                        offset: *offset,
                        data: prefix.clone(),
                    },
                );
            }
        }
        image.bytes().to_vec()
    }
}

fn apply(image: &mut MemoryStorage, op: &PendingOp) {
    // In-memory operations cannot fail for offsets that already succeeded once.
    let _ = match op {
        PendingOp::Write { offset, data } => image.write_at(*offset, data),
        PendingOp::SetLen(len) => image.set_len(*len),
    };
}

impl Storage for FaultyStorage {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize, StorageError> {
        self.file.borrow().read_at(offset, buf)
    }
    fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<(), StorageError> {
        self.file.borrow_mut().write_at(offset, data)
    }
    fn len(&self) -> Result<u64, StorageError> {
        self.file.borrow().len()
    }
    fn set_len(&mut self, len: u64) -> Result<(), StorageError> {
        self.file.borrow_mut().set_len(len)
    }
    fn sync(&mut self) -> Result<(), StorageError> {
        self.file.borrow_mut().sync()
    }
}

impl FaultyFile {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize, StorageError> {
        self.ctl.check_read()?;
        self.current.read_at(offset, buf)
    }

    fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<(), StorageError> {
        match self.ctl.on_mutating_call() {
            Verdict::Proceed => {
                self.current.write_at(offset, data)?;
                self.unsynced.push(PendingOp::Write {
                    offset,
                    data: data.to_vec(),
                });
                Ok(())
            }
            Verdict::Fail(StorageErrorKind::Crashed) => Err(crashed("write")),
            Verdict::Fail(kind) => Err(StorageError {
                kind,
                op: "write",
                message: "injected write failure".into(),
            }),
            Verdict::CrashNow => {
                let cut = self.ctl.next_random(data.len() as u64 + 1) as usize;
                self.torn = Some((offset, data[..cut].to_vec()));
                Err(crashed("write"))
            }
        }
    }

    fn len(&self) -> Result<u64, StorageError> {
        self.ctl.check_read()?;
        self.current.len()
    }

    fn set_len(&mut self, len: u64) -> Result<(), StorageError> {
        match self.ctl.on_mutating_call() {
            Verdict::Proceed => {
                self.current.set_len(len)?;
                self.unsynced.push(PendingOp::SetLen(len));
                Ok(())
            }
            Verdict::Fail(StorageErrorKind::Crashed) | Verdict::CrashNow => Err(crashed("set_len")),
            Verdict::Fail(kind) => Err(StorageError {
                kind,
                op: "set_len",
                message: "injected set_len failure".into(),
            }),
        }
    }

    fn sync(&mut self) -> Result<(), StorageError> {
        match self.ctl.on_mutating_call() {
            Verdict::Proceed => {
                for op in self.unsynced.drain(..) {
                    apply(&mut self.durable, &op);
                }
                Ok(())
            }
            Verdict::Fail(StorageErrorKind::Crashed) | Verdict::CrashNow => Err(crashed("sync")),
            // A failed sync may have persisted any subset of the writes; we
            // keep them pending, so a later crash image decides.
            Verdict::Fail(kind) => Err(StorageError {
                kind,
                op: "sync",
                message: "injected sync failure".into(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsynced_writes_are_dropped_and_synced_ones_kept() {
        let ctl = FaultController::new(1);
        let mut f = FaultyStorage::new(&ctl, Vec::new());
        f.write_at(0, b"hello").unwrap();
        f.sync().unwrap();
        f.write_at(5, b" world").unwrap();
        assert_eq!(f.crash_image(CrashMode::DropUnsynced), b"hello");
        assert_eq!(f.crash_image(CrashMode::TearLast), b"hello world");
    }

    #[test]
    fn crash_tears_the_interrupted_write_and_fails_everything_after() {
        let ctl = FaultController::new(7);
        let mut f = FaultyStorage::new(&ctl, Vec::new());
        f.write_at(0, b"aaaa").unwrap();
        f.sync().unwrap();
        ctl.crash_at_call(ctl.calls() + 1);
        let err = f.write_at(4, b"bbbbbbbb").unwrap_err();
        assert_eq!(err.kind, StorageErrorKind::Crashed);
        assert!(f.sync().is_err());
        assert!(f.read_at(0, &mut [0; 4]).is_err());
        let img = f.crash_image(CrashMode::TearLast);
        assert!(img.len() <= 12 && img.starts_with(b"aaaa"));
        assert!(img[4..].iter().all(|&b| b == b'b'));
        assert_eq!(f.crash_image(CrashMode::DropUnsynced), b"aaaa");
    }

    #[test]
    fn injected_failure_does_not_crash() {
        let ctl = FaultController::new(3);
        let mut f = FaultyStorage::new(&ctl, Vec::new());
        ctl.fail_call(2, StorageErrorKind::Io);
        f.write_at(0, b"x").unwrap();
        assert_eq!(f.sync().unwrap_err().kind, StorageErrorKind::Io);
        f.sync().unwrap();
        assert_eq!(f.crash_image(CrashMode::DropUnsynced), b"x");
    }
}
