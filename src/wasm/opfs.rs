//! [`Storage`] on an Origin Private File System file, through a
//! `FileSystemSyncAccessHandle`.
//!
//! Sync access handles exist only in dedicated workers, and a file has at
//! most one open at a time (the browser's exclusive lock on the file). The
//! worker opens the handle (an async call) and hands it to [`OpfsStorage`],
//! which owns it for the database's lifetime and closes it on drop, so the
//! next leader can open the file.

use wasm_bindgen::{JsCast, JsValue};
use web_sys::{FileSystemReadWriteOptions, FileSystemSyncAccessHandle};

use crate::storage::{Storage, StorageError, StorageErrorKind};

pub struct OpfsStorage {
    handle: FileSystemSyncAccessHandle,
}

impl OpfsStorage {
    pub fn new(handle: FileSystemSyncAccessHandle) -> Self {
        OpfsStorage { handle }
    }
}

impl Drop for OpfsStorage {
    fn drop(&mut self) {
        self.handle.close();
    }
}

/// Maps a thrown DOMException to a storage error; `QuotaExceededError`
/// becomes [`StorageErrorKind::QuotaExceeded`] (SQLSTATE 53100).
fn storage_error(op: &'static str, e: JsValue) -> StorageError {
    let (name, message) = match e.dyn_ref::<js_sys::Error>() {
        Some(err) => (String::from(err.name()), String::from(err.message())),
        None => (String::new(), format!("{e:?}")),
    };
    StorageError {
        kind: if name == "QuotaExceededError" {
            StorageErrorKind::QuotaExceeded
        } else {
            StorageErrorKind::Io
        },
        op,
        message: format!("OPFS {name}: {message}"),
    }
}

fn at(offset: u64) -> FileSystemReadWriteOptions {
    let opts = FileSystemReadWriteOptions::new();
    // Offsets are below 2^53 (files are far smaller), so f64 is exact.
    opts.set_at(offset as f64);
    opts
}

impl Storage for OpfsStorage {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize, StorageError> {
        let n = self
            .handle
            .read_with_u8_array_and_options(buf, &at(offset))
            .map_err(|e| storage_error("read", e))?;
        Ok(n as usize)
    }

    fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<(), StorageError> {
        let mut done = 0usize;
        // `write` may in principle write fewer bytes than asked; loop until
        // all are written or it reports an error.
        while done < data.len() {
            let n = self
                .handle
                .write_with_u8_array_and_options(&data[done..], &at(offset + done as u64))
                .map_err(|e| storage_error("write", e))? as usize;
            if n == 0 {
                return Err(StorageError {
                    kind: StorageErrorKind::QuotaExceeded,
                    op: "write",
                    message: "OPFS write made no progress".into(),
                });
            }
            done += n;
        }
        Ok(())
    }

    fn len(&self) -> Result<u64, StorageError> {
        let n = self
            .handle
            .get_size()
            .map_err(|e| storage_error("len", e))?;
        Ok(n as u64)
    }

    fn set_len(&mut self, len: u64) -> Result<(), StorageError> {
        self.handle
            .truncate_with_f64(len as f64)
            .map_err(|e| storage_error("set_len", e))
    }

    fn sync(&mut self) -> Result<(), StorageError> {
        self.handle.flush().map_err(|e| storage_error("sync", e))
    }
}
