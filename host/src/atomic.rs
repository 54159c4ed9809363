//! Output files that are complete or absent: each is written under a temporary name beside
//! the target (same file system), flushed, and renamed over it; on failure the temporary
//! file is removed and an existing target is left as it was.

use anyhow::{Context, Result};
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// Write `path` through `emit`, which fills the temporary file.
pub fn write_with(path: &Path, emit: impl FnOnce(&fs::File) -> Result<()>) -> Result<()> {
    let tmp = temporary_name(path);
    let result = (|| {
        let file = fs::File::create(&tmp).with_context(|| format!("{}: cannot create", tmp.display()))?;
        emit(&file)?;
        file.sync_all().with_context(|| format!("{}: cannot flush", tmp.display()))?;
        drop(file);
        fs::rename(&tmp, path).with_context(|| format!("cannot rename {} to {}", tmp.display(), path.display()))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.with_context(|| format!("{}: write failed", path.display()))
}

/// Write `bytes` to `path`.
pub fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    write_with(path, |mut f| f.write_all(bytes).context("write"))
}

/// `dir/.name.tmp-PID`, beside the target so that the rename stays on one file system.
fn temporary_name(path: &Path) -> PathBuf {
    let name = path.file_name().map_or_else(|| "output".into(), |n| n.to_string_lossy().into_owned());
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_write_leaves_the_old_file_and_no_temporary() {
        let dir = std::env::temp_dir().join(format!("calo4p-atomic-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let target = dir.join("out.json");
        write(&target, b"old").unwrap();
        let e = format!("{:#}", write_with(&target, |_| anyhow::bail!("disk full")).unwrap_err());
        assert!(e.contains("out.json") && e.contains("disk full"), "{e}");
        assert_eq!(fs::read(&target).unwrap(), b"old");
        write(&target, b"new").unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"new");
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
        fs::remove_dir_all(&dir).unwrap();
    }
}
