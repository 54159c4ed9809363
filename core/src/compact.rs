//! The quantised model's own compact binary form: what a host sends to a device.
//!
//! Little-endian, no padding:
//!
//! | bytes | content |
//! |---|---|
//! | 4 | magic `C4PQ` |
//! | 1 | version (1) |
//! | 1, 1 | format: integer bits (sign included), fractional bits |
//! | 1 | bytes per raw value w (1, 2 or 4) |
//! | 1 | partitions K |
//! | 2K | partition sizes (u16) |
//! | 4 per pair | entries of each pair block (p < q, pair order), u32 |
//! | w·n | biases |
//! | per pair | row lengths (u16 per row of p), columns (u16), weights (w each) |
//! | 4 | FNV-1a 32 of everything before it |
//!
//! Parsing is checked like the JSON parser (`json`): magic, version, widths, lengths, checksum, then
//! the CSR itself through [`Model::new`]; a short buffer or a flipped bit is an error, never
//! a panic. The 1208-unit Z(6,4) model at Q8.8 takes 50121 bytes in this form.

use crate::model::{Block, Model, ModelError, Sparse, MAX_PARTITIONS};
use crate::qformat::{FormatError, QFormat, RawWeight};
use core::fmt;

const MAGIC: &[u8; 4] = b"C4PQ";
const VERSION: u8 = 1;

/// Why a compact model cannot be written or read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CompactError {
    /// The output or an input storage is too small.
    Capacity {
        /// Which buffer.
        field: &'static str,
        /// Bytes or entries needed.
        needed: usize,
        /// Bytes or entries available.
        capacity: usize,
    },
    /// The data ends early.
    Truncated {
        /// The part being read.
        field: &'static str,
    },
    /// Not a compact model, or another version.
    Magic,
    /// The stored raw width differs from the storage type's.
    Width {
        /// Bytes per value in the data.
        stored: u8,
        /// Bytes per value of the storage.
        expected: u8,
    },
    /// A format the data names is not valid.
    Format(FormatError),
    /// The checksum does not match: the data is corrupted.
    Checksum,
    /// Only sparse models have a compact form.
    Dense,
    /// The decoded arrays do not form a valid model.
    Model(ModelError),
}

impl fmt::Display for CompactError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Capacity { field, needed, capacity } => {
                write!(f, "capacity exceeded: `{field}` needs {needed}, has {capacity}")
            }
            Self::Truncated { field } => write!(f, "compact model ends inside `{field}`"),
            Self::Magic => f.write_str("not a calo4p compact model (magic C4PQ, version 1)"),
            Self::Width { stored, expected } => {
                write!(f, "compact model stores {stored}-byte values, storage holds {expected}-byte values")
            }
            Self::Format(e) => write!(f, "compact model format: {e}"),
            Self::Checksum => f.write_str("compact model checksum mismatch: the data is corrupted"),
            Self::Dense => f.write_str("dense blocks have no compact form"),
            Self::Model(e) => write!(f, "compact model: {e}"),
        }
    }
}

impl core::error::Error for CompactError {}

fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5u32, |h, &b| (h ^ b as u32).wrapping_mul(0x0100_0193))
}

struct Writer<'o> {
    out: &'o mut [u8],
    at: usize,
}

impl Writer<'_> {
    fn put(&mut self, bytes: &[u8]) {
        self.out[self.at..self.at + bytes.len()].copy_from_slice(bytes);
        self.at += bytes.len();
    }
    fn raw<W: RawWeight>(&mut self, w: W) {
        let bytes = w.raw().to_le_bytes();
        self.put(&bytes[..(W::BITS / 8) as usize]);
    }
}

struct Reader<'b> {
    bytes: &'b [u8],
    at: usize,
}

impl<'b> Reader<'b> {
    fn take(&mut self, n: usize, field: &'static str) -> Result<&'b [u8], CompactError> {
        let s = self.bytes.get(self.at..self.at + n).ok_or(CompactError::Truncated { field })?;
        self.at += n;
        Ok(s)
    }
    fn u8(&mut self, field: &'static str) -> Result<u8, CompactError> {
        Ok(self.take(1, field)?[0])
    }
    fn u16(&mut self, field: &'static str) -> Result<u16, CompactError> {
        let b = self.take(2, field)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self, field: &'static str) -> Result<u32, CompactError> {
        let b = self.take(4, field)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn raw<W: RawWeight>(&mut self, field: &'static str) -> Result<W, CompactError> {
        let b = self.take((W::BITS / 8) as usize, field)?;
        let v = match b.len() {
            1 => b[0] as i8 as i32,
            2 => i16::from_le_bytes([b[0], b[1]]) as i32,
            _ => i32::from_le_bytes([b[0], b[1], b[2], b[3]]),
        };
        W::from_raw(v).ok_or(CompactError::Truncated { field })
    }
}

fn pairs<W: Copy>(model: &Model<'_, W>) -> impl Iterator<Item = (usize, usize)> {
    let k = model.num_partitions();
    (0..k).flat_map(move |p| (p + 1..k).map(move |q| (p, q)))
}

/// Bytes [`emit`] writes for `model`.
pub fn emitted_len<W: RawWeight>(model: &Model<'_, W>) -> usize {
    let (k, n, w) = (model.num_partitions(), model.num_units(), (W::BITS / 8) as usize);
    let mut len = 9 + 2 * k + 4 * (k * (k - 1) / 2) + w * n + 4;
    for (p, q) in pairs(model) {
        if let Some(b) = model.block(p, q) {
            len += 2 * model.size(p) + (2 + w) * b.len();
        }
    }
    len
}

/// Write `model` (stored in `format`) to `out`; returns the bytes written.
pub fn emit<W: RawWeight>(model: &Model<'_, W>, format: QFormat, out: &mut [u8]) -> Result<usize, CompactError> {
    let needed = emitted_len(model);
    if out.len() < needed {
        return Err(CompactError::Capacity { field: "out", needed, capacity: out.len() });
    }
    let mut wr = Writer { out, at: 0 };
    wr.put(MAGIC);
    wr.put(&[VERSION, format.int_bits() as u8, format.frac_bits() as u8, (W::BITS / 8) as u8]);
    wr.put(&[model.num_partitions() as u8]);
    for p in 0..model.num_partitions() {
        wr.put(&(model.size(p) as u16).to_le_bytes());
    }
    for (p, q) in pairs(model) {
        wr.put(&(model.block(p, q).map_or(0, |b| b.len()) as u32).to_le_bytes());
    }
    for &b in model.bias() {
        wr.raw(b);
    }
    for (p, q) in pairs(model) {
        match model.block(p, q) {
            None => (0..model.size(p)).for_each(|_| wr.put(&[0, 0])),
            Some(Block::Dense(_)) => return Err(CompactError::Dense),
            Some(Block::Sparse(s)) => {
                for r in s.row_ptr.windows(2) {
                    wr.put(&((r[1] - r[0]) as u16).to_le_bytes());
                }
                s.col.iter().for_each(|c| wr.put(&c.to_le_bytes()));
                s.weight.iter().for_each(|&w| wr.raw(w));
            }
        }
    }
    let sum = fnv1a(&wr.out[..wr.at]);
    wr.put(&sum.to_le_bytes());
    Ok(wr.at)
}

/// Storage a compact model is read into (sizes from [`Model::row_ptr_len`], unit and edge
/// counts).
#[derive(Debug)]
pub struct CompactStorage<'a, W> {
    /// Biases.
    pub bias: &'a mut [W],
    /// Row starts of all blocks.
    pub row_ptr: &'a mut [u32],
    /// Columns.
    pub col: &'a mut [u16],
    /// Weights.
    pub weight: &'a mut [W],
}

/// Read a compact model into `storage`; returns the model and its format.
pub fn parse<'a, W: RawWeight>(
    bytes: &[u8],
    storage: CompactStorage<'a, W>,
) -> Result<(Model<'a, W>, QFormat), CompactError> {
    if bytes.len() < 4 {
        return Err(CompactError::Truncated { field: "checksum" });
    }
    let (body, sum) = bytes.split_at(bytes.len() - 4);
    let mut rd = Reader { bytes: body, at: 0 };
    if rd.take(4, "magic").ok() != Some(&MAGIC[..]) || rd.u8("version")? != VERSION {
        return Err(CompactError::Magic);
    }
    if fnv1a(body).to_le_bytes() != [sum[0], sum[1], sum[2], sum[3]] {
        return Err(CompactError::Checksum);
    }
    let format = QFormat::new(rd.u8("format")? as u32, rd.u8("format")? as u32).map_err(CompactError::Format)?;
    let width = rd.u8("width")?;
    if width as u32 * 8 != W::BITS {
        return Err(CompactError::Width { stored: width, expected: (W::BITS / 8) as u8 });
    }
    let k = rd.u8("partitions")? as usize;
    if k == 0 || k > MAX_PARTITIONS {
        return Err(CompactError::Model(ModelError::PartitionCount(k)));
    }
    let mut sizes = [0usize; MAX_PARTITIONS];
    for s in sizes.iter_mut().take(k) {
        *s = rd.u16("sizes")? as usize;
    }
    let sizes = &sizes[..k];
    let mut nnz = [0usize; MAX_PARTITIONS * (MAX_PARTITIONS - 1) / 2];
    let npairs = k * (k - 1) / 2;
    for e in nnz.iter_mut().take(npairs) {
        *e = rd.u32("entries")? as usize;
    }
    let n: usize = sizes.iter().sum();
    // Checked: 28 blocks of up to 2^32 - 1 entries overflow a 32-bit usize (a device's).
    let edges = nnz.iter().try_fold(0usize, |sum, &e| sum.checked_add(e)).ok_or(CompactError::Capacity {
        field: "col",
        needed: usize::MAX,
        capacity: storage.col.len(),
    })?;
    let rp_len = Model::<W>::row_ptr_len(sizes);
    let CompactStorage { bias, row_ptr, col, weight } = storage;
    for (field, needed, capacity) in [
        ("bias", n, bias.len()),
        ("row_ptr", rp_len, row_ptr.len()),
        ("col", edges, col.len()),
        ("weight", edges, weight.len()),
    ] {
        if capacity < needed {
            return Err(CompactError::Capacity { field, needed, capacity });
        }
    }
    for b in bias[..n].iter_mut() {
        *b = rd.raw("bias")?;
    }
    let (mut rp_at, mut e_at) = (0, 0);
    for (b, (p, _)) in (0..k).flat_map(|p| (p + 1..k).map(move |q| (p, q))).enumerate() {
        row_ptr[rp_at] = 0;
        for r in 0..sizes[p] {
            row_ptr[rp_at + r + 1] = row_ptr[rp_at + r] + rd.u16("rows")? as u32;
        }
        if row_ptr[rp_at + sizes[p]] as usize != nnz[b] {
            return Err(CompactError::Truncated { field: "rows" });
        }
        for c in col[e_at..e_at + nnz[b]].iter_mut() {
            *c = rd.u16("columns")?;
        }
        for w in weight[e_at..e_at + nnz[b]].iter_mut() {
            *w = rd.raw("weights")?;
        }
        rp_at += sizes[p] + 1;
        e_at += nnz[b];
    }
    // Views per block, in pair order.
    let (mut rp, mut cs, mut ws) = (&row_ptr[..rp_len], &col[..edges], &weight[..edges]);
    let mut blocks = [(0, 0, Block::Sparse(Sparse { row_ptr: &[], col: &[], weight: &[] })); 28];
    for (b, (p, q)) in (0..k).flat_map(|p| (p + 1..k).map(move |q| (p, q))).enumerate() {
        let (r, rrest) = rp.split_at(sizes[p] + 1);
        let (c, crest) = cs.split_at(nnz[b]);
        let (w, wrest) = ws.split_at(nnz[b]);
        (rp, cs, ws) = (rrest, crest, wrest);
        blocks[b] = (p, q, Block::Sparse(Sparse { row_ptr: r, col: c, weight: w }));
    }
    let bias: &'a [W] = bias;
    let model = Model::new(&bias[..n], sizes, &blocks[..npairs], format.lsb()).map_err(CompactError::Model)?;
    Ok((model, format))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SparseStorage;

    #[test]
    fn round_trip_and_corruption() {
        let bias = [3i16, -2, 1, 0, 5];
        let edges = [(0usize, 2usize, 7i16), (1, 3, -9), (2, 4, 11), (0, 4, -1)];
        let (mut rp, mut col, mut w) = ([0u32; 16], [0u16; 4], [0i16; 4]);
        let st = SparseStorage { row_ptr: &mut rp, col: &mut col, weight: &mut w };
        let model = Model::from_edges(&bias, &[2, 2, 1], edges, st, QFormat::Q8_8.lsb()).unwrap();
        let mut out = [0u8; 128];
        let len = emit(&model, QFormat::Q8_8, &mut out).unwrap();
        assert_eq!(len, emitted_len(&model));
        let bytes = &out[..len];
        let (mut b2, mut rp2, mut c2, mut w2) = ([0i16; 5], [0u32; 16], [0u16; 4], [0i16; 4]);
        let st = CompactStorage { bias: &mut b2, row_ptr: &mut rp2, col: &mut c2, weight: &mut w2 };
        let (back, fmt) = parse::<i16>(bytes, st).unwrap();
        assert_eq!(fmt, QFormat::Q8_8);
        let mut a = [(0, 0, 0, 0i16); 4];
        let mut b = a;
        model.for_each_edge(|s, i, j, w| a[s] = (s, i, j, w));
        back.for_each_edge(|s, i, j, w| b[s] = (s, i, j, w));
        assert_eq!(a, b);
        assert_eq!(back.bias(), &bias);

        let fresh = |bytes: &[u8]| {
            let (mut b2, mut rp2, mut c2, mut w2) = ([0i16; 5], [0u32; 16], [0u16; 4], [0i16; 4]);
            let st = CompactStorage { bias: &mut b2, row_ptr: &mut rp2, col: &mut c2, weight: &mut w2 };
            parse::<i16>(bytes, st).map(|_| ()).unwrap_err()
        };
        let mut flipped = [0u8; 128];
        flipped[..len].copy_from_slice(bytes);
        flipped[20] ^= 1;
        assert_eq!(fresh(&flipped[..len]), CompactError::Checksum);
        assert_eq!(fresh(&bytes[..len - 9]), CompactError::Checksum);
        assert_eq!(fresh(&bytes[..3]), CompactError::Truncated { field: "checksum" });
        assert_eq!(fresh(b"NOPE....."), CompactError::Magic);
        let (mut b8, mut rp8, mut c8, mut w8) = ([0i8; 5], [0u32; 16], [0u16; 4], [0i8; 4]);
        let st = CompactStorage { bias: &mut b8, row_ptr: &mut rp8, col: &mut c8, weight: &mut w8 };
        assert_eq!(parse::<i8>(bytes, st).map(|_| ()), Err(CompactError::Width { stored: 2, expected: 1 }));
        let (mut b2, mut rp2, mut c2, mut w2) = ([0i16; 5], [0u32; 16], [0u16; 2], [0i16; 4]);
        let st = CompactStorage { bias: &mut b2, row_ptr: &mut rp2, col: &mut c2, weight: &mut w2 };
        assert_eq!(
            parse::<i16>(bytes, st).map(|_| ()),
            Err(CompactError::Capacity { field: "col", needed: 4, capacity: 2 })
        );
    }
}
