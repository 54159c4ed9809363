//! The command line: outputs against the reference files, determinism, and bad input.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn calo4p(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_calo4p")).args(args).output().expect("calo4p runs")
}

fn reference(rel: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/reference/")).join(rel)
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("calo4p-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn json(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes).expect("valid JSON")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn zephyr_matches_dwave_networkx() {
    for (m, t) in [(1, 4), (2, 4), (6, 4)] {
        let out = calo4p(&["zephyr", "--zephyr", &format!("{m},{t}")]);
        assert!(out.status.success(), "{}", stderr(&out));
        let got = json(&out.stdout);
        let want = json(&std::fs::read(reference(&format!("zephyr/zephyr_{m}_{t}.json"))).unwrap());
        for key in ["num_nodes", "num_edges", "edges", "color", "coords_uwkjz"] {
            assert_eq!(got[key], want[key], "Z({m},{t}) {key}");
        }
    }
}

#[test]
fn exact_json_matches_reference() {
    let model = reference("models/rbm_7x7x7x7_seed20250131.json");
    let out = calo4p(&["exact", "--model", model.to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let got = json(&out.stdout);
    let want = json(&std::fs::read(reference("models/rbm_7x7x7x7_seed20250131.exact.json")).unwrap());
    assert!((got["ln_z"].as_f64().unwrap() - want["ln_z"].as_f64().unwrap()).abs() < 1e-9);
    for (a, b) in got["mean"].as_array().unwrap().iter().zip(want["mean"].as_array().unwrap()) {
        assert!((a.as_f64().unwrap() - b.as_f64().unwrap()).abs() < 1e-9);
    }
    let (ga, wa) = (got["edge_second_moment"].as_array().unwrap(), want["edge_second_moment"].as_array().unwrap());
    assert_eq!(ga.len(), wa.len());
    for (a, b) in ga.iter().zip(wa) {
        assert_eq!(a[0], b[0]);
        assert_eq!(a[1], b[1]);
        assert!((a[2].as_f64().unwrap() - b[2].as_f64().unwrap()).abs() < 1e-9);
    }
}

fn sample(dir: &Path, tag: &str, model: &str, extra: &[&str]) -> (Output, Vec<u8>, Vec<u8>) {
    let (stats, npy) = (dir.join(format!("{tag}.json")), dir.join(format!("{tag}.npy")));
    let mut args = vec!["sample", "--model", model, "--chains", "8", "--sweeps", "20", "--burn-in", "5", "--quiet"];
    args.extend_from_slice(&["--stats", stats.to_str().unwrap(), "--out", npy.to_str().unwrap()]);
    args.extend_from_slice(extra);
    let out = calo4p(&args);
    (out, std::fs::read(stats).unwrap_or_default(), std::fs::read(npy).unwrap_or_default())
}

#[test]
fn random_model_sample_is_byte_for_byte_reproducible() {
    let dir = scratch("repro");
    let model = dir.join("model.json");
    let m = model.to_str().unwrap();
    let made = calo4p(&["model", "random", "--zephyr", "2,4", "--per-partition", "20", "--seed", "3", "--out", m]);
    assert!(made.status.success(), "{}", stderr(&made));
    let fixed = ["--engine", "fixed", "--format", "Q8.8", "--seed", "11"];
    let (o1, s1, n1) = sample(&dir, "a", m, &fixed);
    let (o2, s2, n2) = sample(&dir, "b", m, &fixed);
    assert!(o1.status.success() && o2.status.success(), "{}", stderr(&o1));
    assert_eq!((s1.clone(), n1.clone()), (s2, n2));
    let stats = json(&s1);
    assert_eq!(stats["num_samples"], 160);
    assert_eq!(stats["mean"].as_array().unwrap().len(), 80);
    // 160 rows of 80 units after a 128-byte header.
    assert_eq!(n1.len(), 128 + 160 * 80);
    let (_, s3, _) = sample(&dir, "c", m, &["--engine", "fixed", "--seed", "12"]);
    assert_ne!(s1, s3);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn bad_input_fails_with_a_clear_message_and_writes_nothing() {
    let dir = scratch("bad");
    let cases: [(&str, &str, &[&str]); 4] = [
        ("trunc.json", r#"{"partition": [0, 1], "bias": [0.5"#, &["invalid JSON in `bias"]),
        ("intra.json", r#"{"partition": [0, 0], "bias": [0, 0], "edges": [[0, 1, 1.0]]}"#, &["partition 0"]),
        ("nan.json", r#"{"partition": [0, 1], "bias": [NaN, 0], "edges": []}"#, &["`bias[0]` is NaN"]),
        (
            "range.json",
            r#"{"partition": [0, 1], "bias": [0, 0], "edges": [[0, 1, 300.0]]}"#,
            &["edges[0] = 300", "--strict"],
        ),
    ];
    for (name, text, wants) in cases {
        let model = dir.join(name);
        std::fs::write(&model, text).unwrap();
        let (out, stats, npy) = sample(&dir, name, model.to_str().unwrap(), &["--engine", "fixed", "--strict"]);
        assert!(!out.status.success(), "{name} must fail");
        let err = stderr(&out);
        assert!(err.contains(name), "{name}: message names the file: {err}");
        for want in wants {
            assert!(err.contains(want), "{name}: {err}");
        }
        assert!(stats.is_empty() && npy.is_empty(), "{name}: nothing written");
    }
    // Without --strict an out-of-range weight saturates, with a warning.
    let model = dir.join("range.json");
    let (out, stats, _) = sample(&dir, "sat", model.to_str().unwrap(), &["--engine", "fixed"]);
    assert!(out.status.success());
    assert!(stderr(&out).contains("saturated"), "{}", stderr(&out));
    assert!(!stats.is_empty());
    let too_big = calo4p(&["exact", "--model", reference("models/rbm_7x7x7x7_seed20250131.json").to_str().unwrap()]);
    assert!(too_big.status.success());
    let big = dir.join("big.json");
    calo4p(&["model", "random", "--zephyr", "2,4", "--per-partition", "12", "--out", big.to_str().unwrap()]);
    let refused = calo4p(&["exact", "--model", big.to_str().unwrap()]);
    assert!(!refused.status.success());
    assert!(stderr(&refused).contains("too large"), "{}", stderr(&refused));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn every_command_has_help() {
    for cmd in [
        &["--help"][..],
        &["sample", "--help"],
        &["exact", "--help"],
        &["anneal", "--help"],
        &["completions", "--help"],
        &["zephyr", "--help"],
        &["model", "random", "--help"],
        &["model", "quantise", "--help"],
        &["demo", "--help"],
        &["validate", "--help"],
        &["precision", "--help"],
        &["acf", "--help"],
        &["svd", "--help"],
        &["qa", "import", "--help"],
        &["qa", "beta", "--help"],
        &["qa", "export-ising", "--help"],
        &["data", "synth", "--help"],
        &["data", "evaluate", "--help"],
        &["data", "info", "--help"],
    ] {
        let out = calo4p(cmd);
        assert!(out.status.success(), "{cmd:?}");
        assert!(String::from_utf8_lossy(&out.stdout).contains("Usage"), "{cmd:?}");
    }
}

#[test]
fn validate_exit_status_follows_the_tolerance() {
    let dir = scratch("validate");
    let model = reference("models/rbm_7x7x7x7_seed20250131.json");
    let m = model.to_str().unwrap();
    let stats = dir.join("s.json");
    let npy = dir.join("s.npy");
    let run = calo4p(&[
        "sample",
        "--model",
        m,
        "--engine",
        "fixed",
        "--chains",
        "100",
        "--sweeps",
        "200",
        "--burn-in",
        "20",
        "--seed",
        "5",
        "--quiet",
        "--stats",
        stats.to_str().unwrap(),
        "--out",
        npy.to_str().unwrap(),
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    // The statistics file carries an effective sample size from the magnetisation's τ_int.
    let s = json(&std::fs::read(&stats).unwrap());
    let ess = s["effective_samples"].as_f64().expect("effective_samples");
    assert!(ess > 0.0 && ess <= 20_000.0, "{ess}");
    let s = stats.to_str().unwrap();
    let ok = calo4p(&["validate", "--model", m, "--samples", s, "--tolerance", "0.05", "--max-z", "6"]);
    assert!(ok.status.success(), "{}", stderr(&ok));
    let fail = calo4p(&["validate", "--model", m, "--samples", s, "--tolerance", "1e-5"]);
    assert_eq!(fail.status.code(), Some(1), "a failed check");
    assert!(stderr(&fail).contains("validation failed"), "{}", stderr(&fail));
    let nan = calo4p(&["validate", "--model", m, "--samples", s, "--tolerance", "abc"]);
    assert!(!nan.status.success() && stderr(&nan).contains("--tolerance"), "{}", stderr(&nan));
    let report = dir.join("report");
    let samples = calo4p(&[
        "validate",
        "--model",
        m,
        "--samples",
        npy.to_str().unwrap(),
        "--chains",
        "100",
        "--report",
        report.to_str().unwrap(),
        "--json",
    ]);
    assert!(samples.status.success(), "{}", stderr(&samples));
    let c = json(&samples.stdout);
    assert!(c["frobenius"]["all"].as_f64().unwrap() > 0.0 && c["z_max"].as_f64().unwrap() < 6.0);
    let html = std::fs::read_to_string(report.join("index.html")).unwrap();
    assert!(html.contains("<svg") && html.contains("Frobenius"));
    std::fs::remove_dir_all(dir).unwrap();
}

/// Run `calo4p` in `dir`, with `stdin` closed.
fn calo4p_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_calo4p")).args(args).current_dir(dir).output().expect("calo4p runs")
}

#[test]
fn out_dash_is_standard_output() {
    let dir = scratch("dash");
    let z = calo4p_in(&dir, &["zephyr", "--zephyr", "1,4", "-o", "-"]);
    assert!(z.status.success(), "{}", stderr(&z));
    let want = json(&std::fs::read(reference("zephyr/zephyr_1_4.json")).unwrap());
    assert_eq!(json(&z.stdout)["edges"], want["edges"]);
    let model = reference("models/rbm_7x7x7x7_seed20250131.json");
    let m = model.to_str().unwrap();
    // Samples as .npy on standard output; the human summary moves to standard error.
    let s = calo4p_in(&dir, &["sample", "-m", m, "--chains", "4", "--sweeps", "5", "--burn-in", "1", "-q", "-o", "-"]);
    assert!(s.status.success(), "{}", stderr(&s));
    assert!(s.stdout.starts_with(b"\x93NUMPY"), "npy on stdout");
    assert_eq!(s.stdout.len(), 128 + 20 * 28);
    assert!(stderr(&s).contains("samples       20"), "{}", stderr(&s));
    // Statistics on standard output.
    let e = calo4p_in(&dir, &["exact", "-m", m, "-q", "--stats", "-"]);
    assert!(e.status.success(), "{}", stderr(&e));
    assert!(json(&e.stdout)["ln_z"].as_f64().is_some());
    let q = calo4p_in(&dir, &["model", "random", "--zephyr", "1,4", "--per-partition", "2", "-o", "-"]);
    assert!(q.status.success() && json(&q.stdout)["partition"].as_array().unwrap().len() == 8, "{}", stderr(&q));
    assert!(!dir.join("-").exists(), "no file named `-`");
    std::fs::remove_dir_all(dir).unwrap();
}

/// Start `calo4p` with its standard output a pipe whose reader has already gone.
fn with_closed_stdout(args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_calo4p"))
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("calo4p runs");
    drop(child.stdout.take());
    child.wait_with_output().unwrap()
}

#[test]
fn a_closed_pipe_ends_quietly() {
    let model = reference("models/rbm_7x7x7x7_seed20250131.json");
    let m = model.to_str().unwrap();
    let set = reference("samplesets/rbm_7x7x7x7_seed20250131.sa_beta1.spin.json");
    let cases: [&[&str]; 6] = [
        &["zephyr", "--zephyr", "6,4"],
        &["zephyr", "--zephyr", "2,4", "--out", "-"],
        &["exact", "--model", m],
        &["validate", "--model", m, "--samples", set.to_str().unwrap()],
        &["anneal", "--model", m, "--schedule", "linear:1,1,5", "--reads", "50", "-q"],
        &["completions", "bash"],
    ];
    for args in cases {
        let out = with_closed_stdout(args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
        assert!(!err.contains("panicked") && !err.contains("Broken pipe") && !err.contains("error"), "{args:?}: {err}");
    }
}

#[test]
fn exit_status_is_0_success_1_failed_check_2_usage_or_input() {
    let dir = scratch("exit");
    let model = reference("models/rbm_7x7x7x7_seed20250131.json");
    let m = model.to_str().unwrap();
    let code = |args: &[&str]| calo4p_in(&dir, args).status.code();
    assert_eq!(code(&["exact", "--model", m, "--json"]), Some(0));
    assert_eq!(code(&["exact", "--no-such-option"]), Some(2), "usage");
    assert_eq!(code(&["exact"]), Some(2), "missing --model");
    assert_eq!(code(&["exact", "--model", "missing.json"]), Some(2), "missing file");
    std::fs::write(dir.join("bad.json"), "{").unwrap();
    assert_eq!(code(&["sample", "--model", "bad.json"]), Some(2), "invalid file");
    assert_eq!(code(&["anneal", "--model", m, "--schedule", "cosine:1"]), Some(2), "bad schedule");
    let set = reference("samplesets/rbm_7x7x7x7_seed20250131.sa_beta1.spin.json");
    let s = set.to_str().unwrap();
    assert_eq!(code(&["validate", "-m", m, "--samples", s, "--tolerance", "0.05"]), Some(0));
    let failed = calo4p_in(&dir, &["validate", "-m", m, "--samples", s, "--tolerance", "1e-6"]);
    assert_eq!(failed.status.code(), Some(1), "{}", stderr(&failed));
    assert!(stderr(&failed).starts_with("error: validation failed"), "{}", stderr(&failed));
    for cmd in [&["--help"][..], &["sample", "--help"], &["qa", "export-ising", "--help"], &["anneal", "--help"]] {
        let help = String::from_utf8_lossy(&calo4p(cmd).stdout).into_owned();
        assert!(help.contains("Exit status:") && help.contains("2  usage or input error"), "{cmd:?}: {help}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn completions_and_one_spelling_per_idea() {
    for shell in ["bash", "zsh", "fish"] {
        let out = calo4p(&["completions", shell]);
        assert!(out.status.success(), "{shell}");
        let script = String::from_utf8_lossy(&out.stdout);
        assert!(script.contains("calo4p") && script.contains("anneal") && script.contains("--zephyr"), "{shell}");
    }
    // `zephyr --zephyr M,T` as `model random` spells it; the old `--m/--t` still work.
    let (new, old) = (calo4p(&["zephyr", "--zephyr", "2,4"]), calo4p(&["zephyr", "--m", "2", "--t", "4"]));
    assert!(new.status.success() && new.stdout == old.stdout);
    assert_eq!(calo4p(&["zephyr", "--zephyr", "2,4", "--m", "2", "--t", "4"]).status.code(), Some(2));
    // The same short flags everywhere: -m model, -o out, -s seed, -q quiet.
    for cmd in [
        &["sample", "--help"][..],
        &["anneal", "--help"],
        &["exact", "--help"],
        &["validate", "--help"],
        &["qa", "import", "--help"],
        &["qa", "beta", "--help"],
        &["acf", "--help"],
        &["precision", "--help"],
    ] {
        let help = String::from_utf8_lossy(&calo4p(cmd).stdout).into_owned();
        assert!(help.contains("-m, --model"), "{cmd:?}");
        // An option listed without its short flag starts its line with the long one.
        for long in ["--seed", "--quiet", "--out", "--model"] {
            assert!(
                !help.lines().any(|l| l.trim_start().starts_with(&format!("{long} "))),
                "{cmd:?} {long} has no short flag"
            );
        }
    }
    // `--plot` is the one spelling (validate's old `--plots` stays as an alias).
    assert!(String::from_utf8_lossy(&calo4p(&["validate", "--help"]).stdout).contains("--plot <DIR>"));
}

#[test]
fn anneal_reads_are_a_sample_set_that_qa_and_validate_take() {
    let dir = scratch("anneal");
    let model = reference("models/rbm_7x7x7x7_seed20250131.json");
    let m = model.to_str().unwrap();
    // Held at beta 1 for 40 sweeps: the reads are (nearly) a Boltzmann sample at beta 1.
    let args = ["anneal", "-m", m, "--schedule", "linear:1,1,40", "--reads", "4000", "-s", "3", "-q", "-o"];
    let run = |out: &str| {
        let o = calo4p_in(&dir, &[&args[..], &[out]].concat());
        assert!(o.status.success(), "{}", stderr(&o));
        std::fs::read(dir.join(out)).unwrap()
    };
    let bytes = run("reads.json");
    assert_eq!(bytes, run("again.json"), "same seed, same bytes");
    let set = json(&bytes);
    let file = json(&std::fs::read(&model).unwrap());
    assert_eq!(set["variable_type"], "BINARY");
    assert_eq!(set["variable_labels"], file["qubits"], "labelled by qubit, as an annealer labels them");
    let counts: u64 =
        set["vectors"]["num_occurrences"]["data"].as_array().unwrap().iter().map(|c| c.as_u64().unwrap()).sum();
    assert_eq!(counts, 4000);
    // Energies are E(z) of each row, lowest first.
    let energies: Vec<f64> =
        set["vectors"]["energy"]["data"].as_array().unwrap().iter().map(|e| e.as_f64().unwrap()).collect();
    assert!(energies.windows(2).all(|w| w[0] <= w[1]));
    let row0: Vec<u64> =
        set["sample_data"]["data"][0].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
    let mut e = 0.0;
    for (i, &z) in row0.iter().enumerate() {
        e -= file["bias"][i].as_f64().unwrap() * z as f64;
    }
    for edge in file["edges"].as_array().unwrap() {
        let (i, j) = (edge[0].as_u64().unwrap() as usize, edge[1].as_u64().unwrap() as usize);
        e -= edge[2].as_f64().unwrap() * (row0[i] * row0[j]) as f64;
    }
    assert!((e - energies[0]).abs() < 1e-9, "{e} vs {}", energies[0]);
    // qa import weighs rows by num_occurrences; validate takes the file and the exact answers agree.
    let imported = calo4p_in(&dir, &["qa", "import", "reads.json", "-m", m, "--stats", "stats.json", "-q"]);
    assert!(imported.status.success(), "{}", stderr(&imported));
    let stats = json(&std::fs::read(dir.join("stats.json")).unwrap());
    assert_eq!(stats["num_samples"].as_f64(), Some(4000.0), "{stats}");
    let ok = calo4p_in(&dir, &["validate", "-m", m, "--samples", "reads.json", "--tolerance", "0.05", "--max-z", "5"]);
    assert_eq!(ok.status.code(), Some(0), "{}{}", String::from_utf8_lossy(&ok.stdout), stderr(&ok));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_fast_quench_freezes_out_below_its_final_beta() {
    let dir = scratch("quench");
    let model = reference("models/rbm_7x7x7x7_seed20250131.json");
    let m = model.to_str().unwrap();
    let beta_eff = |schedule: &str| {
        let a = calo4p_in(&dir, &["anneal", "-m", m, "--schedule", schedule, "--reads", "3000", "-q", "-o", "r.json"]);
        assert!(a.status.success(), "{}", stderr(&a));
        let b =
            calo4p_in(&dir, &["qa", "beta", "r.json", "-m", m, "--bootstrap", "0", "--method", "moments", "--json"]);
        assert!(b.status.success(), "{}", stderr(&b));
        json(&b.stdout)["moment_matching"]["beta"].as_f64().unwrap()
    };
    let (quench, slow) = (beta_eff("geometric:0.05,4,3"), beta_eff("geometric:0.05,4,200"));
    assert!(quench < 3.2, "a 3-sweep quench to beta 4 froze out at beta_eff {quench}");
    assert!((slow - 4.0).abs() < 0.4, "a 200-sweep anneal reaches beta_eff {slow}");
    std::fs::remove_dir_all(dir).unwrap();
}

/// A β no sampler can use (NaN, infinite, negative) is a usage error naming the option, in
/// every command that takes one; before, `validate --beta NaN` passed its tolerance.
#[test]
fn non_finite_or_negative_beta_is_refused() {
    let model = reference("models/rbm_7x7x7x7_seed20250131.json");
    let model = model.to_str().unwrap();
    let reads = reference("samplesets/rbm_7x7x7x7_seed20250131.sa_beta1.spin.json");
    let reads = reads.to_str().unwrap();
    for beta in ["--beta=NaN", "--beta=inf", "--beta=-1"] {
        for args in [
            vec!["exact", "-m", model, beta],
            vec!["validate", "-m", model, "--samples", reads, "--tolerance", "1", beta],
            vec!["sample", "-m", model, "--sweeps", "1", "--burn-in", "0", "-q", "-o", "-", beta],
            vec!["qa", "export-ising", "-m", model, "-o", "-", beta],
        ] {
            let o = calo4p(&args);
            assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
            assert!(stderr(&o).contains("--beta"), "{args:?}: {}", stderr(&o));
            assert!(o.stdout.is_empty(), "{args:?} wrote a result");
        }
    }
}

/// Issue 11's small untruths: a model with no units, a unit clamped to both values, and a
/// statistics file with no samples behind it are input errors (exit 2), not results.
#[test]
fn contradictory_or_empty_inputs_are_refused() {
    let dir = scratch("contradictions");
    let model = reference("models/rbm_7x7x7x7_seed20250131.json");
    let model = model.to_str().unwrap();
    let out = dir.join("m.json");
    let o = calo4p(&["model", "random", "--zephyr", "1,4", "--per-partition", "0", "-o", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--per-partition") && !out.exists());
    let o = calo4p(&["sample", "-m", model, "--clamp", "0=1,0=0", "--sweeps", "1", "-q", "-o", "-"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("clamped twice"), "{}", stderr(&o));
    let stats = dir.join("s.json");
    let o =
        calo4p(&["sample", "-m", model, "--sweeps", "20", "--burn-in", "0", "-q", "--stats", stats.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut s = json(&std::fs::read(&stats).unwrap());
    s["effective_samples"] = serde_json::json!(0.0);
    std::fs::write(&stats, serde_json::to_vec(&s).unwrap()).unwrap();
    let o = calo4p(&["validate", "-m", model, "--samples", stats.to_str().unwrap(), "--max-z", "3"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("effective_samples"), "{}", stderr(&o));
}
