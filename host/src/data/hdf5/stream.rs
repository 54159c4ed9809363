//! A CaloChallenge file written as its rows arrive, in bounded memory.
//!
//! hdf5-pure builds a file in memory and appends only to 1-D datasets, so a file of 100,000
//! ds3 showers (16 GB of voxels) would be held whole, several times over. [`ShowerWriter`]
//! writes the same layout itself: each chunk of rows is shuffled, deflated and written as
//! soon as it is complete, and the metadata follows the last chunk. Besides the batch it is
//! given, it holds one partial chunk, four chunks a compressing thread (being shuffled,
//! deflated, or waiting to be written in order), and 12 bytes per chunk for the index;
//! never the file.
//!
//! # What is written
//!
//! HDF5 as libhdf5 writes it with its oldest format (h5py's default, and the challenge
//! files'), described in the HDF5 File Format Specification version 3.0
//! (<https://docs.hdfgroup.org/hdf5/develop/_f_m_t3.html>). Addresses and lengths are
//! 8 bytes, little-endian; nothing is checksummed.
//!
//! ```text
//! 0        superblock v0 (96 bytes; written last): EOF address and the root group's
//!          symbol-table entry, which caches the root's B-tree and local-heap addresses
//! 96       chunk 0 of incident_energies, chunk 0 of showers, chunk 1 of each, ...
//!          (each shuffled then zlib-deflated, the last one padded to full size with zeros)
//! ...      chunk B-tree v1 (node type 1) of incident_energies, then of showers: leaves of
//!          up to 2K = 64 chunks, then as many levels of internal nodes as it takes
//! ...      object header v1 of incident_energies and of showers: dataspace v1,
//!          datatype v1 (IEEE float LE), fill value v2 (0, allocated incrementally),
//!          data layout v3 (chunked), filter pipeline v1 (shuffle, deflate)
//! ...      root group: local heap (the two names), symbol-table node with the two
//!          entries, group B-tree v1 (node type 0, one leaf), object header v1 with the
//!          symbol-table message
//! EOF
//! ```
//!
//! Every B-tree node and symbol-table node is written at its full size (2K entries), as
//! libhdf5 reads them whole. `incident_energies` is (N, 1) and `showers` (N, V), chunked by
//! the same rows; a dataset with no elements has no chunks and an undefined B-tree address.
//!
//! # Invariants
//!
//! The number of rows is declared up front (it fixes the dataspace and the chunk shape,
//! which is clamped to it: h5py refuses chunks larger than a fixed dimension) and [`ShowerWriter::finish`]
//! refuses a file that received another number. Rows are validated as they arrive. The
//! superblock is written last, so a file cut short anywhere is not an HDF5 file; through
//! [`super::write_streaming`] it is written under a temporary name and renamed only once
//! complete.

use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};

use anyhow::{bail, Context, Result};
use flate2::write::ZlibEncoder;
use flate2::Compression;

use super::{FloatType, WriteOptions, INCIDENT, MAX_CHUNK_BYTES, SHOWERS};
use crate::data::showers::Showers;
use crate::memory;

/// The undefined address.
const UNDEF: u64 = u64::MAX;

/// Size of the v0 superblock with 8-byte addresses and lengths.
const SUPERBLOCK_LEN: u64 = 96;

/// The B-tree K of chunk indices: libhdf5's default, which a v0 superblock cannot change.
const CHUNK_BTREE_K: usize = 32;
/// Entries of one chunk B-tree node.
const CHUNK_NODE_ENTRIES: usize = 2 * CHUNK_BTREE_K;
/// Group B-tree internal node K and symbol-table leaf K (libhdf5's defaults, stored in the
/// superblock).
const GROUP_INTERNAL_K: usize = 16;
const GROUP_LEAF_K: usize = 4;

/// Header of a v1 B-tree node: signature, type, level, entries used, two siblings.
const BTREE_HEADER_LEN: usize = 24;
/// A chunk key of a rank-2 dataset: chunk size, filter mask and 3 offsets (the last is the
/// element dimension, always 0).
const CHUNK_KEY_LEN: usize = 4 + 4 + 3 * 8;
/// A symbol-table entry with 8-byte addresses.
const SYMBOL_ENTRY_LEN: usize = 40;

/// libhdf5's "end of free list" in a local heap (`H5HL_FREE_NULL`).
const HEAP_FREE_NULL: u64 = 1;

/// HDF5 filter ids.
const FILTER_DEFLATE: u16 = 1;
const FILTER_SHUFFLE: u16 = 2;

/// Message flag: the message never changes (libhdf5 sets it on datatype, fill value and
/// filter pipeline messages).
const MSG_CONSTANT: u8 = 1;

/// The compressed chunks of one row range: incident energies, voxels.
type Compressed = (Vec<u8>, Vec<u8>);

/// Where a compressed chunk lies.
#[derive(Clone, Copy, Debug)]
struct StoredChunk {
    address: u64,
    size: u32,
}

/// A key of a chunk B-tree: the chunk's (compressed) size and its first row.
#[derive(Clone, Copy, Debug)]
struct ChunkKey {
    size: u32,
    row: u64,
}

/// Writes a CaloChallenge file chunk by chunk into `W`, which must start empty at
/// position 0 (the superblock is patched there at the end).
pub struct ShowerWriter<W: Write + Seek> {
    out: W,
    /// Bytes written so far: the next free address.
    pos: u64,
    n_rows: u64,
    n_voxels: usize,
    chunk_rows: usize,
    incident_type: FloatType,
    level: u32,
    threads: usize,
    /// Rows received so far.
    rows: u64,
    /// Rows of the chunk being filled (fewer than `chunk_rows`).
    pending: Showers,
    incident_chunks: Vec<StoredChunk>,
    shower_chunks: Vec<StoredChunk>,
}

impl<W: Write + Seek> ShowerWriter<W> {
    /// A writer of `n_rows` showers of `n_voxels` voxels into `out`, which must be empty.
    pub fn new(mut out: W, n_rows: usize, n_voxels: usize, options: &WriteOptions) -> Result<Self> {
        if options.deflate_level > 9 {
            bail!("deflate level {} is not in 0..=9", options.deflate_level);
        }
        let chunk_rows = options.chunk_rows.clamp(1, n_rows.max(1));
        let chunk_bytes = memory::array::<f32>(&[chunk_rows, n_voxels.max(1)]);
        if chunk_bytes >= u128::from(MAX_CHUNK_BYTES) {
            bail!(
                "chunks of {chunk_rows} rows of {n_voxels} voxels would take {} (HDF5 chunks are less than 4.3 GB); \
                 use fewer rows per chunk",
                memory::human(chunk_bytes)
            );
        }
        out.write_all(&[0; SUPERBLOCK_LEN as usize]).context("write")?;
        let threads = match options.threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            t => t,
        };
        Ok(ShowerWriter {
            out,
            pos: SUPERBLOCK_LEN,
            n_rows: n_rows as u64,
            n_voxels,
            chunk_rows,
            incident_type: options.incident_type,
            level: options.deflate_level,
            threads,
            rows: 0,
            pending: Showers::new(n_voxels),
            incident_chunks: Vec::new(),
            shower_chunks: Vec::new(),
        })
    }

    /// Validates `batch` and writes every chunk it completes; rows of an incomplete chunk
    /// are kept until the next batch (or [`finish`](Self::finish)).
    pub fn push(&mut self, batch: &Showers) -> Result<()> {
        if batch.n_voxels != self.n_voxels {
            bail!("a batch of showers with {} voxels, in a file of {} voxels", batch.n_voxels, self.n_voxels);
        }
        if self.rows + batch.len() as u64 > self.n_rows {
            bail!("{} rows received, more than the {} declared", self.rows + batch.len() as u64, self.n_rows);
        }
        batch.validate(self.rows as usize).context("refusing to write invalid showers")?;
        let (c, v) = (self.chunk_rows, self.n_voxels);
        let mut used = 0;
        if !self.pending.is_empty() {
            used = (c - self.pending.len()).min(batch.len());
            self.pending.incident_energies.extend_from_slice(&batch.incident_energies[..used]);
            self.pending.energies.extend_from_slice(&batch.energies[..used * v]);
            if self.pending.len() == c {
                self.flush_pending()?;
            }
        }
        let full = (batch.len() - used) / c * c;
        let rows = used..used + full;
        self.store(&batch.incident_energies[rows.clone()], &batch.energies[rows.start * v..rows.end * v])?;
        self.pending.incident_energies.extend_from_slice(&batch.incident_energies[rows.end..]);
        self.pending.energies.extend_from_slice(&batch.energies[rows.end * v..]);
        self.rows += batch.len() as u64;
        Ok(())
    }

    /// Writes the last (partial) chunk, the chunk indices, the dataset headers, the root
    /// group and the superblock; returns the output, flushed.
    pub fn finish(mut self) -> Result<W> {
        if self.rows != self.n_rows {
            bail!("{} rows received, but the file was declared with {}", self.rows, self.n_rows);
        }
        self.flush_pending()?;
        let (n, v, c) = (self.n_rows, self.n_voxels as u64, self.chunk_rows as u64);
        let incident_size = element_size(self.incident_type);
        let incident_chunks = std::mem::take(&mut self.incident_chunks);
        let shower_chunks = std::mem::take(&mut self.shower_chunks);
        let incident_tree = self.write_chunk_index(&incident_chunks)?;
        let shower_tree = self.write_chunk_index(&shower_chunks)?;
        let incident_dims = [c as u32, 1, incident_size as u32];
        let shower_dims = [c as u32, v.max(1) as u32, 4];
        let header = dataset_header([n, 1], self.incident_type, incident_dims, incident_tree, self.level);
        let incident_header = self.append(&header)?;
        let header = dataset_header([n, v], FloatType::F32, shower_dims, shower_tree, self.level);
        let shower_header = self.append(&header)?;

        // The root group: names in a local heap, entries (sorted by name) in one symbol-table
        // node, which the group B-tree's only leaf points to.
        let mut members = [(INCIDENT, incident_header), (SHOWERS, shower_header)];
        members.sort_by_key(|(name, _)| *name);
        let mut heap_data = vec![0u8; 8]; // offset 0: the empty name
        let mut name_offsets = Vec::new();
        for (name, _) in &members {
            name_offsets.push(heap_data.len() as u64);
            heap_data.extend_from_slice(name.as_bytes());
            heap_data.push(0);
            pad_to_8(&mut heap_data);
        }
        let heap = self.pos;
        let mut b = Bytes::default();
        b.raw(b"HEAP").u8(0).raw(&[0; 3]).u64(heap_data.len() as u64).u64(HEAP_FREE_NULL).u64(heap + 32);
        b.raw(&heap_data);
        self.append(&b.0)?;

        let mut b = Bytes::default();
        b.raw(b"SNOD").u8(1).u8(0).u16(members.len() as u16);
        for ((_, header), offset) in members.iter().zip(&name_offsets) {
            b.u64(*offset).u64(*header).u32(0).u32(0).raw(&[0; 16]);
        }
        b.zeros(8 + 2 * GROUP_LEAF_K * SYMBOL_ENTRY_LEN);
        let symbols = self.append(&b.0)?;

        let mut b = Bytes::default();
        b.raw(b"TREE").u8(0).u8(0).u16(1).u64(UNDEF).u64(UNDEF);
        b.u64(0).u64(symbols).u64(*name_offsets.last().expect("two names"));
        b.zeros(BTREE_HEADER_LEN + (2 * GROUP_INTERNAL_K + 1) * 8 + 2 * GROUP_INTERNAL_K * 8);
        let group_tree = self.append(&b.0)?;

        let mut stab = Bytes::default();
        stab.u64(group_tree).u64(heap);
        let root = self.append(&object_header(&[(0x0011, 0, stab.0)]))?;

        let eof = self.pos;
        let mut b = Bytes::default();
        b.raw(b"\x89HDF\r\n\x1a\n");
        // Versions of the superblock, free space, root entry, (reserved), shared messages;
        // sizes of offsets and lengths; (reserved).
        b.raw(&[0, 0, 0, 0, 0, 8, 8, 0]);
        b.u16(GROUP_LEAF_K as u16).u16(GROUP_INTERNAL_K as u16).u32(0);
        b.u64(0).u64(UNDEF).u64(eof).u64(UNDEF);
        // The root group's symbol-table entry, caching its B-tree and heap.
        b.u64(0).u64(root).u32(1).u32(0).u64(group_tree).u64(heap);
        debug_assert_eq!(b.0.len() as u64, SUPERBLOCK_LEN);
        self.out.seek(SeekFrom::Start(0)).context("seek to the superblock")?;
        self.out.write_all(&b.0).context("write the superblock")?;
        self.out.seek(SeekFrom::Start(eof)).context("seek to the end")?;
        self.out.flush().context("write")?;
        Ok(self.out)
    }

    fn flush_pending(&mut self) -> Result<()> {
        let pending = std::mem::replace(&mut self.pending, Showers::new(self.n_voxels));
        self.store(&pending.incident_energies, &pending.energies)?;
        self.pending = pending;
        self.pending.incident_energies.clear();
        self.pending.energies.clear();
        Ok(())
    }

    /// Compresses the rows of `incident` and `energies` chunk by chunk (a multiple of
    /// `chunk_rows` rows, or the last rows of the file), two chunks a thread at a time on up
    /// to `threads` threads, and writes the chunks in order.
    fn store(&mut self, incident: &[f64], energies: &[f32]) -> Result<()> {
        let (c, v) = (self.chunk_rows, self.n_voxels);
        let n_chunks = incident.len().div_ceil(c);
        let group = 2 * self.threads;
        for first in (0..n_chunks).step_by(group) {
            let jobs: Vec<(&[f64], &[f32])> = (first..(first + group).min(n_chunks))
                .map(|k| {
                    let rows = k * c..((k + 1) * c).min(incident.len());
                    (&incident[rows.clone()], &energies[rows.start * v..rows.end * v])
                })
                .collect();
            for result in self.compress(&jobs) {
                let (inc, en) = result?;
                let chunk = self.append_chunk(&inc)?;
                self.incident_chunks.push(chunk);
                if v > 0 {
                    let chunk = self.append_chunk(&en)?;
                    self.shower_chunks.push(chunk);
                }
            }
        }
        Ok(())
    }

    /// The compressed chunks of `jobs` (incident energies, voxels), in order, computed on up
    /// to `threads` threads.
    fn compress(&self, jobs: &[(&[f64], &[f32])]) -> Vec<Result<Compressed>> {
        let (c, v, incident_type, level) = (self.chunk_rows, self.n_voxels, self.incident_type, self.level);
        let compress = |&(inc, en): &(&[f64], &[f32])| -> Result<Compressed> {
            let inc_bytes = match incident_type {
                FloatType::F32 => compress_chunk(inc.iter().map(|&e| (e as f32).to_le_bytes()), c, level)?,
                FloatType::F64 => compress_chunk(inc.iter().map(|e| e.to_le_bytes()), c, level)?,
            };
            let en_bytes =
                if v == 0 { Vec::new() } else { compress_chunk(en.iter().map(|e| e.to_le_bytes()), c * v, level)? };
            Ok((inc_bytes, en_bytes))
        };
        let threads = self.threads.min(jobs.len());
        if threads <= 1 {
            return jobs.iter().map(compress).collect();
        }
        let next = std::sync::atomic::AtomicUsize::new(0);
        let mut done: Vec<(usize, Result<Compressed>)> = std::thread::scope(|s| {
            let workers: Vec<_> = (0..threads)
                .map(|_| {
                    s.spawn(|| {
                        let mut mine = Vec::new();
                        loop {
                            let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            let Some(job) = jobs.get(k) else { break };
                            mine.push((k, compress(job)));
                        }
                        mine
                    })
                })
                .collect();
            workers.into_iter().flat_map(|w| w.join().expect("compression thread panicked")).collect()
        });
        done.sort_by_key(|(k, _)| *k);
        done.into_iter().map(|(_, r)| r).collect()
    }

    fn append_chunk(&mut self, bytes: &[u8]) -> Result<StoredChunk> {
        let size = u32::try_from(bytes.len())
            .map_err(|_| anyhow::anyhow!("a chunk compressed to {} bytes, more than HDF5 can index", bytes.len()))?;
        Ok(StoredChunk { address: self.append(bytes)?, size })
    }

    /// Writes `bytes` at the end; returns their address.
    fn append(&mut self, bytes: &[u8]) -> Result<u64> {
        let at = self.pos;
        self.out.write_all(bytes).context("write")?;
        self.pos += bytes.len() as u64;
        Ok(at)
    }

    /// Writes the B-tree of `chunks` (leaves first, then each level of internal nodes, each
    /// level's nodes side by side); returns the root's address.
    fn write_chunk_index(&mut self, chunks: &[StoredChunk]) -> Result<u64> {
        if chunks.is_empty() {
            return Ok(UNDEF);
        }
        let c = self.chunk_rows as u64;
        let mut entries: Vec<(ChunkKey, u64)> = chunks
            .iter()
            .enumerate()
            .map(|(i, chunk)| (ChunkKey { size: chunk.size, row: i as u64 * c }, chunk.address))
            .collect();
        // The key after the last chunk: where the next one would start.
        let end = ChunkKey { size: 0, row: chunks.len() as u64 * c };
        let node_len = (BTREE_HEADER_LEN + (CHUNK_NODE_ENTRIES + 1) * CHUNK_KEY_LEN + CHUNK_NODE_ENTRIES * 8) as u64;
        let mut level = 0u8;
        loop {
            let nodes = entries.len().div_ceil(CHUNK_NODE_ENTRIES);
            let first = self.pos;
            let mut parents = Vec::with_capacity(nodes);
            for (j, group) in entries.chunks(CHUNK_NODE_ENTRIES).enumerate() {
                // A node's last key is the next node's first, as its parent keys them.
                let right_key = entries.get((j + 1) * CHUNK_NODE_ENTRIES).map_or(end, |e| e.0);
                let left = if j == 0 { UNDEF } else { first + (j as u64 - 1) * node_len };
                let right = if j + 1 == nodes { UNDEF } else { first + (j as u64 + 1) * node_len };
                let mut b = Bytes::default();
                b.raw(b"TREE").u8(1).u8(level).u16(group.len() as u16).u64(left).u64(right);
                for (key, child) in group {
                    chunk_key(&mut b, key);
                    b.u64(*child);
                }
                chunk_key(&mut b, &right_key);
                b.zeros(node_len as usize);
                let at = self.append(&b.0)?;
                debug_assert_eq!(at, first + j as u64 * node_len);
                parents.push((group[0].0, at));
            }
            if nodes == 1 {
                return Ok(parents[0].1);
            }
            entries = parents;
            level = level.checked_add(1).context("chunk B-tree too deep")?;
        }
    }
}

/// Writes the showers `fill` pushes into `file`: in place when it is an empty regular file
/// at position 0, through a temporary file otherwise ([`spool`]).
pub(super) fn write_file(
    file: &File,
    n: usize,
    n_voxels: usize,
    options: &WriteOptions,
    fill: impl FnOnce(&mut ShowerWriter<BufWriter<&File>>) -> Result<()>,
) -> Result<()> {
    if writable_in_place(file) {
        write_into(file, n, n_voxels, options, fill)
    } else {
        spool(file, |tmp| write_into(tmp, n, n_voxels, options, fill))
    }
}

/// Writes the showers `fill` pushes into `file`, which is empty and at position 0.
fn write_into(
    file: &File,
    n: usize,
    n_voxels: usize,
    options: &WriteOptions,
    fill: impl FnOnce(&mut ShowerWriter<BufWriter<&File>>) -> Result<()>,
) -> Result<()> {
    let mut writer = ShowerWriter::new(BufWriter::with_capacity(1 << 20, file), n, n_voxels, options)?;
    fill(&mut writer)?;
    let mut out = writer.finish()?;
    let eof = out.stream_position().context("write")?;
    out.into_inner().map_err(|e| e.into_error()).context("write")?;
    // An output opened for appending would have taken the superblock at its end.
    let len = file.metadata().context("inspect the output")?.len();
    if len != eof {
        bail!("the output holds {len} bytes after writing {eof}: it was not written in place (opened for appending?)");
    }
    Ok(())
}

/// For outputs that cannot seek (a pipe, a terminal), or that already hold something:
/// writes into an unnamed temporary file, then copies that to `dest`.
fn spool(dest: &File, emit: impl FnOnce(&File) -> Result<()>) -> Result<()> {
    let dir = std::env::temp_dir();
    let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let path = dir.join(format!(".calo4p-spool-{}-{stamp}.h5", std::process::id()));
    let mut tmp = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)
        .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
    // Unnamed from now on: nothing is left behind, whatever happens.
    std::fs::remove_file(&path).with_context(|| format!("cannot unlink {}", path.display()))?;
    emit(&tmp)?;
    tmp.seek(SeekFrom::Start(0)).context("rewind the temporary file")?;
    let mut dest = dest;
    std::io::copy(&mut tmp, &mut dest).context("copy to the output")?;
    dest.flush().context("write")?;
    Ok(())
}

/// True when `file` can be written in place: a regular file, empty, at position 0.
fn writable_in_place(file: &File) -> bool {
    let mut f = file;
    file.metadata().is_ok_and(|m| m.is_file() && m.len() == 0) && f.stream_position().is_ok_and(|p| p == 0)
}

fn element_size(t: FloatType) -> usize {
    match t {
        FloatType::F32 => 4,
        FloatType::F64 => 8,
    }
}

/// Shuffles the little-endian bytes of `values` (byte `j` of element `i` to `j * n + i`,
/// HDF5's shuffle filter) over a chunk of `n` elements, the missing ones zero, and deflates
/// the result into a zlib stream (HDF5's deflate filter).
fn compress_chunk<const S: usize>(values: impl Iterator<Item = [u8; S]>, n: usize, level: u32) -> Result<Vec<u8>> {
    let mut shuffled = vec![0u8; n * S];
    for (i, bytes) in values.enumerate() {
        for (j, b) in bytes.into_iter().enumerate() {
            shuffled[j * n + i] = b;
        }
    }
    let mut z = ZlibEncoder::new(Vec::with_capacity(shuffled.len() / 2 + 64), Compression::new(level));
    z.write_all(&shuffled).context("deflate")?;
    z.finish().context("deflate")
}

fn chunk_key(b: &mut Bytes, key: &ChunkKey) {
    b.u32(key.size).u32(0).u64(key.row).u64(0).u64(0);
}

/// The object header of a chunked, shuffled and deflated float dataset.
fn dataset_header(shape: [u64; 2], dtype: FloatType, chunk: [u32; 3], btree: u64, level: u32) -> Vec<u8> {
    let size = element_size(dtype);
    // Dataspace v1: rank 2, maximum dimensions present (equal to the dimensions).
    let mut space = Bytes::default();
    space.u8(1).u8(2).u8(1).u8(0).u32(0).u64(shape[0]).u64(shape[1]).u64(shape[0]).u64(shape[1]);
    // Datatype v1, floating point: little-endian, implied mantissa bit (bits 4-5 = 2),
    // sign bit; bit offset and precision, exponent and mantissa position and size, bias.
    let (sign, exponent, mantissa, bias) = if size == 4 { (31, 8, 23, 127) } else { (63, 11, 52, 1023) };
    let mut ty = Bytes::default();
    ty.u8(0x11).u8(0x20).u8(sign).u8(0).u32(size as u32);
    ty.u16(0).u16(8 * size as u16).u8(mantissa).u8(exponent).u8(0).u8(mantissa).u32(bias);
    // Fill value v2: allocated incrementally, written if set, defined as 0.
    let mut fill = Bytes::default();
    fill.u8(2).u8(2).u8(2).u8(1).u32(size as u32).zeros(8 + size);
    // Data layout v3, chunked: B-tree address and chunk dimensions (the last is the
    // element size).
    let mut layout = Bytes::default();
    layout.u8(3).u8(2).u8(3).u64(btree).u32(chunk[0]).u32(chunk[1]).u32(chunk[2]);
    // Filter pipeline v1: shuffle (element size), then deflate (level), both optional as
    // libhdf5 sets them.
    let mut pipeline = Bytes::default();
    pipeline.u8(1).u8(2).u16(0).u32(0);
    for (id, name, value) in [(FILTER_SHUFFLE, b"shuffle\0", size as u32), (FILTER_DEFLATE, b"deflate\0", level)] {
        pipeline.u16(id).u16(8).u16(1).u16(1).raw(name).u32(value).u32(0);
    }
    object_header(&[
        (0x0001, 0, space.0),
        (0x0003, MSG_CONSTANT, ty.0),
        (0x0005, MSG_CONSTANT, fill.0),
        (0x0008, 0, layout.0),
        (0x000B, MSG_CONSTANT, pipeline.0),
    ])
}

/// A version-1 object header holding `messages` (type, flags, body), each padded to 8 bytes.
fn object_header(messages: &[(u16, u8, Vec<u8>)]) -> Vec<u8> {
    let mut body = Bytes::default();
    for (kind, flags, data) in messages {
        let len = data.len().div_ceil(8) * 8;
        body.u16(*kind).u16(len as u16).u8(*flags).raw(&[0; 3]).raw(data);
        pad_to_8(&mut body.0);
    }
    let mut b = Bytes::default();
    b.u8(1).u8(0).u16(messages.len() as u16).u32(1).u32(body.0.len() as u32).u32(0);
    b.raw(&body.0);
    b.0
}

fn pad_to_8(v: &mut Vec<u8>) {
    v.resize(v.len().div_ceil(8) * 8, 0);
}

/// Little-endian encoding.
#[derive(Default)]
struct Bytes(Vec<u8>);

impl Bytes {
    fn raw(&mut self, b: &[u8]) -> &mut Self {
        self.0.extend_from_slice(b);
        self
    }
    fn u8(&mut self, x: u8) -> &mut Self {
        self.raw(&[x])
    }
    fn u16(&mut self, x: u16) -> &mut Self {
        self.raw(&x.to_le_bytes())
    }
    fn u32(&mut self, x: u32) -> &mut Self {
        self.raw(&x.to_le_bytes())
    }
    fn u64(&mut self, x: u64) -> &mut Self {
        self.raw(&x.to_le_bytes())
    }
    /// Pads with zeros to `len` bytes in all.
    fn zeros(&mut self, len: usize) -> &mut Self {
        if self.0.len() < len {
            self.0.resize(len, 0);
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::hdf5::{self as h5, ShowerReader};
    use std::fs;
    use std::ops::Range;
    use std::path::{Path, PathBuf};

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("calo4p-hdf5-stream-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        dir.join(name)
    }

    /// `n` showers of `v` voxels, every value distinct (a third of them zero) and exact in
    /// float32, the incident energies too.
    fn showers(n: usize, v: usize) -> Showers {
        let mut s = Showers::new(v);
        for i in 0..n {
            let row: Vec<f32> =
                (0..v).map(|j| if (i + j) % 3 == 0 { 0.0 } else { (i * v + j) as f32 * 0.25 }).collect();
            s.push(1000.0 + i as f64 * 1.5, &row);
        }
        s
    }

    fn rows(s: &Showers, r: Range<usize>) -> Showers {
        Showers {
            n_voxels: s.n_voxels,
            incident_energies: s.incident_energies[r.clone()].to_vec(),
            energies: s.energies[r.start * s.n_voxels..r.end * s.n_voxels].to_vec(),
        }
    }

    /// Writes `s` with the streaming writer, pushing batches of these sizes in turn.
    fn write_in_batches(path: &Path, s: &Showers, options: &WriteOptions, batches: &[usize]) -> Result<()> {
        h5::write_streaming(path, s.len(), s.n_voxels, options, |w| {
            let mut start = 0;
            for &b in batches.iter().cycle() {
                if start >= s.len() {
                    break;
                }
                let end = (start + b).min(s.len());
                w.push(&rows(s, start..end))?;
                start = end;
            }
            Ok(())
        })
    }

    /// Opens `path`, checks its layout and returns all its rows.
    fn read_checked(path: &Path, s: &Showers, options: &WriteOptions) -> Showers {
        let r = ShowerReader::open(path).unwrap();
        let c = options.chunk_rows.clamp(1, s.len().max(1)) as u64;
        let (n, v) = (s.len() as u64, s.n_voxels as u64);
        assert_eq!(r.incident_info().shape, vec![n, 1]);
        assert_eq!(r.incident_info().dtype, options.incident_type);
        assert_eq!(r.incident_info().chunks, Some(vec![c, 1]));
        assert_eq!(r.showers_info().shape, vec![n, v]);
        assert_eq!(r.showers_info().dtype, FloatType::F32);
        assert_eq!(r.showers_info().chunks, Some(vec![c, v.max(1)]));
        assert_eq!(r.incident_info().filters, vec![2, 1]);
        assert_eq!(r.showers_info().filters, vec![2, 1]);
        r.read_all().unwrap()
    }

    /// Levels of the chunk B-tree nodes in a file, found by their signature.
    fn chunk_tree_levels(path: &Path) -> Vec<u8> {
        let bytes = fs::read(path).unwrap();
        bytes.windows(6).filter(|w| &w[..5] == b"TREE\x01").map(|w| w[5]).collect()
    }

    #[test]
    fn round_trip_both_incident_types_with_a_ragged_last_chunk() {
        let s = showers(250, 7);
        for t in [FloatType::F32, FloatType::F64] {
            let path = scratch(&format!("rt-{t}.h5"));
            let options = WriteOptions { incident_type: t, ..WriteOptions::default() };
            // Batches that end inside chunks, span several, and fill one exactly.
            write_in_batches(&path, &s, &options, &[1, 37, 112, 100]).unwrap();
            assert_eq!(read_checked(&path, &s, &options), s, "{t}");
            let r = ShowerReader::open(&path).unwrap();
            assert_eq!(r.read_rows(190, 60).unwrap(), rows(&s, 190..250), "{t}");
        }
    }

    #[test]
    fn incident_energies_are_rounded_to_float32_when_asked() {
        let mut s = showers(5, 2);
        s.incident_energies[3] = 1_234.567_891_234;
        let path = scratch("rounded.h5");
        let options = WriteOptions { chunk_rows: 2, ..WriteOptions::default() };
        write_in_batches(&path, &s, &options, &[5]).unwrap();
        let back = read_checked(&path, &s, &options);
        assert_eq!(back.incident_energies[3], f64::from(1_234.567_891_234_f64 as f32));
        assert_eq!(back.energies, s.energies);
    }

    #[test]
    fn one_shower() {
        let s = showers(1, 368);
        let path = scratch("one.h5");
        let options = WriteOptions::default();
        write_in_batches(&path, &s, &options, &[1]).unwrap();
        assert_eq!(read_checked(&path, &s, &options), s);
    }

    #[test]
    fn no_showers() {
        let s = showers(0, 368);
        let path = scratch("none.h5");
        write_in_batches(&path, &s, &WriteOptions::default(), &[1]).unwrap();
        assert_eq!(read_checked(&path, &s, &WriteOptions::default()), s);
        assert!(chunk_tree_levels(&path).is_empty());
    }

    #[test]
    fn showers_without_voxels() {
        let s = showers(5, 0);
        let path = scratch("no-voxels.h5");
        let options = WriteOptions { chunk_rows: 2, ..WriteOptions::default() };
        write_in_batches(&path, &s, &options, &[3]).unwrap();
        assert_eq!(read_checked(&path, &s, &options), s);
        // Only incident_energies has chunks.
        assert_eq!(chunk_tree_levels(&path), vec![0]);
    }

    #[test]
    fn more_chunks_than_one_node_holds() {
        // 200 chunks: 4 leaves under one internal node; 4097: 65 leaves, 2 internal
        // nodes and a root (64 entries a node).
        for (n, levels) in [(200, vec![0, 0, 0, 0, 1]), (4097, [vec![0; 65], vec![1, 1, 2]].concat())] {
            let s = showers(n, 3);
            let path = scratch(&format!("deep-{n}.h5"));
            let options = WriteOptions { chunk_rows: 1, ..WriteOptions::default() };
            write_in_batches(&path, &s, &options, &[n / 3, 1, 64, 1000]).unwrap();
            assert_eq!(read_checked(&path, &s, &options), s, "{n}");
            // Both datasets' trees, one after the other.
            assert_eq!(chunk_tree_levels(&path), [levels.clone(), levels].concat(), "{n}");
            let r = ShowerReader::open(&path).unwrap();
            assert_eq!(r.read_rows(60, 10).unwrap(), rows(&s, 60..70), "{n}");
        }
    }

    #[test]
    fn deflate_levels_0_and_9() {
        let s = showers(300, 50);
        let mut sizes = Vec::new();
        for level in [0, 9] {
            let path = scratch(&format!("level-{level}.h5"));
            let options = WriteOptions { deflate_level: level, chunk_rows: 40, ..WriteOptions::default() };
            write_in_batches(&path, &s, &options, &[128]).unwrap();
            assert_eq!(read_checked(&path, &s, &options), s, "level {level}");
            sizes.push(fs::metadata(&path).unwrap().len());
        }
        // Level 0 stores the shuffled bytes: at least the data itself.
        assert!(sizes[0] > (300 * 50 * 4 + 300 * 4) as u64 && sizes[1] < sizes[0] / 2, "{sizes:?}");
        let e = WriteOptions { deflate_level: 10, ..WriteOptions::default() };
        let msg = format!("{:#}", write_in_batches(&scratch("level-10.h5"), &s, &e, &[300]).unwrap_err());
        assert!(msg.contains("deflate level 10"), "{msg}");
    }

    #[test]
    fn reads_back_as_what_the_in_memory_writer_writes() {
        let s = crate::data::synth::generate(&crate::data::GeometryKind::Ds1Pions.geometry(), 333, 4);
        for t in [FloatType::F32, FloatType::F64] {
            let options = WriteOptions { incident_type: t, chunk_rows: 50, ..WriteOptions::default() };
            let streamed = scratch(&format!("streamed-{t}.h5"));
            let in_memory = scratch(&format!("in-memory-{t}.h5"));
            write_in_batches(&streamed, &s, &options, &[1000]).unwrap();
            h5::write_in_memory(&in_memory, &s, &options).unwrap();
            assert_eq!(fs::read(&streamed).unwrap(), {
                h5::write(&streamed, &s, &options).unwrap();
                fs::read(&streamed).unwrap()
            });
            let (a, b) = (ShowerReader::open(&streamed).unwrap(), ShowerReader::open(&in_memory).unwrap());
            assert_eq!(a.incident_info(), b.incident_info(), "{t}");
            assert_eq!(a.showers_info(), b.showers_info(), "{t}");
            assert_eq!(a.read_all().unwrap(), b.read_all().unwrap(), "{t}");
        }
    }

    #[test]
    fn a_failure_midway_leaves_nothing_at_the_destination() {
        let dir = scratch("failures");
        fs::create_dir_all(&dir).unwrap();
        let target = dir.join("out.h5");
        let s = showers(500, 10);
        let options = WriteOptions::default();
        let fails = |what: &str| -> Result<()> {
            h5::write_streaming(&target, 500, 10, &options, |w| {
                w.push(&rows(&s, 0..250))?;
                match what {
                    "error" => bail!("generator failed"),
                    "invalid" => {
                        let mut bad = rows(&s, 250..300);
                        bad.energies[3 * 10 + 4] = -1.0;
                        w.push(&bad)
                    }
                    "short" => Ok(()),
                    _ => w.push(&rows(&s, 250..500)).and_then(|()| w.push(&rows(&s, 0..1))),
                }
            })
        };
        for (what, message) in [
            ("error", "generator failed"),
            ("invalid", "'showers' row 253 voxel 4"),
            ("short", "250 rows received, but the file was declared with 500"),
            ("long", "501 rows received, more than the 500 declared"),
        ] {
            let msg = format!("{:#}", fails(what).unwrap_err());
            assert!(msg.contains("out.h5") && msg.contains(message), "{what}: {msg}");
            assert_eq!(fs::read_dir(&dir).unwrap().count(), 0, "{what}");
        }
        // An existing file stays as it was.
        fs::write(&target, b"old").unwrap();
        assert!(fails("error").is_err());
        assert_eq!(fs::read(&target).unwrap(), b"old");
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
    }

    #[test]
    fn an_output_that_cannot_seek_gets_the_same_file() {
        let s = showers(120, 4);
        let options = WriteOptions { chunk_rows: 7, ..WriteOptions::default() };
        let direct = scratch("direct.h5");
        write_in_batches(&direct, &s, &options, &[50]).unwrap();
        let (mut reader, writer) = std::io::pipe().unwrap();
        let drain = std::thread::spawn(move || {
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut reader, &mut bytes).unwrap();
            bytes
        });
        let pipe = File::from(std::os::fd::OwnedFd::from(writer));
        assert!(!writable_in_place(&pipe));
        write_file(&pipe, s.len(), s.n_voxels, &options, |w| w.push(&s)).unwrap();
        drop(pipe);
        assert_eq!(drain.join().unwrap(), fs::read(&direct).unwrap());
    }

    /// The file h5py 3.16 (HDF5 2.0) was checked against: 7 showers of 5 voxels in chunks
    /// of 3 rows, float64 incident energies, deflate level 0 (stored blocks, so the bytes do
    /// not depend on the deflate implementation). h5py read `showers[:]` and
    /// `incident_energies[:]` back exactly, with `.chunks == (3, 5)` and `(3, 1)`,
    /// `.compression == 'gzip'`, `.compression_opts == 0`, `.shuffle == True`. Should this
    /// hash change, check the new layout with h5py again:
    ///
    /// ```text
    /// f = h5py.File(p); s = f['showers']; s[:], s.chunks, s.compression, s.shuffle
    /// ```
    #[test]
    fn the_layout_h5py_was_checked_against() {
        use sha2::Digest as _;
        let s = showers(7, 5);
        let path = scratch("h5py-checked.h5");
        let options =
            WriteOptions { incident_type: FloatType::F64, chunk_rows: 3, deflate_level: 0, ..WriteOptions::default() };
        write_in_batches(&path, &s, &options, &[2]).unwrap();
        assert_eq!(read_checked(&path, &s, &options), s);
        let hash = sha2::Sha256::digest(fs::read(&path).unwrap());
        let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "db823a2aee187f4a81ed8f0b78c2650026e04e9be46f9c2a231a88b90b6bcef3");
    }
}
