//! Progress on standard error: bars for counted work, spinners for work of unknown length.
//!
//! With the `cli` feature these are indicatif's; without it (calo4p as a library) a
//! [`Progress`] is a no-op with the same methods, so library code reports progress the same
//! way in both builds and never prints.

#[cfg(feature = "cli")]
pub use indicatif::ProgressBar as Progress;

/// A progress bar on standard error for `len` steps of `unit`s (hidden unless `show`).
#[cfg(feature = "cli")]
pub fn bar(len: u64, show: bool, what: &str, unit: &str) -> Progress {
    if !show {
        return Progress::hidden();
    }
    let template = format!("{{msg}} [{{bar:40}}] {{pos}}/{{len}} {unit}, {{per_sec}}, eta {{eta}}");
    let style = indicatif::ProgressStyle::with_template(&template).expect("valid template").progress_chars("=> ");
    Progress::new(len).with_style(style).with_message(what.to_owned())
}

/// A spinner on standard error with the elapsed time, for work of unknown length (hidden
/// unless `show`).
#[cfg(feature = "cli")]
pub fn spinner(show: bool, what: &str) -> Progress {
    if !show {
        return Progress::hidden();
    }
    let style = indicatif::ProgressStyle::with_template("{spinner} {msg} ({elapsed})").expect("valid template");
    let bar = Progress::new_spinner().with_style(style).with_message(what.to_owned());
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

/// Progress that is never shown (built without the `cli` feature).
#[cfg(not(feature = "cli"))]
#[derive(Clone, Debug, Default)]
pub struct Progress;

#[cfg(not(feature = "cli"))]
impl Progress {
    /// Advance by `n` steps.
    pub fn inc(&self, n: u64) {
        let _ = n;
    }
    /// Set the position.
    pub fn set_position(&self, pos: u64) {
        let _ = pos;
    }
    /// Set the message.
    pub fn set_message(&self, msg: impl Into<std::borrow::Cow<'static, str>>) {
        let _ = msg.into();
    }
    /// Remove the bar.
    pub fn finish_and_clear(&self) {}
}

/// A progress bar (never shown without the `cli` feature).
#[cfg(not(feature = "cli"))]
pub fn bar(len: u64, show: bool, what: &str, unit: &str) -> Progress {
    let _ = (len, show, what, unit);
    Progress
}

/// A spinner (never shown without the `cli` feature).
#[cfg(not(feature = "cli"))]
pub fn spinner(show: bool, what: &str) -> Progress {
    let _ = (show, what);
    Progress
}
