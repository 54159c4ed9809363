//! Files written by HDF5 2.0 (h5py 3.15 and later with `libver='latest'`): their chunked
//! datasets carry a data layout message of version 5, which `hdf5-pure` 0.47 refuses
//! ("invalid data layout version: 5").
//!
//! Version 5 is version 4 byte for byte except the version byte. What it adds is a promise
//! about the chunk index: filtered-chunk sizes are stored in a field of the file's length
//! size rather than of a width derived from the chunk size. `hdf5-pure` already reads that
//! width from each index's own header (the fixed array's and the extensible array's element
//! size, the v2 B-tree's record size), so a version 5 message parsed as version 4 reads the
//! same chunks that libhdf5 2.0 does.
//!
//! [`LayoutV5Source`] is the [`Source`] under the reader that makes that so: every complete,
//! checksummed version 2 object header chunk (`OHDR` or `OCHK`) that it passes up has each
//! layout message of version 5 rewritten to version 4 and its checksum recomputed. A chunk
//! whose checksum does not hold is passed up untouched, for the reader to refuse. Until the
//! crate reads version 5 itself (a one-line change to its `DataLayout::parse`), this is the
//! whole of the support.

use hdf5_pure::{FormatError, Source};

/// Object header message type of the data layout message.
const LAYOUT_MESSAGE: u8 = 0x08;

/// A [`Source`] that presents HDF5 2.0's layout message version 5 as version 4.
pub struct LayoutV5Source<S> {
    inner: S,
}

impl<S> LayoutV5Source<S> {
    /// Wraps `inner`.
    pub fn new(inner: S) -> Self {
        LayoutV5Source { inner }
    }
}

impl<S: Source> Source for LayoutV5Source<S> {
    fn len(&self) -> u64 {
        self.inner.len()
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), FormatError> {
        self.inner.read_at(offset, buf)?;
        rewrite_chunk(buf);
        Ok(())
    }

    fn read_exact_at(&self, offset: u64, len: usize) -> Result<Vec<u8>, FormatError> {
        let mut bytes = self.inner.read_exact_at(offset, len)?;
        rewrite_chunk(&mut bytes);
        Ok(bytes)
    }

    fn read_metadata_at(&self, offset: u64, len: usize) -> Result<Vec<u8>, FormatError> {
        let mut bytes = self.inner.read_metadata_at(offset, len)?;
        rewrite_chunk(&mut bytes);
        Ok(bytes)
    }
}

/// Rewrites the version 5 layout messages of `buf` when it is one whole version 2 object
/// header chunk with a valid checksum; returns how many it rewrote.
pub fn rewrite_chunk(buf: &mut [u8]) -> usize {
    let Some(body) = chunk_body(buf) else { return 0 };
    let end = buf.len() - 4;
    if lookup3(&buf[..end]).to_le_bytes() != buf[end..] {
        return 0;
    }
    // An `OCHK` does not say whether its messages carry a creation order (its `OHDR` does):
    // the reading under which the messages tile the chunk exactly is the one.
    let order = match &buf[..4] {
        b"OHDR" => vec![buf[5] & 0x04 != 0],
        _ => vec![false, true],
    };
    let Some(layouts) = order.into_iter().find_map(|o| layout_messages(&buf[body..end], o)) else { return 0 };
    let mut rewritten = 0;
    for at in layouts {
        if buf[body + at] == 5 {
            buf[body + at] = 4;
            rewritten += 1;
        }
    }
    if rewritten > 0 {
        let sum = lookup3(&buf[..end]);
        buf[end..].copy_from_slice(&sum.to_le_bytes());
    }
    rewritten
}

/// Where the messages of a whole `OHDR` chunk 0 or `OCHK` chunk start, when `buf` is one:
/// the prefix is complete and its chunk size matches the buffer.
fn chunk_body(buf: &[u8]) -> Option<usize> {
    if buf.starts_with(b"OCHK") {
        return (buf.len() >= 8).then_some(4);
    }
    if !buf.starts_with(b"OHDR") || buf.len() < 7 || buf[4] != 2 {
        return None;
    }
    let flags = buf[5];
    let mut at = 6;
    if flags & 0x20 != 0 {
        at += 16; // access, modification, change and birth times
    }
    if flags & 0x10 != 0 {
        at += 4; // attribute storage phase change thresholds
    }
    let width = 1usize << (flags & 0x03);
    let field = buf.get(at..at + width)?;
    let size = field.iter().rev().fold(0u64, |v, &b| (v << 8) | u64::from(b));
    let body = at + width;
    (size.checked_add(body as u64)?.checked_add(4)? == buf.len() as u64).then_some(body)
}

/// Offsets (within `messages`) of the bodies of the layout messages, when the messages tile
/// `messages` exactly (a trailing gap shorter than a message header is allowed).
fn layout_messages(messages: &[u8], creation_order: bool) -> Option<Vec<usize>> {
    let header = if creation_order { 6 } else { 4 };
    let (mut at, mut found) = (0, Vec::new());
    while messages.len() - at >= header {
        let kind = messages[at];
        let size = u16::from_le_bytes([messages[at + 1], messages[at + 2]]) as usize;
        let data = at + header;
        if data + size > messages.len() {
            return None;
        }
        if kind == LAYOUT_MESSAGE && size >= 2 {
            found.push(data);
        }
        at = data + size;
    }
    Some(found)
}

/// Bob Jenkins' lookup3 `hashlittle` with initial value 0: HDF5's metadata checksum
/// (`H5_checksum_lookup3`).
pub fn lookup3(key: &[u8]) -> u32 {
    fn mix(a: &mut u32, b: &mut u32, c: &mut u32) {
        *a = a.wrapping_sub(*c) ^ c.rotate_left(4);
        *c = c.wrapping_add(*b);
        *b = b.wrapping_sub(*a) ^ a.rotate_left(6);
        *a = a.wrapping_add(*c);
        *c = c.wrapping_sub(*b) ^ b.rotate_left(8);
        *b = b.wrapping_add(*a);
        *a = a.wrapping_sub(*c) ^ c.rotate_left(16);
        *c = c.wrapping_add(*b);
        *b = b.wrapping_sub(*a) ^ a.rotate_left(19);
        *a = a.wrapping_add(*c);
        *c = c.wrapping_sub(*b) ^ b.rotate_left(4);
        *b = b.wrapping_add(*a);
    }
    fn last(a: &mut u32, b: &mut u32, c: &mut u32) {
        *c = (*c ^ *b).wrapping_sub(b.rotate_left(14));
        *a = (*a ^ *c).wrapping_sub(c.rotate_left(11));
        *b = (*b ^ *a).wrapping_sub(a.rotate_left(25));
        *c = (*c ^ *b).wrapping_sub(b.rotate_left(16));
        *a = (*a ^ *c).wrapping_sub(c.rotate_left(4));
        *b = (*b ^ *a).wrapping_sub(a.rotate_left(14));
        *c = (*c ^ *b).wrapping_sub(b.rotate_left(24));
    }
    let word = |k: &[u8]| {
        let mut w = [0u8; 4];
        w[..k.len()].copy_from_slice(k);
        u32::from_le_bytes(w)
    };
    // The length is added as a 32-bit value, as the reference does.
    let mut a = 0xdead_beefu32.wrapping_add(key.len() as u32);
    let (mut b, mut c) = (a, a);
    let mut k = key;
    while k.len() > 12 {
        a = a.wrapping_add(word(&k[0..4]));
        b = b.wrapping_add(word(&k[4..8]));
        c = c.wrapping_add(word(&k[8..12]));
        mix(&mut a, &mut b, &mut c);
        k = &k[12..];
    }
    if k.is_empty() {
        return c;
    }
    a = a.wrapping_add(word(&k[..k.len().min(4)]));
    if k.len() > 4 {
        b = b.wrapping_add(word(&k[4..k.len().min(8)]));
    }
    if k.len() > 8 {
        c = c.wrapping_add(word(&k[8..]));
    }
    last(&mut a, &mut b, &mut c);
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Known answers of `hashlittle` (lookup3.c's self-test: "Four score and seven years
    /// ago" with initial value 0 gives 0x17770551) and the empty key.
    #[test]
    fn lookup3_known_answers() {
        assert_eq!(lookup3(b""), 0xdead_beef);
        assert_eq!(lookup3(b"Four score and seven years ago"), 0x1777_0551);
    }

    /// A chunk whose checksum does not hold is left alone; one that holds has its version 5
    /// layout message rewritten and its checksum recomputed.
    #[test]
    fn only_checksummed_chunks_are_rewritten() {
        // OCHK, one layout message (type 8, 4 bytes: version 5, class 2, two more bytes).
        let mut chunk = b"OCHK".to_vec();
        chunk.extend_from_slice(&[LAYOUT_MESSAGE, 4, 0, 0, 5, 2, 0, 0]);
        let sum = lookup3(&chunk);
        chunk.extend_from_slice(&sum.to_le_bytes());
        let mut broken = chunk.clone();
        broken[10] ^= 1;
        assert_eq!(rewrite_chunk(&mut broken.clone()), 0);
        assert_eq!(rewrite_chunk(&mut chunk), 1);
        assert_eq!(chunk[8], 4);
        let end = chunk.len() - 4;
        assert_eq!(lookup3(&chunk[..end]).to_le_bytes(), chunk[end..]);
        assert_eq!(rewrite_chunk(&mut chunk), 0, "a rewritten chunk stays as it is");
    }
}
