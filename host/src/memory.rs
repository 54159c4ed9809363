//! Memory estimates made before large allocations, and input files read with a cap: a
//! request that the machine cannot hold is refused with its size ("needs 16.0 TB of
//! memory") instead of aborting the process when the allocation fails.
//!
//! The limit is the machine's physical memory (`MemTotal` in `/proc/meminfo`, or
//! [`FALLBACK_LIMIT`] where that cannot be read): an estimate above it cannot succeed,
//! and one below it is left to the operating system. Estimates are `u128` byte counts
//! built with saturating arithmetic ([`array`], [`Need`]), so that no product of
//! user-given sizes wraps around on its way to the comparison.
//!
//! Files read whole are read through [`Read::take`] ([`read_file`]): a device such as
//! `/dev/zero` or a huge file stops at the cap, and the error names the file and the cap.

use anyhow::{bail, Context, Result};
use std::io::Read;
use std::path::Path;
use std::sync::OnceLock;

/// The limit where `/proc/meminfo` cannot be read (not Linux, or no `/proc`).
pub const FALLBACK_LIMIT: u64 = 8 << 30;

/// Largest JSON input read whole: model files, statistics files (the 1208-unit reference
/// model is 0.4 MB; the parsers' buffers grow to at most about 25 bytes per input byte).
pub const MAX_JSON_INPUT: u64 = 100_000_000;

/// Largest sample file (dimod JSON, CSV) read whole: a sixteenth of physical memory, room for
/// the parsers' structures (a JSON sample set grows to several times its size while parsed).
pub fn max_sample_input() -> u64 {
    limit() / 16
}

/// The most memory an estimate may ask for: this machine's physical memory.
pub fn limit() -> u64 {
    static LIMIT: OnceLock<u64> = OnceLock::new();
    *LIMIT.get_or_init(|| {
        std::fs::read_to_string("/proc/meminfo").ok().and_then(|text| mem_total(&text)).unwrap_or(FALLBACK_LIMIT)
    })
}

/// `MemTotal` of a `/proc/meminfo` text, in bytes.
fn mem_total(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// Bytes of an array of `T` with these dimensions.
pub fn array<T>(dims: &[usize]) -> u128 {
    dims.iter().fold(std::mem::size_of::<T>() as u128, |acc, &d| acc.saturating_mul(d as u128))
}

/// A sum of array sizes, for estimates with several parts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Need(pub u128);

impl Need {
    /// Adds an array of `T` with these dimensions.
    pub fn array<T>(self, dims: &[usize]) -> Need {
        Need(self.0.saturating_add(array::<T>(dims)))
    }

    /// Adds a part `times` over.
    pub fn times(self, times: usize) -> Need {
        Need(self.0.saturating_mul(times as u128))
    }

    /// Adds another estimate.
    pub fn plus(self, other: Need) -> Need {
        Need(self.0.saturating_add(other.0))
    }
}

/// Every inter-partition block `p < q` of partitions of these sizes as a dense matrix of `T`,
/// plus one copy of the largest (what a decomposition works on).
pub fn dense_blocks<T>(sizes: &[usize]) -> Need {
    let mut need = Need::default();
    let mut largest = 0;
    for (p, &a) in sizes.iter().enumerate() {
        for &b in &sizes[p + 1..] {
            need = need.array::<T>(&[a, b]);
            largest = largest.max(array::<T>(&[a, b]));
        }
    }
    need.plus(Need(largest))
}

/// Refuses `need` bytes when they exceed [`limit`]: "`what`: needs 16.0 TB of memory, more
/// than the 23.4 GB this machine has". `what` is only formatted on refusal.
pub fn ensure(need: impl Into<Need>, what: impl FnOnce() -> String) -> Result<()> {
    let need = need.into().0;
    let limit = limit();
    if need > u128::from(limit) {
        bail!("{}: needs {} of memory, more than the {} this machine has", what(), human(need), human(limit.into()));
    }
    Ok(())
}

impl From<u128> for Need {
    fn from(bytes: u128) -> Need {
        Need(bytes)
    }
}

/// A byte count in decimal units, three significant digits: `16.0 TB`, `512 kB`, `12 bytes`;
/// `more than 10^30 bytes` past any unit.
pub fn human(bytes: u128) -> String {
    const UNITS: [&str; 7] = ["kB", "MB", "GB", "TB", "PB", "EB", "ZB"];
    if bytes < 1000 {
        return format!("{bytes} bytes");
    }
    let mut value = bytes as f64;
    for unit in UNITS {
        value /= 1000.0;
        if value < 999.95 {
            return if value < 99.95 { format!("{value:.1} {unit}") } else { format!("{value:.0} {unit}") };
        }
    }
    value /= 1000.0;
    if value < 1e6 {
        format!("{value:.0} YB")
    } else {
        "more than 10^30 bytes".to_string()
    }
}

/// Reads the file at `path` whole, refusing one larger than `max` bytes; `what` names it in
/// errors ("model file"). A regular file is refused from its size before any byte is read;
/// a device or pipe is read through [`Read::take`] up to `max` bytes and refused if it goes on.
pub fn read_file(path: &Path, max: u64, what: &str) -> Result<Vec<u8>> {
    let file = std::fs::File::open(path).with_context(|| format!("cannot read {what} {}", path.display()))?;
    let refuse = |size: String| {
        anyhow::anyhow!(
            "{what} {} {size}, more than the {} that calo4p reads for a {what} (is this the right file?)",
            path.display(),
            human(max.into())
        )
    };
    let known = file.metadata().ok().filter(|m| m.is_file()).map(|m| m.len());
    if let Some(size) = known.filter(|&s| s > max) {
        return Err(refuse(format!("holds {size} bytes")));
    }
    let mut bytes = Vec::with_capacity(known.unwrap_or(0).min(max) as usize);
    file.take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {what} {}", path.display()))?;
    if bytes.len() as u64 > max {
        return Err(refuse(format!("goes on past {} (reading stopped there)", human(max.into()))));
    }
    Ok(bytes)
}

/// [`read_file`] for text: the bytes must be UTF-8 (the error names the first bad byte).
pub fn read_text(path: &Path, max: u64, what: &str) -> Result<String> {
    String::from_utf8(read_file(path, max, what)?).map_err(|e| {
        anyhow::anyhow!("{what} {}: not UTF-8 text (byte {})", path.display(), e.utf8_error().valid_up_to())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_sizes() {
        assert_eq!(human(12), "12 bytes");
        assert_eq!(human(512_000), "512 kB");
        assert_eq!(human(16_000_000_000_000), "16.0 TB");
        assert_eq!(human(1_234_567), "1.2 MB");
        assert_eq!(human(999_990), "1.0 MB");
        assert_eq!(human(u128::MAX), "more than 10^30 bytes");
    }

    #[test]
    fn estimates_saturate_instead_of_wrapping() {
        assert_eq!(array::<u64>(&[3, 5]), 120);
        assert_eq!(array::<u8>(&[usize::MAX, usize::MAX, usize::MAX]), u128::MAX);
        assert_eq!(Need::default().array::<f64>(&[2]).array::<u8>(&[4]).times(3), Need(60));
        assert!(ensure(u128::MAX, || "this".into()).unwrap_err().to_string().starts_with("this: needs more than"));
        assert!(ensure(1000, || "that".into()).is_ok());
    }

    #[test]
    fn meminfo_total() {
        assert_eq!(mem_total("MemTotal:       24531224 kB\nMemFree: 1 kB\n"), Some(24531224 * 1024));
        assert_eq!(mem_total("nothing"), None);
        assert!(limit() >= 1 << 20);
    }

    #[test]
    fn a_device_is_read_up_to_the_cap() {
        let err = read_file(Path::new("/dev/zero"), 1000, "model file").unwrap_err().to_string();
        assert!(err.starts_with("model file /dev/zero goes on past 1.0 kB"), "{err}");
        let dir = std::env::temp_dir().join(format!("calo4p-memory-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("big.json");
        std::fs::write(&path, vec![b' '; 2000]).unwrap();
        let err = read_file(&path, 1000, "model file").unwrap_err().to_string();
        assert!(err.contains("big.json holds 2000 bytes, more than the 1.0 kB"), "{err}");
        assert_eq!(read_file(&path, 2000, "model file").unwrap().len(), 2000);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
