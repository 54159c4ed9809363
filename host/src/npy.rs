//! NumPy `.npy` files (format 1.0/2.0/3.0): 2-D arrays of small integers or floats.
//!
//! Written: `uint8` sample rows. Read: `|u1`, `|i1`, `|b1`, `<i2`, `<i4`, `<i8`, `<u4`, `<f4`, `<f8`,
//! C order, 1-D or 2-D, as f64 values with their shape. Errors name the file and what is
//! wrong with it.

use anyhow::{bail, Context, Result};
use std::path::Path;

/// Write `data` (`rows x cols`, row-major) as a uint8 array.
pub fn write_u8(path: &Path, data: &[u8], rows: usize, cols: usize) -> Result<()> {
    assert_eq!(data.len(), rows * cols, "shape matches data");
    let mut header = format!("{{'descr': '|u1', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
    // Pad so that the data starts on a 64-byte boundary; the header ends with a newline.
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat(unpadded.next_multiple_of(64) - unpadded));
    header.push('\n');
    let mut bytes = Vec::with_capacity(10 + header.len() + data.len());
    bytes.extend_from_slice(b"\x93NUMPY\x01\x00");
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(data);
    crate::atomic::write(path, &bytes)
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
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    parse(&bytes).with_context(|| format!("{}: not a readable .npy array", path.display()))
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
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    parse_map(&bytes, f).with_context(|| format!("{}: not a readable .npy array", path.display()))
}

/// Parse `.npy` bytes into the shape and `f(index, value)` of every value in C order.
pub fn parse_map<T>(bytes: &[u8], mut f: impl FnMut(usize, f64) -> Result<T>) -> Result<(Vec<usize>, Vec<T>)> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        bail!("missing the \\x93NUMPY magic");
    }
    let (len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize, 12),
        v => bail!("unsupported .npy version {v}"),
    };
    let header = bytes.get(start..start + len).context("truncated header")?;
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
    let count = shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
    let body = &bytes[start + len..];
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
}
