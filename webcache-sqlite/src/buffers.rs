//! Buffers for large values, reused: a hit copies its value out of SQLite
//! into one, and the buffer comes back when the last `Bytes` of it is
//! dropped (on whichever thread). Without this, each large hit allocated
//! and freed tens of KiB across threads, and the allocator's trimming made
//! every hit fault its pages in anew: for 64 KiB values, half of a hit's
//! CPU time.

use std::sync::{Arc, Mutex};

use bytes::Bytes;

/// Values at least this large go through the pool; smaller ones are
/// plain copies.
pub(crate) const POOLED_FROM: usize = 8 << 10;
/// The most bytes of free buffers kept for reuse.
const KEPT_BYTES: usize = 16 << 20;
/// Buffers larger than this are not kept (a rare huge value must not pin
/// its memory).
const KEPT_UP_TO: usize = 1 << 20;

/// The free buffers.
#[derive(Debug, Default)]
pub(crate) struct BufferPool {
    free: Mutex<Free>,
}

/// The free buffers and their total capacity.
#[derive(Debug, Default)]
struct Free {
    buffers: Vec<Vec<u8>>,
    bytes: usize,
}

impl BufferPool {
    /// `value` as `Bytes`, in a reused buffer when it is large.
    pub(crate) fn copy(self: &Arc<Self>, value: &[u8]) -> Bytes {
        if value.len() < POOLED_FROM || value.len() > KEPT_UP_TO {
            return Bytes::copy_from_slice(value);
        }
        let mut buf = self.take(value.len());
        buf.extend_from_slice(value);
        Bytes::from_owner(Pooled {
            buf,
            pool: self.clone(),
        })
    }

    /// A cleared buffer of at least `len` bytes of capacity.
    fn take(&self, len: usize) -> Vec<u8> {
        if let Ok(mut free) = self.free.lock() {
            if let Some(i) = free.buffers.iter().rposition(|b| b.capacity() >= len) {
                let buf = free.buffers.swap_remove(i);
                free.bytes -= buf.capacity();
                return buf;
            }
        }
        Vec::with_capacity(len.max(64 << 10))
    }

    fn give_back(&self, mut buf: Vec<u8>) {
        if buf.capacity() > KEPT_UP_TO {
            return;
        }
        buf.clear();
        if let Ok(mut free) = self.free.lock() {
            if free.bytes + buf.capacity() <= KEPT_BYTES {
                free.bytes += buf.capacity();
                free.buffers.push(buf);
            }
        }
    }
}

/// A buffer lent out as `Bytes`.
struct Pooled {
    buf: Vec<u8>,
    pool: Arc<BufferPool>,
}

impl AsRef<[u8]> for Pooled {
    fn as_ref(&self) -> &[u8] {
        &self.buf
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        self.pool.give_back(std::mem::take(&mut self.buf));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_large_value_comes_back_in_a_reused_buffer() {
        let pool = Arc::new(BufferPool::default());
        let value = vec![7u8; 20 << 10];
        let a = pool.copy(&value);
        assert_eq!(&a[..], &value[..]);
        let first = a.as_ptr();
        drop(a);
        let b = pool.copy(&value[..10 << 10]);
        assert_eq!(b.as_ptr(), first, "the buffer was reused");
        assert_eq!(&b[..], &value[..10 << 10]);
        let small = pool.copy(b"tiny");
        assert_eq!(&small[..], b"tiny");
    }
}
