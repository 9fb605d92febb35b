//! The digests that name what the cache stores — SHA-256 of length-prefixed
//! parts, cut to [`DIGEST_LEN`] bytes — with the most recent ones
//! remembered per thread, so that a hit on a hot resource hashes its key
//! with a cheap mix and a comparison rather than SHA-256.
//!
//! The digest of an input is always the same (stored keys do not change):
//! a remembered digest is returned only for an input equal byte for byte to
//! the one it was computed from. Bounded: [`SLOTS`] slots per thread,
//! chosen by the mix, inputs of at most [`MAX_INPUT`] bytes.

use std::cell::RefCell;

use sha2::{Digest, Sha256};

use crate::key::DIGEST_LEN;

/// Remembered digests per thread.
const SLOTS: usize = 1024;
/// The longest input remembered (a long URI is hashed every time).
const MAX_INPUT: usize = 512;

/// The input of a digest being written: each part is prefixed with its
/// length (8 bytes, big-endian), so that parts cannot run into each other.
pub(crate) struct Input(Vec<u8>);

impl Input {
    /// Appends one part.
    pub(crate) fn part(&mut self, part: &[u8]) {
        self.0.extend_from_slice(&(part.len() as u64).to_be_bytes());
        self.0.extend_from_slice(part);
    }
}

/// One remembered value: the input it was computed from, and its mix.
struct Slot<V> {
    mix: u64,
    input: Vec<u8>,
    value: Option<V>,
}

/// Values computed from inputs of length-prefixed parts, the most recent
/// one remembered in each of its slots (chosen by the input's mix). A
/// value is returned from a slot only for an input equal byte for byte to
/// the one it was computed from, so a memo never changes what its
/// computation returns; inputs longer than [`MAX_INPUT`] are computed
/// every time.
pub(crate) struct Memo<V> {
    slots: Box<[Slot<V>]>,
    /// The input being written, kept for its allocation.
    scratch: Input,
}

impl<V: Clone> Memo<V> {
    /// A memo of `slots` slots.
    pub(crate) fn new(slots: usize) -> Self {
        Memo {
            slots: (0..slots.max(1))
                .map(|_| Slot {
                    mix: 0,
                    input: Vec::new(),
                    value: None,
                })
                .collect(),
            scratch: Input(Vec::with_capacity(128)),
        }
    }

    /// The value of the parts `write` appends: `compute`d from them, or
    /// remembered from the last equal input in its slot.
    pub(crate) fn get(
        &mut self,
        write: impl FnOnce(&mut Input),
        compute: impl FnOnce(&[u8]) -> V,
    ) -> V {
        self.scratch.0.clear();
        write(&mut self.scratch);
        let input = &self.scratch.0;
        if input.len() > MAX_INPUT {
            return compute(input);
        }
        let mix = mix(input);
        let slot = &mut self.slots[(mix % self.slots.len() as u64) as usize];
        if let Some(value) = slot
            .value
            .as_ref()
            .filter(|_| slot.mix == mix && slot.input == *input)
        {
            return value.clone();
        }
        let value = compute(input);
        slot.mix = mix;
        slot.value = Some(value.clone());
        std::mem::swap(&mut slot.input, &mut self.scratch.0);
        value
    }
}

thread_local! {
    static RECENT: RefCell<Memo<[u8; DIGEST_LEN]>> = RefCell::new(Memo::new(SLOTS));
}

/// The digest of the parts `write` appends: the first [`DIGEST_LEN`] bytes
/// of the SHA-256 of the length-prefixed parts.
pub(crate) fn digest16(write: impl Fn(&mut Input)) -> [u8; DIGEST_LEN] {
    RECENT
        .try_with(|recent| {
            let mut recent = recent.try_borrow_mut().ok()?;
            Some(recent.get(&write, sha256_16))
        })
        .ok()
        .flatten()
        .unwrap_or_else(|| {
            // The thread is ending: computed without the slots.
            let mut input = Input(Vec::new());
            write(&mut input);
            sha256_16(&input.0)
        })
}

/// The first [`DIGEST_LEN`] bytes of the SHA-256 of `input`.
fn sha256_16(input: &[u8]) -> [u8; DIGEST_LEN] {
    let full = Sha256::digest(input);
    let mut out = [0u8; DIGEST_LEN];
    out.copy_from_slice(&full[..DIGEST_LEN]);
    out
}

/// A cheap mix of `bytes`, to choose a slot (equal inputs are compared
/// whole: collisions cost a SHA-256, never a wrong digest).
fn mix(bytes: &[u8]) -> u64 {
    let step = |h: u64, word: u64| {
        let h = (h ^ word).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        h ^ (h >> 29)
    };
    let mut words = bytes.chunks_exact(8);
    let mut h = bytes.len() as u64;
    for word in &mut words {
        let word: [u8; 8] = word.try_into().unwrap_or_default();
        h = step(h, u64::from_le_bytes(word));
    }
    let rest = words.remainder();
    if !rest.is_empty() {
        let mut word = [0u8; 8];
        word[..rest.len()].copy_from_slice(rest);
        h = step(h, u64::from_le_bytes(word));
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The digest as first specified: SHA-256 over each part's length and
    /// bytes, streamed.
    fn reference(parts: &[&[u8]]) -> [u8; DIGEST_LEN] {
        let mut hasher = Sha256::new();
        for p in parts {
            hasher.update((p.len() as u64).to_be_bytes());
            hasher.update(p);
        }
        let mut out = [0u8; DIGEST_LEN];
        out.copy_from_slice(&hasher.finalize()[..DIGEST_LEN]);
        out
    }

    fn digest(parts: &[&[u8]]) -> [u8; DIGEST_LEN] {
        digest16(|input| parts.iter().for_each(|p| input.part(p)))
    }

    #[test]
    fn remembered_digests_are_the_computed_ones() {
        let long = vec![b'x'; MAX_INPUT];
        let inputs: [&[&[u8]]; 5] = [
            &[b"", b"http://a.test/"],
            &[b"salt", b"http://a.test/"],
            &[b"", b"http://a.test/b"],
            &[b"salta", b"http://a.test/"],
            &[b"", &long],
        ];
        for _ in 0..2 {
            for parts in inputs {
                assert_eq!(digest(parts), reference(parts));
            }
        }
    }

    #[test]
    fn the_digest_of_a_known_key_does_not_change() {
        // Stored keys name entries in persistent stores: this value (the
        // primary key of http://example.com/ without a master salt) must
        // never change.
        for _ in 0..2 {
            let d = digest(&[b"", b"http://example.com/"]);
            assert_eq!(crate::store::hex(&d), "209146b9068a324cdde015b23cf412cc");
        }
    }

    #[test]
    fn parts_do_not_run_into_each_other() {
        assert_ne!(digest(&[b"ab", b"c"]), digest(&[b"a", b"bc"]));
    }

    #[test]
    fn colliding_slots_give_each_input_its_own_digest() {
        // Many more inputs than slots: every one still gets its digest.
        for n in 0..(3 * SLOTS) {
            let uri = format!("http://a.test/{n}");
            assert_eq!(
                digest(&[b"", uri.as_bytes()]),
                reference(&[b"", uri.as_bytes()])
            );
        }
    }
}
