use super::{Storage, StorageError};

/// A file kept in memory. Durable for as long as the value lives; `sync` is
/// a no-op. Used for `storage: 'memory'` databases and in tests.
#[derive(Default, Clone, Debug)]
pub struct MemoryStorage {
    data: Vec<u8>,
}

impl MemoryStorage {
    pub fn new() -> Self {
        Self::default()
    }

    /// A storage holding `data`, e.g. a crash image from [`super::FaultyStorage`].
    pub fn from_bytes(data: Vec<u8>) -> Self {
        MemoryStorage { data }
    }

    pub fn bytes(&self) -> &[u8] {
        &self.data
    }
}

impl Storage for MemoryStorage {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize, StorageError> {
        let len = self.data.len() as u64;
        if offset >= len {
            return Ok(0);
        }
        let start = offset as usize;
        let n = buf.len().min(self.data.len() - start);
        buf[..n].copy_from_slice(&self.data[start..start + n]);
        Ok(n)
    }

    fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<(), StorageError> {
        let end = offset
            .checked_add(data.len() as u64)
            .and_then(|e| usize::try_from(e).ok())
            .ok_or_else(|| StorageError::io("write", "offset out of range"))?;
        if self.data.len() < end {
            self.data.resize(end, 0);
        }
        self.data[offset as usize..end].copy_from_slice(data);
        Ok(())
    }

    fn len(&self) -> Result<u64, StorageError> {
        Ok(self.data.len() as u64)
    }

    fn set_len(&mut self, len: u64) -> Result<(), StorageError> {
        let len =
            usize::try_from(len).map_err(|_| StorageError::io("set_len", "length out of range"))?;
        self.data.resize(len, 0);
        Ok(())
    }

    fn sync(&mut self) -> Result<(), StorageError> {
        Ok(())
    }
}
