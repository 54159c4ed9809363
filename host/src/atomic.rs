//! Output files that are complete or absent, written where the user meant.
//!
//! * A regular file is written under a temporary name `.NAME.tmp-PID` beside its target (same
//!   file system), flushed, and renamed over it; on failure the temporary file is removed and
//!   an existing target is left as it was. The replacement keeps the old file's mode (and, where
//!   the process may, its owner and group).
//! * A symbolic link is followed: its final target is written that way, in the target's
//!   directory, and the link stays a link (also when it dangles: the target is created).
//! * FIFOs, character and block devices, and file-descriptor aliases (`/dev/stdout`,
//!   `/proc/self/fd/N`) are written directly: they cannot be replaced by a rename, and
//!   replacing them would be wrong. Such writes are not atomic.
//! * Temporary files are created exclusively (a file or link planted under that name is never
//!   followed) and locked while written. On SIGINT, SIGTERM or SIGHUP they are removed before
//!   the process dies of the signal; those of a process that died without cleaning up
//!   (SIGKILL, a crash) are removed by the next write into the same directory, when
//!   `/proc/PID` says that the process is gone and no one holds the file's lock.
//! * `-` is standard output, written directly (every `--out` and `--stats` takes it).
//! * [`refuse_clobber`] stops a command before it writes over one of its inputs, or writes
//!   two of its outputs into one file.

use anyhow::{bail, Context, Result};
use std::collections::HashSet;
use std::fs;
use std::io::Write as _;
use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, Once, PoisonError};

/// Temporary files being written now; the signal thread removes them.
static LIVE: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Longest chain of symbolic links followed (Linux's own limit).
const MAX_LINKS: usize = 40;

/// Write `path` through `emit`, which fills the file.
pub fn write_with(path: &Path, emit: impl FnOnce(&fs::File) -> Result<()>) -> Result<()> {
    if crate::output::is_stdio(path) {
        return write_stdout(emit).context("standard output: write failed");
    }
    let result = match destination(path) {
        Ok(Destination::Direct) => write_direct(path, emit),
        Ok(Destination::Replace { target, existing }) => write_replace(&target, existing.as_ref(), emit),
        Err(e) => Err(e),
    };
    result.with_context(|| format!("{}: write failed", path.display()))
}

/// `-`: standard output, through a duplicate of its descriptor, after flushing what `print!`
/// buffered so that the two keep their order. A closed pipe is an `io::ErrorKind::BrokenPipe`
/// in the error's chain (`crate::output` ends quietly on it).
fn write_stdout(emit: impl FnOnce(&fs::File) -> Result<()>) -> Result<()> {
    use std::os::fd::AsFd as _;
    std::io::stdout().flush().context("flush")?;
    emit(&fs::File::from(std::io::stdout().as_fd().try_clone_to_owned().context("duplicate")?))
}

/// Write `bytes` to `path`.
pub fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    write_with(path, |mut f| f.write_all(bytes).context("write"))
}

/// Refuse outputs that would overwrite an input, or each other. Paths are compared as files:
/// an existing file by device and inode (so hard links, symbolic links and other spellings
/// of one file match), a new one by its canonical directory and name. FIFOs, devices and `-`
/// (standard input or output) are not files and may be named any number of times.
pub fn refuse_clobber<I: AsRef<Path>, O: AsRef<Path>>(inputs: &[Option<I>], outputs: &[Option<O>]) -> Result<()> {
    let inputs: Vec<(&Path, Identity)> =
        inputs.iter().flatten().filter_map(|p| Some((p.as_ref(), identity(p.as_ref())?))).collect();
    let mut seen: Vec<(&Path, Identity)> = Vec::new();
    for out in outputs.iter().flatten().map(AsRef::as_ref) {
        let Some(id) = identity(out) else { continue };
        if let Some((input, _)) = inputs.iter().find(|(_, i)| *i == id) {
            bail!(
                "{}: this output is the input {}; refusing to overwrite an input (write to another file)",
                out.display(),
                input.display()
            );
        }
        if let Some((other, _)) = seen.iter().find(|(_, i)| *i == id) {
            bail!("{} and {} are the same file: one output would overwrite the other", other.display(), out.display());
        }
        seen.push((out, id));
    }
    Ok(())
}

/// What a path names, as a file.
#[derive(PartialEq)]
enum Identity {
    Inode(u64, u64),
    New(PathBuf),
}

fn identity(path: &Path) -> Option<Identity> {
    if path == Path::new("-") {
        return None; // standard input or output
    }
    match fs::metadata(path) {
        Ok(m) if m.is_file() => Some(Identity::Inode(m.dev(), m.ino())),
        Ok(_) => None,
        Err(_) => {
            let target = follow_links(path).ok()?;
            let dir = fs::canonicalize(directory_of(&target)).ok()?;
            Some(Identity::New(dir.join(target.file_name()?)))
        }
    }
}

/// How `path` is written.
enum Destination {
    /// Open it and write into it.
    Direct,
    /// Write a temporary file and rename it to `target` (links resolved).
    Replace { target: PathBuf, existing: Option<fs::Metadata> },
}

fn destination(path: &Path) -> Result<Destination> {
    if is_descriptor_alias(path) {
        return Ok(Destination::Direct);
    }
    match fs::metadata(path) {
        Ok(m) if m.is_file() => Ok(Destination::Replace {
            target: fs::canonicalize(path).with_context(|| format!("{}: cannot resolve", path.display()))?,
            existing: Some(m),
        }),
        Ok(m) if m.is_dir() => bail!("{} is a directory", path.display()),
        Ok(_) => Ok(Destination::Direct),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Ok(Destination::Replace { target: follow_links(path)?, existing: None })
        }
        Err(e) => Err(e).with_context(|| format!("{}: cannot inspect", path.display())),
    }
}

/// `/dev/stdout`, `/dev/fd/N`, `/proc/self/fd/N` and the like name an open file of some
/// process; renaming over the link they resolve to would not reach that file.
fn is_descriptor_alias(path: &Path) -> bool {
    let Some(s) = path.to_str() else { return false };
    if ["/dev/stdout", "/dev/stderr", "/dev/stdin"].contains(&s) || s.starts_with("/dev/fd/") {
        return true;
    }
    s.strip_prefix("/proc/").and_then(|rest| rest.split_once('/')).is_some_and(|(proc, rest)| {
        rest.starts_with("fd/") && (proc == "self" || proc == "thread-self" || proc.parse::<u32>().is_ok())
    })
}

/// Follow symbolic links from `path` to a path that is not one (and may not exist).
fn follow_links(path: &Path) -> Result<PathBuf> {
    let mut p = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        match fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                let to = fs::read_link(&p).with_context(|| format!("{}: cannot read the link", p.display()))?;
                // Relative to the link's directory; an absolute target replaces the path.
                p = directory_of(&p).join(to);
            }
            _ => return Ok(p),
        }
    }
    bail!("{}: more than {MAX_LINKS} levels of symbolic links", path.display())
}

fn directory_of(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

fn write_direct(path: &Path, emit: impl FnOnce(&fs::File) -> Result<()>) -> Result<()> {
    // Truncation is ignored by FIFOs and devices; it matters for a descriptor alias of a file.
    let file = fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(path)
        .with_context(|| format!("{}: cannot open", path.display()))?;
    emit(&file)?;
    let kind = file.metadata().with_context(|| format!("{}: cannot inspect", path.display()))?.file_type();
    if kind.is_file() || std::os::unix::fs::FileTypeExt::is_block_device(&kind) {
        file.sync_all().with_context(|| format!("{}: cannot flush", path.display()))?;
    }
    Ok(())
}

fn write_replace(
    target: &Path,
    existing: Option<&fs::Metadata>,
    emit: impl FnOnce(&fs::File) -> Result<()>,
) -> Result<()> {
    let dir = directory_of(target);
    remove_stale(dir);
    let tmp = Temporary::create(temporary_name(target), existing.is_some())?;
    let file = tmp.file.as_ref().expect("open until committed");
    emit(file)?;
    if let Some(old) = existing {
        // Owner and group only where the process may (root, or a group it belongs to).
        let _ = std::os::unix::fs::fchown(file, Some(old.uid()), Some(old.gid()));
        file.set_permissions(fs::Permissions::from_mode(old.mode() & 0o7777))
            .with_context(|| format!("{}: cannot set the mode", tmp.path.display()))?;
    }
    file.sync_all().with_context(|| format!("{}: cannot flush", tmp.path.display()))?;
    tmp.commit(target)?;
    // The rename is durable once the directory is; not every file system can say so.
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// `dir/.name.tmp-PID`, beside the target so that the rename stays on one file system.
fn temporary_name(path: &Path) -> PathBuf {
    let name = path.file_name().map_or_else(|| "output".into(), |n| n.to_string_lossy().into_owned());
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

/// The PID in a temporary file name `.NAME.tmp-PID`.
fn temporary_pid(name: &str) -> Option<u32> {
    let (stem, pid) = name.strip_prefix('.')?.rsplit_once(".tmp-")?;
    if stem.is_empty() || pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    pid.parse().ok()
}

/// Remove temporary files that dead processes left in `dir` (once per directory per process).
/// Without `/proc` nothing is removed: a live writer cannot be told from a dead one.
fn remove_stale(dir: &Path) {
    static DONE: Mutex<Option<HashSet<PathBuf>>> = Mutex::new(None);
    if !Path::new("/proc/self").exists() {
        return;
    }
    let key = fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    if !DONE.lock().unwrap_or_else(PoisonError::into_inner).get_or_insert_with(HashSet::new).insert(key) {
        return;
    }
    let Ok(entries) = fs::read_dir(dir) else { return };
    let me = std::process::id();
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(temporary_pid) else { continue };
        if pid == me || Path::new(&format!("/proc/{pid}")).exists() || !entry.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        // A writer in another PID namespace (a container sharing the directory) holds the lock.
        let path = entry.path();
        let unlocked = fs::File::open(&path).is_ok_and(|f| f.try_lock().is_ok());
        if unlocked {
            let _ = fs::remove_file(&path);
        }
    }
}

/// A temporary file, registered for removal on a signal; removed when dropped uncommitted
/// (an error or a panic in the writer).
struct Temporary {
    path: PathBuf,
    file: Option<fs::File>,
}

impl Temporary {
    fn create(path: PathBuf, private: bool) -> Result<Self> {
        let mut live = LIVE.lock().unwrap_or_else(PoisonError::into_inner);
        if live.contains(&path) {
            bail!("{}: already being written by this process", path.display());
        }
        remove_temporaries_on_signal();
        // A file that replaces another starts private and takes the old mode when complete.
        let open = || {
            fs::OpenOptions::new().write(true).create_new(true).mode(if private { 0o600 } else { 0o666 }).open(&path)
        };
        let file = match open() {
            // Left by an earlier process with this PID: it is dead, or it would be us.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => fs::remove_file(&path).and_then(|()| open()),
            other => other,
        }
        .with_context(|| format!("{}: cannot create", path.display()))?;
        // Advisory, for other PID namespaces (see remove_stale); not every file system has locks.
        let _ = file.try_lock();
        live.push(path.clone());
        Ok(Self { path, file: Some(file) })
    }

    fn commit(mut self, target: &Path) -> Result<()> {
        drop(self.file.take());
        let renamed = fs::rename(&self.path, target)
            .with_context(|| format!("cannot rename {} to {}", self.path.display(), target.display()));
        if renamed.is_ok() {
            LIVE.lock().unwrap_or_else(PoisonError::into_inner).retain(|p| p != &self.path);
            self.path = PathBuf::new();
        }
        renamed
    }
}

impl Drop for Temporary {
    fn drop(&mut self) {
        if self.path.as_os_str().is_empty() {
            return;
        }
        drop(self.file.take());
        let mut live = LIVE.lock().unwrap_or_else(PoisonError::into_inner);
        let _ = fs::remove_file(&self.path);
        live.retain(|p| p != &self.path);
    }
}

/// On the first temporary file, start a thread that waits for SIGINT, SIGTERM or SIGHUP,
/// removes the temporary files, and ends the process as the signal would have (exit status
/// 128 + signal where it cannot). A signal the process ignores (`nohup`, a background job of
/// a script) stays ignored.
fn remove_temporaries_on_signal() {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    static START: Once = Once::new();
    START.call_once(|| {
        let ignored = ignored_signals();
        let wanted: Vec<i32> =
            [SIGINT, SIGTERM, SIGHUP].into_iter().filter(|&s| (ignored >> (s - 1)) & 1 == 0).collect();
        let Ok(mut signals) = signal_hook::iterator::Signals::new(wanted) else { return };
        let _ = std::thread::Builder::new().name("calo4p-temporaries".into()).spawn(move || {
            if let Some(signal) = signals.forever().next() {
                // Held to the end: no temporary file is created after this.
                let live = LIVE.lock().unwrap_or_else(PoisonError::into_inner);
                for p in live.iter() {
                    let _ = fs::remove_file(p);
                }
                let _ = signal_hook::low_level::emulate_default_handler(signal);
                std::process::exit(128 + signal);
            }
        });
    });
}

/// The mask of ignored signals (bit s - 1 for signal s), from `/proc/self/status`; none
/// where it cannot be read.
fn ignored_signals() -> u64 {
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("SigIgn:"))
        .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("calo4p-atomic-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_failed_write_leaves_the_old_file_and_no_temporary() {
        let dir = scratch("failed");
        let target = dir.join("out.json");
        write(&target, b"old").unwrap();
        let e = format!("{:#}", write_with(&target, |_| anyhow::bail!("disk full")).unwrap_err());
        assert!(e.contains("out.json") && e.contains("disk full"), "{e}");
        assert_eq!(fs::read(&target).unwrap(), b"old");
        write(&target, b"new").unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"new");
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
        assert!(!LIVE.lock().unwrap().contains(&temporary_name(&target)));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_panicking_writer_leaves_no_temporary() {
        let dir = scratch("panic");
        let target = dir.join("out.json");
        let r = std::panic::catch_unwind(|| write_with(&target, |_| panic!("writer bug")));
        assert!(r.is_err());
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 0);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_planted_link_at_the_temporary_name_is_not_followed() {
        let dir = scratch("planted");
        let victim = dir.join("victim");
        fs::write(&victim, b"precious").unwrap();
        let target = dir.join("out.json");
        std::os::unix::fs::symlink(&victim, temporary_name(&target)).unwrap();
        write(&target, b"data").unwrap();
        assert_eq!(fs::read(&victim).unwrap(), b"precious");
        assert_eq!(fs::read(&target).unwrap(), b"data");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn temporary_names_are_recognised() {
        assert_eq!(temporary_pid(".out.json.tmp-123"), Some(123));
        assert_eq!(temporary_pid(".a.tmp-b.tmp-7"), Some(7));
        for not in ["out.json.tmp-1", ".tmp-1", ".x.tmp-", ".x.tmp-1a", ".x.tmp-+1", ".x.tmp-99999999999"] {
            assert_eq!(temporary_pid(not), None, "{not}");
        }
        assert!(is_descriptor_alias(Path::new("/proc/self/fd/1")));
        assert!(is_descriptor_alias(Path::new("/proc/42/fd/3")));
        assert!(is_descriptor_alias(Path::new("/dev/stdout")));
        assert!(!is_descriptor_alias(Path::new("/proc/self/status")));
        assert!(!is_descriptor_alias(Path::new("/dev/shm/out.json")));
    }

    #[test]
    fn clobbering_is_refused_by_file_not_by_spelling() {
        let dir = scratch("clobber");
        let input = dir.join("in.json");
        fs::write(&input, b"{}").unwrap();
        let same = dir.join("sub/../in.json");
        fs::create_dir_all(dir.join("sub")).unwrap();
        let none: Option<&Path> = None;
        assert!(refuse_clobber(&[Some(&input)], &[Some(&same)]).is_err());
        assert!(refuse_clobber(&[Some(&input)], &[Some(dir.join("out.json"))]).is_ok());
        let e = refuse_clobber(&[none], &[Some(dir.join("new")), Some(dir.join("sub/../new"))]).unwrap_err();
        assert!(e.to_string().contains("same file"), "{e}");
        assert!(refuse_clobber(&[none], &[Some("/dev/null"), Some("/dev/null")]).is_ok());
        fs::remove_dir_all(&dir).unwrap();
    }

    /// The child of [`a_signal_removes_the_temporary_file`]: a write that never finishes.
    #[test]
    fn signal_child() {
        let Ok(target) = std::env::var("CALO4P_ATOMIC_SIGNAL_CHILD") else { return };
        let _ = write_with(Path::new(&target), |mut f| {
            f.write_all(b"partial")?;
            fs::write(format!("{target}.ready"), b"")?;
            std::thread::sleep(std::time::Duration::from_secs(60));
            Ok(())
        });
        unreachable!("the parent signals this process");
    }

    /// Start [`signal_child`] writing `dir/out.json` (through `sh`, which first ignores
    /// `ignore`); returns it once its temporary file exists.
    fn start_writer(dir: &Path, ignore: &str) -> (std::process::Child, PathBuf) {
        let target = dir.join("out.json");
        let exe = std::env::current_exe().unwrap();
        let script = format!("trap '' {ignore}; exec \"$0\" --exact atomic::tests::signal_child --test-threads 1");
        let child = std::process::Command::new("sh")
            .args(["-c", &script])
            .arg(exe)
            .env("CALO4P_ATOMIC_SIGNAL_CHILD", &target)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let ready = dir.join("out.json.ready");
        let start = std::time::Instant::now();
        while !ready.exists() {
            assert!(start.elapsed().as_secs() < 60, "the child never started writing");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let tmp = dir.join(format!(".out.json.tmp-{}", child.id()));
        assert!(tmp.exists(), "the child writes {}", tmp.display());
        (child, tmp)
    }

    fn kill(child: &std::process::Child, signal: &str) {
        let status = std::process::Command::new("kill").args([format!("-{signal}"), child.id().to_string()]).status();
        assert!(status.unwrap().success());
    }

    #[test]
    fn a_signal_removes_the_temporary_file() {
        use std::os::unix::process::ExitStatusExt as _;
        for (signal, number) in [("TERM", 15), ("INT", 2), ("HUP", 1)] {
            let dir = scratch(&format!("signal-{signal}"));
            let (mut child, tmp) = start_writer(&dir, "USR2");
            kill(&child, signal);
            let status = child.wait().unwrap();
            assert!(status.signal() == Some(number) || status.code() == Some(128 + number), "{status:?}");
            assert!(!tmp.exists(), "SIG{signal} left {}", tmp.display());
            assert!(!dir.join("out.json").exists());
            fs::remove_dir_all(&dir).unwrap();
        }
    }

    #[test]
    fn an_ignored_signal_stays_ignored() {
        let dir = scratch("nohup");
        let (mut child, tmp) = start_writer(&dir, "HUP");
        kill(&child, "HUP");
        std::thread::sleep(std::time::Duration::from_millis(300));
        assert!(child.try_wait().unwrap().is_none(), "SIGHUP ended a process that ignores it (nohup)");
        kill(&child, "TERM");
        child.wait().unwrap();
        assert!(!tmp.exists());
        fs::remove_dir_all(&dir).unwrap();
    }
}
