//! Results on standard output, the Unix way: `-` names standard output, a closed pipe is
//! the reader saying "enough" (not an error), and the exit status tells a failed check (1)
//! from a usage or input error (2).
//!
//! Results go to standard output through [`outln!`](crate::outln), which returns the write's
//! error instead of panicking as `println!` does; diagnostics and progress go to standard
//! error. [`exit_code`] turns an error into the status `calo4p` exits with.

use std::fmt;
use std::io::{self, Write as _};
use std::path::Path;

/// Exit status: success.
pub const SUCCESS: u8 = 0;
/// Exit status: the command ran and a check it was asked to make failed
/// (for example `validate --tolerance`).
pub const CHECK_FAILED: u8 = 1;
/// Exit status: bad usage or input (clap's own status for usage errors).
pub const USAGE_OR_INPUT: u8 = 2;

/// The exit statuses, for `--help`.
pub const EXIT_STATUS_HELP: &str = "\
Exit status:
  0  success (also when a reader closes the pipe early, as `| head` does)
  1  a check failed (validate --tolerance or --max-z)
  2  usage or input error (bad option, unreadable or invalid file)

An output path of `-` means standard output.";

/// A check the user asked for did not hold: the command exits with [`CHECK_FAILED`]
/// rather than [`USAGE_OR_INPUT`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckFailed(pub String);

impl fmt::Display for CheckFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CheckFailed {}

/// True when `path` is `-`: standard output (or input).
pub fn is_stdio(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// True when the error comes from writing into a pipe whose reader has gone.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| e.downcast_ref::<io::Error>().is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe))
}

/// What an error means for the exit status: `None` for a closed pipe (end quietly),
/// [`CHECK_FAILED`] for a [`CheckFailed`], [`USAGE_OR_INPUT`] for everything else.
pub fn exit_code(err: &anyhow::Error) -> Option<u8> {
    if is_broken_pipe(err) {
        None
    } else if err.chain().any(|e| e.is::<CheckFailed>()) {
        Some(CHECK_FAILED)
    } else {
        Some(USAGE_OR_INPUT)
    }
}

/// Write `bytes` to standard output and flush.
pub fn stdout_bytes(bytes: &[u8]) -> io::Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(bytes)?;
    out.flush()
}

/// `println!` that returns the write's `io::Result` instead of panicking on a closed pipe.
#[macro_export]
macro_rules! outln {
    () => {
        $crate::output::stdout_bytes(b"\n")
    };
    ($($arg:tt)*) => {
        $crate::output::stdout_bytes(format!("{}\n", format_args!($($arg)*)).as_bytes())
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context as _;

    #[test]
    fn exit_codes() {
        let pipe: anyhow::Error = io::Error::from(io::ErrorKind::BrokenPipe).into();
        assert_eq!(exit_code(&pipe.context("writing results")), None);
        let check: anyhow::Error = CheckFailed("bias 0.1 > 0.01".into()).into();
        assert_eq!(exit_code(&check.context("validate")), Some(CHECK_FAILED));
        let input = Err::<(), _>(io::Error::from(io::ErrorKind::NotFound)).context("model.json").unwrap_err();
        assert_eq!(exit_code(&input), Some(USAGE_OR_INPUT));
        assert!(is_stdio(Path::new("-")) && !is_stdio(Path::new("./-")));
    }
}
