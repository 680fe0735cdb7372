//! Native file backend (`std::fs`). Not built for wasm32, where the OPFS
//! backend takes its place.
#![cfg(not(target_arch = "wasm32"))]

use std::fs::{File, OpenOptions};
use std::io::ErrorKind;
use std::path::Path;

use super::{Storage, StorageError, StorageErrorKind};

/// A file on the host file system; `sync` is `fdatasync`.
#[derive(Debug)]
pub struct FileStorage {
    file: File,
}

fn map_err(op: &'static str, e: std::io::Error) -> StorageError {
    let kind = match e.kind() {
        ErrorKind::StorageFull | ErrorKind::QuotaExceeded => StorageErrorKind::QuotaExceeded,
        _ => StorageErrorKind::Io,
    };
    StorageError {
        kind,
        op,
        message: e.to_string(),
    }
}

impl FileStorage {
    /// Opens `path` for reading and writing, creating it if it does not exist.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StorageError> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path.as_ref())
            .map_err(|e| map_err("open", e))?;
        Ok(FileStorage { file })
    }
}

#[cfg(unix)]
fn pread(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, offset)
}
#[cfg(unix)]
fn pwrite_all(file: &File, buf: &[u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(file, buf, offset)
}
#[cfg(windows)]
fn pread(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, buf, offset)
}
#[cfg(windows)]
fn pwrite_all(file: &File, mut buf: &[u8], mut offset: u64) -> std::io::Result<()> {
    while !buf.is_empty() {
        let n = std::os::windows::fs::FileExt::seek_write(file, buf, offset)?;
        buf = &buf[n..];
        offset += n as u64;
    }
    Ok(())
}

impl Storage for FileStorage {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize, StorageError> {
        loop {
            match pread(&self.file, buf, offset) {
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                r => return r.map_err(|e| map_err("read", e)),
            }
        }
    }

    fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<(), StorageError> {
        pwrite_all(&self.file, data, offset).map_err(|e| map_err("write", e))
    }

    fn len(&self) -> Result<u64, StorageError> {
        self.file
            .metadata()
            .map(|m| m.len())
            .map_err(|e| map_err("stat", e))
    }

    fn set_len(&mut self, len: u64) -> Result<(), StorageError> {
        self.file.set_len(len).map_err(|e| map_err("set_len", e))
    }

    fn sync(&mut self) -> Result<(), StorageError> {
        self.file.sync_data().map_err(|e| map_err("sync", e))
    }
}
