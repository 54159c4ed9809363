//! Output files (issue 11): writes go through symlinks to their target, straight into FIFOs and
//! devices, keep the mode of the file they replace, clean stale temporary files of dead
//! processes, and never overwrite an input or another output of the same command.

use std::fs;
use std::os::unix::fs::{FileTypeExt as _, MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn calo4p(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_calo4p")).args(args).output().expect("calo4p runs")
}

fn run_ok(args: &[&str]) -> Output {
    let out = calo4p(args);
    assert!(out.status.success(), "calo4p {args:?} failed: {}", stderr(&out));
    out
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("calo4p-files-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The Zephyr graph Z(1, 4) as JSON, written to `out`: a command with no input file.
fn zephyr_to(out: &Path) -> Output {
    calo4p(&["zephyr", "--m", "1", "--t", "4", "--out", s(out)])
}

fn is_zephyr_json(bytes: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(bytes).is_ok_and(|v| v["num_nodes"].as_u64().is_some())
}

/// A small model: 8 units on Z(1, 4).
fn small_model(dir: &Path) -> PathBuf {
    let path = dir.join("model.json");
    run_ok(&["model", "random", "--zephyr", "1,4", "--per-partition", "2", "--seed", "3", "--out", s(&path)]);
    path
}

/// A null and a full device: our own nodes where we may make them (root), /dev's otherwise,
/// which a process that is not root cannot replace even when the write goes wrong.
fn devices(dir: &Path) -> Option<(PathBuf, PathBuf)> {
    let (null, full) = (dir.join("null"), dir.join("full"));
    let mknod = |p: &Path, minor: &str| Command::new("mknod").arg(p).args(["c", "1", minor]).status();
    if mknod(&null, "3").is_ok_and(|s| s.success()) && mknod(&full, "7").is_ok_and(|s| s.success()) {
        return Some((null, full));
    }
    let root = fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(true);
    (!root).then(|| (PathBuf::from("/dev/null"), PathBuf::from("/dev/full")))
}

/// Temporary files `.NAME.tmp-PID` left in `dir`.
fn temporaries(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.') && n.contains(".tmp-"))
        .collect()
}

#[test]
fn a_symlink_stays_a_link_and_its_target_is_written() {
    let dir = scratch("symlink");
    let target_dir = dir.join("real");
    fs::create_dir_all(&target_dir).unwrap();
    let target = target_dir.join("graph.json");
    fs::write(&target, b"old").unwrap();
    let link = dir.join("link.json");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let out = zephyr_to(&link);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "the link was replaced by a file");
    assert!(is_zephyr_json(&fs::read(&target).unwrap()), "the target was not written");
    assert!(temporaries(&dir).is_empty() && temporaries(&target_dir).is_empty());

    // A relative link, through a second link, to a file that does not exist yet.
    let chain = dir.join("chain.json");
    std::os::unix::fs::symlink("link2.json", &chain).unwrap();
    std::os::unix::fs::symlink("real/new.json", dir.join("link2.json")).unwrap();
    let out = zephyr_to(&chain);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(fs::symlink_metadata(&chain).unwrap().file_type().is_symlink());
    assert!(fs::symlink_metadata(dir.join("link2.json")).unwrap().file_type().is_symlink());
    assert!(is_zephyr_json(&fs::read(target_dir.join("new.json")).unwrap()), "the dangling link's target");
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_mode_of_a_replaced_file_is_kept() {
    let dir = scratch("mode");
    for mode in [0o600, 0o640, 0o755] {
        let out = dir.join(format!("graph-{mode:o}.json"));
        fs::write(&out, b"old").unwrap();
        fs::set_permissions(&out, fs::Permissions::from_mode(mode)).unwrap();
        let o = zephyr_to(&out);
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(is_zephyr_json(&fs::read(&out).unwrap()));
        let got = fs::metadata(&out).unwrap().permissions().mode() & 0o7777;
        assert_eq!(got, mode, "mode {mode:o} became {got:o}");
    }
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_fifo_is_written_not_replaced() {
    let dir = scratch("fifo");
    let fifo = dir.join("pipe.json");
    let made = Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("skipped: mkfifo is not available");
        return;
    }
    // The reader blocks in open() until a writer opens the FIFO; if calo4p replaced the FIFO
    // instead, no one ever will, so the test waits on a channel with a timeout.
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = fifo.clone();
    std::thread::spawn(move || tx.send(fs::read(&reader)));
    let out = zephyr_to(&fifo);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo(), "the FIFO was replaced by a regular file");
    let got = rx.recv_timeout(std::time::Duration::from_secs(60)).expect("the reader got nothing").unwrap();
    assert!(is_zephyr_json(&got), "the reader got {} bytes", got.len());
    assert!(temporaries(&dir).is_empty());
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_device_is_written_not_replaced() {
    let dir = scratch("device");
    let Some((null, full)) = devices(&dir) else {
        eprintln!("skipped: root, but mknod failed; /dev must not be put at risk");
        return;
    };
    let out = zephyr_to(&null);
    assert!(out.status.success(), "{}: {}", null.display(), stderr(&out));
    assert!(fs::symlink_metadata(&null).unwrap().file_type().is_char_device(), "{} was replaced", null.display());

    let out = zephyr_to(&full);
    assert!(!out.status.success(), "writing {} must fail (no space left)", full.display());
    assert!(stderr(&out).contains("full"), "the error names the file: {}", stderr(&out));
    assert!(fs::symlink_metadata(&full).unwrap().file_type().is_char_device(), "{} was replaced", full.display());
    assert!(temporaries(&dir).is_empty());
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn stale_temporaries_of_dead_processes_are_removed() {
    let dir = scratch("stale");
    let mut child = Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    assert!(!Path::new(&format!("/proc/{dead}")).exists());
    let stale = [dir.join(format!(".graph.json.tmp-{dead}")), dir.join(format!(".other.npy.tmp-{dead}"))];
    for p in &stale {
        fs::write(p, vec![0u8; 4096]).unwrap();
    }
    // PID 1 is alive: its temporary file may be a write in progress.
    let alive = dir.join(".graph.json.tmp-1");
    fs::write(&alive, b"in progress").unwrap();
    // Not ours at all.
    let unrelated = [dir.join(".graph.json.tmp-12x"), dir.join("graph.json.tmp-99999999"), dir.join("notes.txt")];
    for p in &unrelated {
        fs::write(p, b"keep").unwrap();
    }
    let out = zephyr_to(&dir.join("graph.json"));
    assert!(out.status.success(), "{}", stderr(&out));
    for p in &stale {
        assert!(!p.exists(), "{} (PID {dead} is dead) was left", p.display());
    }
    assert!(alive.exists(), "a live process's temporary file was removed");
    for p in &unrelated {
        assert!(p.exists(), "{} is not a temporary file of ours", p.display());
    }
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_output_that_is_an_input_is_refused() {
    let dir = scratch("clobber");
    let model = small_model(&dir);
    let original = fs::read(&model).unwrap();
    let hard = dir.join("hard.json");
    fs::hard_link(&model, &hard).unwrap();
    let soft = dir.join("soft.json");
    std::os::unix::fs::symlink("model.json", &soft).unwrap();
    let m = s(&model);
    let mut cases: Vec<Vec<String>> = Vec::new();
    for out in [s(&model), s(&hard), s(&soft), &format!("{}/./model.json", s(&dir))] {
        let commands: [&[&str]; 9] = [
            &["model", "quantise", "--model", m, "--out", out],
            &["exact", "--model", m, "--out", out],
            &["sample", "--model", m, "--chains", "2", "--sweeps", "2", "--burn-in", "0", "--quiet", "--out", out],
            &["sample", "--model", m, "--chains", "2", "--sweeps", "2", "--burn-in", "0", "--quiet", "--stats", out],
            &["qa", "export-ising", "--model", m, "--out", out],
            &["svd", "--model", m, "--plot", out],
            &["acf", "--model", m, "--chains", "2", "--sweeps", "4", "--quiet", "--plot", out],
            &["precision", "--model", m, "--samples", "10", "--quiet", "--plot", out],
            &["exact", "--model", s(&hard), "--out", m],
        ];
        cases.extend(commands.iter().map(|c| c.iter().map(|a| a.to_string()).collect()));
    }
    for args in &cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = calo4p(&args);
        assert!(!out.status.success(), "calo4p {args:?} overwrote its input");
        let e = stderr(&out);
        assert!(e.contains("input") && e.contains("model.json"), "calo4p {args:?}: unclear message: {e}");
        assert_eq!(fs::read(&model).unwrap(), original, "calo4p {args:?} changed the model");
    }
    assert!(fs::symlink_metadata(&soft).unwrap().file_type().is_symlink());
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn qa_outputs_that_are_inputs_are_refused() {
    let dir = scratch("clobber-qa");
    let model = small_model(&dir);
    let samples = dir.join("samples.npy");
    run_ok(&["sample", "--model", s(&model), "--chains", "4", "--sweeps", "4", "--quiet", "--out", s(&samples)]);
    let before = (fs::read(&model).unwrap(), fs::read(&samples).unwrap());
    let (m, x) = (s(&model), s(&samples));
    let cases: [&[&str]; 4] = [
        &["qa", "import", x, "--model", m, "--quiet", "--stats", x],
        &["qa", "import", x, "--model", m, "--quiet", "--stats", m],
        &["qa", "beta", x, "--model", m, "--quiet", "--bootstrap", "0", "--out", x],
        &["qa", "beta", x, "--model", m, "--quiet", "--bootstrap", "0", "--out", m],
    ];
    for args in cases {
        let out = calo4p(args);
        assert!(!out.status.success(), "calo4p {args:?} overwrote its input");
        assert!(stderr(&out).contains("input"), "calo4p {args:?}: unclear message: {}", stderr(&out));
        assert_eq!((fs::read(&model).unwrap(), fs::read(&samples).unwrap()), before, "calo4p {args:?}");
    }
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn two_outputs_on_one_file_are_refused() {
    let dir = scratch("two-outputs");
    let model = small_model(&dir);
    let base = ["sample", "--model", s(&model), "--chains", "2", "--sweeps", "2", "--burn-in", "0", "--quiet"];
    // The same new file twice, spelled two ways, and an existing file twice.
    let x = dir.join("x");
    let spelled = format!("{}/../{}/x", s(&dir), dir.file_name().unwrap().to_str().unwrap());
    fs::write(dir.join("y"), b"old").unwrap();
    for (a, b) in [(s(&x), s(&x)), (s(&x), spelled.as_str()), (s(&dir.join("y")), s(&dir.join("y")))] {
        let mut args = base.to_vec();
        args.extend(["--out", a, "--stats", b]);
        let out = calo4p(&args);
        assert!(!out.status.success(), "calo4p {args:?} wrote one output over the other");
        assert!(stderr(&out).contains("same"), "unclear message: {}", stderr(&out));
    }
    assert!(!x.exists());
    assert_eq!(fs::read(dir.join("y")).unwrap(), b"old");
    // A device is not a file: both outputs may go to the null device.
    if let Some((null, _)) = devices(&dir) {
        let mut args = base.to_vec();
        args.extend(["--out", s(&null), "--stats", s(&null)]);
        run_ok(&args);
        assert!(fs::symlink_metadata(&null).unwrap().file_type().is_char_device());
    }
    fs::remove_dir_all(&dir).unwrap();
}
