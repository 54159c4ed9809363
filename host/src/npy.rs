//! NumPy `.npy` files (format 1.0/2.0/3.0): 2-D arrays of small integers or floats.
//!
//! Written: `uint8` sample rows, whole ([`write_u8`]) or a block of rows at a time into a file
//! whose header carries the final shape from the start ([`U8Writer`]). Read: `|u1`, `|i1`,
//! `|b1`, `<i2`, `<i4`, `<i8`, `<u4`, `<f4`, `<f8`, C order, 1-D or 2-D, as f64 values with
//! their shape. Errors name the file and what is wrong with it.
//!
//! A file is read header first: the data it declares is checked against the machine's memory
//! ([`crate::memory`]) and then read through `Read::take`, so that a device such as
//! `/dev/zero` or a header that claims terabytes is refused, never read without end.

use anyhow::{bail, Context, Result};
use std::io::{Read, Write as _};
use std::os::unix::fs::FileExt as _;
use std::path::Path;

/// The header of a `rows x cols` uint8 array: magic, version 1.0, the dictionary padded so
/// that the data starts on a 64-byte boundary, a newline.
fn header_u8(rows: usize, cols: usize) -> Vec<u8> {
    let mut header = format!("{{'descr': '|u1', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat(unpadded.next_multiple_of(64) - unpadded));
    header.push('\n');
    let mut bytes = Vec::with_capacity(10 + header.len());
    bytes.extend_from_slice(b"\x93NUMPY\x01\x00");
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    bytes
}

/// Write `data` (`rows x cols`, row-major) as a uint8 array.
pub fn write_u8(path: &Path, data: &[u8], rows: usize, cols: usize) -> Result<()> {
    assert_eq!(data.len(), rows * cols, "shape matches data");
    crate::atomic::write_with(path, |mut file| {
        file.write_all(&header_u8(rows, cols)).context("write")?;
        file.write_all(data).context("write")
    })
}

/// A `rows x cols` uint8 array written into an open file a block of rows at a time, the
/// header (with the final shape) first. Into a regular file, blocks go straight to their
/// place, in any order and from any thread ([`in_place`](Self::in_place)); into a pipe,
/// a device or standard output they must come in order.
pub struct U8Writer<'a> {
    file: &'a std::fs::File,
    data_start: u64,
    rows: usize,
    cols: usize,
    in_place: bool,
    /// Rows written so far, in order (pipes and devices).
    next: std::sync::Mutex<usize>,
}

impl<'a> U8Writer<'a> {
    /// Writes the header of a `rows x cols` array into `file` (at its start).
    pub fn new(file: &'a std::fs::File, rows: usize, cols: usize) -> Result<Self> {
        let header = header_u8(rows, cols);
        let in_place = file.metadata().map(|m| m.is_file()).unwrap_or(false);
        if in_place {
            file.write_all_at(&header, 0).context("write")?;
        } else {
            (&*file).write_all(&header).context("write")?;
        }
        Ok(U8Writer { file, data_start: header.len() as u64, rows, cols, in_place, next: 0.into() })
    }

    /// Whether blocks may come in any order (the file is a regular file).
    pub fn in_place(&self) -> bool {
        self.in_place
    }

    /// Writes whole rows from row `first` on.
    pub fn write_rows(&self, first: usize, bytes: &[u8]) -> Result<()> {
        let count = bytes.len() / self.cols.max(1);
        if !bytes.len().is_multiple_of(self.cols.max(1)) || first.checked_add(count).is_none_or(|end| end > self.rows) {
            bail!("rows {first}..+{count} do not fit a {} x {} array", self.rows, self.cols);
        }
        if self.in_place {
            let at = self.data_start + (first as u64) * (self.cols as u64);
            return self.file.write_all_at(bytes, at).context("write");
        }
        let mut next = self.next.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if *next != first {
            bail!("rows {first}.. written out of order into a stream (row {} is next)", *next);
        }
        (&*self.file).write_all(bytes).context("write")?;
        *next += count;
        Ok(())
    }

    /// Checks that every row was written (a regular file then has its final length).
    pub fn finish(&self) -> Result<()> {
        let want = self.data_start + (self.rows as u64) * (self.cols as u64);
        let have = if self.in_place {
            self.file.metadata().context("inspect")?.len()
        } else {
            self.data_start + (*self.next.lock().unwrap_or_else(std::sync::PoisonError::into_inner) * self.cols) as u64
        };
        if have != want {
            bail!("{have} bytes written of the {want} that {} x {} rows take", self.rows, self.cols);
        }
        Ok(())
    }
}

/// A numeric array read from a `.npy` file.
#[derive(Clone, Debug, PartialEq)]
pub struct Array {
    /// Shape (1 or 2 dimensions).
    pub shape: Vec<usize>,
    /// Values in C order.
    pub data: Vec<f64>,
}

/// Read a `.npy` file.
pub fn read(path: &Path) -> Result<Array> {
    let bytes = read_bytes(path, 8)?;
    parse(&bytes).with_context(|| format!("{}: not a readable .npy array", path.display()))
}

/// The bytes of the `.npy` file at `path`, header first: the data the header declares is
/// checked against the machine's memory, counting `per_value` more bytes for each value
/// (what the caller converts it into), and read through `Read::take` up to that size, so
/// that the file cannot make the read go on without end. A file whose header does not parse
/// is returned as read so far (at most 64 kB), for [`parse_map`] to say what is wrong.
fn read_bytes(path: &Path, per_value: usize) -> Result<Vec<u8>> {
    let cannot = || format!("cannot read {}", path.display());
    let file = std::fs::File::open(path).with_context(cannot)?;
    let mut input = file.take(12);
    let mut bytes = Vec::new();
    input.read_to_end(&mut bytes).with_context(cannot)?;
    let header_len = match bytes.get(6) {
        Some(1) if bytes.len() >= 10 => u16::from_le_bytes([bytes[8], bytes[9]]) as u64 + 10,
        Some(2 | 3) if bytes.len() >= 12 => u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as u64 + 12,
        _ => return Ok(bytes),
    };
    if header_len > 1 << 16 {
        bail!("{}: the .npy header is {header_len} bytes long, more than the 64 kB calo4p reads", path.display());
    }
    let mut file = input.into_inner();
    (&mut file).take(header_len - bytes.len() as u64).read_to_end(&mut bytes).with_context(cannot)?;
    let Ok(header) = Header::parse(&bytes) else { return Ok(bytes) };
    let Some(values) = header.shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d)) else { return Ok(bytes) };
    let data = values.saturating_mul(header.size) as u64;
    crate::memory::ensure(
        crate::memory::Need((data as u128).saturating_add(values as u128 * per_value as u128)),
        || format!("{}: reading {values} values of shape {:?}", path.display(), header.shape),
    )?;
    // One byte past the declared data, so that a longer file is reported as one.
    (&mut file).take(data.saturating_add(1)).read_to_end(&mut bytes).with_context(cannot)?;
    Ok(bytes)
}

fn header_value<'a>(header: &'a str, key: &str) -> Result<&'a str> {
    let at = header.find(&format!("'{key}'")).with_context(|| format!("header has no '{key}'"))?;
    let rest = header[at + key.len() + 2..].trim_start().strip_prefix(':').context("malformed header")?.trim_start();
    Ok(rest)
}

/// Parse `.npy` bytes.
pub fn parse(bytes: &[u8]) -> Result<Array> {
    let (shape, data) = parse_map(bytes, |_, v| Ok(v))?;
    Ok(Array { shape, data })
}

/// Read a `.npy` file, converting each value as it is read (`f(index, value)`, C order): large
/// sample files need not be held as f64. Errors of `f` are returned with the file's name.
pub fn read_map<T>(path: &Path, f: impl FnMut(usize, f64) -> Result<T>) -> Result<(Vec<usize>, Vec<T>)> {
    let bytes = read_bytes(path, std::mem::size_of::<T>())?;
    parse_map(&bytes, f).with_context(|| format!("{}: not a readable .npy array", path.display()))
}

/// What a `.npy` header says.
struct Header<'a> {
    shape: Vec<usize>,
    descr: &'a str,
    /// Bytes per value, and how one is read.
    size: usize,
    read: fn(&[u8]) -> f64,
    /// Where the data starts.
    data_start: usize,
}

impl<'a> Header<'a> {
    fn parse(bytes: &'a [u8]) -> Result<Header<'a>> {
        if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
            bail!("missing the \\x93NUMPY magic");
        }
        let (len, start) = match bytes[6] {
            1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
            2 | 3 if bytes.len() >= 12 => (u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize, 12),
            v => bail!("unsupported .npy version {v}"),
        };
        let data_start = usize::checked_add(start, len).context("truncated header")?;
        let header = bytes.get(start..data_start).context("truncated header")?;
        let header = std::str::from_utf8(header).context("header is not text")?;
        let descr = header_value(header, "descr")?;
        let descr = descr.trim_start_matches('\'').split('\'').next().unwrap_or("");
        if header_value(header, "fortran_order")?.starts_with("True") {
            bail!("Fortran-order arrays are not supported");
        }
        let shape_text = header_value(header, "shape")?;
        let shape_text = shape_text.strip_prefix('(').and_then(|s| s.split(')').next()).context("malformed shape")?;
        let shape: Vec<usize> = shape_text
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().context("malformed shape"))
            .collect::<Result<_>>()?;
        if shape.is_empty() || shape.len() > 2 {
            bail!("expected a 1-D or 2-D array, found shape {shape:?}");
        }
        let (size, read): (usize, fn(&[u8]) -> f64) = match descr {
            "|u1" | "|b1" => (1, |b| b[0] as f64),
            "|i1" => (1, |b| b[0] as i8 as f64),
            "<i2" => (2, |b| i16::from_le_bytes([b[0], b[1]]) as f64),
            "<i4" => (4, |b| i32::from_le_bytes(b.try_into().expect("4 bytes")) as f64),
            "<u4" => (4, |b| u32::from_le_bytes(b.try_into().expect("4 bytes")) as f64),
            "<i8" => (8, |b| i64::from_le_bytes(b.try_into().expect("8 bytes")) as f64),
            "<f4" => (4, |b| f32::from_le_bytes(b.try_into().expect("4 bytes")) as f64),
            "<f8" => (8, |b| f64::from_le_bytes(b.try_into().expect("8 bytes"))),
            other => bail!("unsupported dtype '{other}'"),
        };
        Ok(Header { shape, descr, size, read, data_start })
    }
}

/// Parse `.npy` bytes into the shape and `f(index, value)` of every value in C order.
pub fn parse_map<T>(bytes: &[u8], mut f: impl FnMut(usize, f64) -> Result<T>) -> Result<(Vec<usize>, Vec<T>)> {
    let Header { shape, descr, size, read, data_start } = Header::parse(bytes)?;
    let count = shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
    let body = &bytes[data_start..];
    let needed = count.and_then(|n| n.checked_mul(size));
    if needed != Some(body.len()) {
        let needed = needed.map_or_else(|| "more than 2^64".to_string(), |n| n.to_string());
        bail!("data holds {} bytes, shape {shape:?} of '{descr}' needs {needed}", body.len());
    }
    let data = body.chunks_exact(size).enumerate().map(|(k, b)| f(k, read(b))).collect::<Result<_>>()?;
    Ok((shape, data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let dir = std::env::temp_dir().join(format!("calo4p-npy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a.npy");
        write_u8(&path, &[0, 1, 1, 0, 1, 1], 2, 3).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!((bytes.len() - 6) % 64, 0);
        let a = read(&path).unwrap();
        assert_eq!(a.shape, vec![2, 3]);
        assert_eq!(a.data, vec![0.0, 1.0, 1.0, 0.0, 1.0, 1.0]);
        assert!(parse(&bytes[..bytes.len() - 1]).is_err());
        assert!(parse(b"garbage").is_err());
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// Rows written out of order into a regular file land at their place; the header holds
    /// the final shape from the start.
    #[test]
    fn rows_are_written_in_place() {
        let dir = std::env::temp_dir().join(format!("calo4p-npy-writer-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("w.npy");
        crate::atomic::write_with(&path, |file| {
            let w = U8Writer::new(file, 3, 2)?;
            assert!(w.in_place());
            w.write_rows(2, &[5, 6])?;
            w.write_rows(0, &[1, 2, 3, 4])?;
            assert!(w.write_rows(3, &[7, 8]).is_err(), "past the last row");
            w.finish()
        })
        .unwrap();
        assert_eq!(read(&path).unwrap(), Array { shape: vec![3, 2], data: vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0] });
        let err = crate::atomic::write_with(&dir.join("short.npy"), |file| U8Writer::new(file, 3, 2)?.finish());
        assert!(format!("{:#}", err.unwrap_err()).contains("bytes written of the"));
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// A device is not read without end, and a header that declares more than the machine
    /// holds is refused with the figure before its data is read.
    #[test]
    fn reads_are_bounded_by_what_the_header_declares() {
        let err = format!("{:#}", read(Path::new("/dev/zero")).unwrap_err());
        assert!(err.contains("missing the \\x93NUMPY magic"), "{err}");
        let dir = std::env::temp_dir().join(format!("calo4p-npy-huge-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("huge.npy");
        let mut bytes = header_u8(1_000_000_000, 1_000_000);
        bytes.extend_from_slice(&[0; 64]);
        std::fs::write(&path, bytes).unwrap();
        let err = format!("{:#}", read(&path).unwrap_err());
        assert!(
            err.contains("huge.npy: reading 1000000000000000 values of shape [1000000000, 1000000]: needs 9.0 PB"),
            "{err}"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
