//! Replays the fuzzing regression corpus (`fuzz/regressions/<target>/`) through the same entry
//! points the libFuzzer targets call (`fuzz/src/targets.rs`, included here by path): every
//! input must be read to an answer or an error, never a panic. Inputs that found a defect not
//! yet fixed are listed in [`OPEN`] with where the defect is; they are reported, not hidden.

#[path = "../../fuzz/src/targets.rs"]
mod targets;

use std::path::{Path, PathBuf};

/// Findings not fixed yet, each reported to the lead: (target, file, whether it aborts the
/// process, where and what). One that panics is replayed and its panic reported without
/// failing the test (the test fails once it stops panicking, so that it leaves this list);
/// one that aborts (stack overflow, allocation failure) cannot be caught and is not replayed.
/// None is open: the last one, `hdf5/finding-fill-value-5tb-allocation.h5`, is
/// [`a_declared_shape_beyond_memory_is_refused`].
const OPEN: &[(&str, &str, bool, &str)] = &[];

fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions").join(target)
}

fn inputs(target: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus_dir(target))
        .map(|d| d.map(|e| e.unwrap().path()).filter(|p| p.is_file()).collect())
        .unwrap_or_default();
    files.sort();
    files
}

#[test]
fn every_target_has_a_regression_corpus() {
    for (name, _) in targets::TARGETS {
        assert!(!inputs(name).is_empty(), "fuzz/regressions/{name}/ is empty or missing");
    }
}

#[test]
fn the_regression_corpus_reads_without_panicking() {
    let (mut panics, mut fixed) = (Vec::new(), Vec::new());
    let (mut replayed, mut open) = (0, 0);
    for (name, read) in targets::TARGETS {
        for path in inputs(name) {
            let file = path.file_name().unwrap().to_string_lossy().into_owned();
            let open_finding = OPEN.iter().find(|(t, f, _, _)| *t == name && *f == file);
            if let Some((_, _, true, why)) = open_finding {
                eprintln!("OPEN FINDING (aborts, not replayed): fuzz/regressions/{name}/{file}: {why}");
                open += 1;
                continue;
            }
            let data = std::fs::read(&path).unwrap();
            let panicked = std::panic::catch_unwind(|| read(&data)).is_err();
            match (open_finding, panicked) {
                (Some((_, _, _, why)), true) => {
                    eprintln!("OPEN FINDING (still panics): fuzz/regressions/{name}/{file}: {why}");
                    open += 1;
                }
                (Some(_), false) => fixed.push(format!("fuzz/regressions/{name}/{file}")),
                (None, true) => panics.push(format!("fuzz/regressions/{name}/{file}")),
                (None, false) => {}
            }
            replayed += 1;
        }
    }
    eprintln!("replayed {replayed} inputs; {open} open findings listed in OPEN");
    // Overflow findings panic only with overflow checks (the test profile has them).
    assert!(
        fixed.is_empty() || !cfg!(debug_assertions),
        "fixed: remove these from OPEN in this file:\n{}",
        fixed.join("\n")
    );
    assert!(
        panics.is_empty(),
        "these inputs panic (replay one with `cargo +nightly fuzz run <target> <file>`):\n{}",
        panics.join("\n")
    );
}

/// `hdf5/finding-fill-value-5tb-allocation.h5`: one flipped bit declares 339,302,416,752
/// voxels per shower, and hdf5-pure allocated the fill value of every row asked for (5.4 TB
/// for the fuzz target's 4 rows) and the process aborted. The reader now refuses the window
/// with the memory it would need (host/src/data/hdf5.rs, `ShowerReader::read_rows_into`).
#[test]
fn a_declared_shape_beyond_memory_is_refused() {
    let path = corpus_dir("hdf5").join("finding-fill-value-5tb-allocation.h5");
    let reader = calo4p::data::hdf5::ShowerReader::open(&path).expect("the header itself reads");
    let msg = format!("{:#}", reader.read_rows(0, 4).unwrap_err());
    assert!(msg.contains("dataset 'showers' rows 0..4 of 339302416752 voxels each: needs"), "{msg}");
    assert!(msg.contains("TB of memory"), "{msg}");
    targets::hdf5(&std::fs::read(&path).unwrap());
}
