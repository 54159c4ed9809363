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
    // Fields beyond the field register are counted in the statistics file: unit 0's field
    // is 200 with both neighbours on, past Q8.8's 127.996; the float engine has no count.
    let hot = dir.join("hot-model.json");
    std::fs::write(&hot, r#"{"partition": [0, 1, 1], "bias": [0, 0, 0], "edges": [[0, 1, 100.0], [0, 2, 100.0]]}"#)
        .unwrap();
    let (out, stats, _) = sample(&dir, "hot", hot.to_str().unwrap(), &["--engine", "fixed"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(json(&stats)["saturations"].as_u64().unwrap() > 0, "{}", String::from_utf8_lossy(&stats));
    let (_, stats, _) = sample(&dir, "hot-float", hot.to_str().unwrap(), &["--engine", "float"]);
    assert!(json(&stats).get("saturations").is_none());
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

/// A dimod SampleSet (BINARY, unpacked int8 rows) with these labels, rows and counts, and no
/// energies: what an Ocean user saves from `dimod.SampleSet.from_samples`.
fn binary_sample_set(labels: serde_json::Value, rows: &[Vec<u8>], counts: &[u64]) -> serde_json::Value {
    let n = rows.first().map_or(0, Vec::len);
    serde_json::json!({
        "type": "SampleSet", "version": {"sampleset_schema": "3.2.0"},
        "num_variables": n, "num_rows": rows.len(), "sample_packed": false, "sample_type": "int8",
        "sample_data": {"type": "array", "data": rows, "data_type": "int8", "shape": [rows.len(), n], "use_bytes": false},
        "vectors": {"num_occurrences": {"type": "array", "data": counts, "data_type": "int64", "shape": [rows.len()],
                    "use_bytes": false}},
        "variable_labels": labels, "variable_type": "BINARY", "info": {}
    })
}

/// The rows of a 2-D uint8 `.npy` file (as `calo4p sample --out` writes) and its columns.
fn read_u8_npy(path: &Path) -> (Vec<Vec<u8>>, usize) {
    let b = std::fs::read(path).unwrap();
    let header_len = u16::from_le_bytes([b[8], b[9]]) as usize;
    let header = String::from_utf8_lossy(&b[10..10 + header_len]).into_owned();
    assert!(header.contains("'|u1'"), "{header}");
    let shape = &header[header.find("'shape': (").unwrap() + 10..];
    let cols: usize = shape.split(',').nth(1).unwrap().trim().trim_end_matches(')').parse().unwrap();
    (b[10 + header_len..].chunks(cols).map(<[u8]>::to_vec).collect(), cols)
}

fn write_u8_npy(path: &Path, rows: &[Vec<u8>]) {
    let mut header =
        format!("{{'descr': '|u1', 'fortran_order': False, 'shape': ({}, {}), }}", rows.len(), rows[0].len());
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut b = b"\x93NUMPY\x01\x00".to_vec();
    b.extend_from_slice(&(header.len() as u16).to_le_bytes());
    b.extend_from_slice(header.as_bytes());
    rows.iter().for_each(|r| b.extend_from_slice(r));
    std::fs::write(path, b).unwrap();
}

/// ⟨E⟩ of `qa import --json` (exit 0 asserted); standard error comes back for the notes.
fn imported_energy(dir: &Path, args: &[&str]) -> (f64, String) {
    let mut all = vec!["qa", "import"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--json", "-q"]);
    let o = calo4p_in(dir, &all);
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    (json(&o.stdout)["energy_mean"].as_f64().unwrap(), stderr(&o))
}

/// Issue 11's worst item: a model that fills Z(1,4) has qubits 0..47, so labels 0..47 read both as
/// unit indices and as qubits. Before, `--labels auto` took them as qubits: ⟨E⟩ -1.99 instead
/// of -43.60, silently. Now the file's energies decide (stated), else the mean energy (Gibbs'
/// inequality, stated), else it is an error that asks for `--labels unit|qubit`.
#[test]
fn labels_that_read_two_ways_are_decided_by_stated_evidence_or_refused() {
    let dir = scratch("ambiguous-labels");
    let made = calo4p_in(
        &dir,
        &["model", "random", "--zephyr", "1,4", "--per-partition", "12", "--seed", "5", "-o", "m.json"],
    );
    assert!(made.status.success(), "{}", stderr(&made));
    let a = calo4p_in(
        &dir,
        &["anneal", "-m", "m.json", "--schedule", "geometric:0.05,1,200", "--reads", "2000", "-q", "-o", "reads.json"],
    );
    assert!(a.status.success(), "{}", stderr(&a));
    let (truth, note) = imported_energy(&dir, &["reads.json", "-m", "m.json"]);
    assert!(note.contains("labels read as qubits"), "{note}");
    let qubits: Vec<u64> =
        serde_json::from_value(json(&std::fs::read(dir.join("m.json")).unwrap())["qubits"].clone()).unwrap();
    let mut set = json(&std::fs::read(dir.join("reads.json")).unwrap());
    let units: Vec<usize> = set["variable_labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| qubits.iter().position(|&q| q == l.as_u64().unwrap()).unwrap())
        .collect();
    set["variable_labels"] = serde_json::json!(units);
    std::fs::write(dir.join("units.json"), serde_json::to_vec(&set).unwrap()).unwrap();
    let (e, note) = imported_energy(&dir, &["units.json", "-m", "m.json"]);
    assert!((e - truth).abs() < 1e-9, "unit-labelled reads give <E> {e}, the reads {truth}");
    assert!(note.contains("labels read as unit indices") && note.contains("energies are"), "{note}");
    set["vectors"].as_object_mut().unwrap().remove("energy");
    std::fs::write(dir.join("units-no-energy.json"), serde_json::to_vec(&set).unwrap()).unwrap();
    let (e, note) = imported_energy(&dir, &["units-no-energy.json", "-m", "m.json"]);
    assert!((e - truth).abs() < 1e-9 && note.contains("mean energy"), "{e} vs {truth}: {note}");
    let (e, _) = imported_energy(&dir, &["units.json", "-m", "m.json", "--labels", "unit"]);
    assert!((e - truth).abs() < 1e-9);
    // Uniform rows carry no evidence either way: refused, naming the way out.
    let mut x = 12345u64;
    let rows: Vec<Vec<u8>> = (0..400)
        .map(|_| {
            (0..48)
                .map(|_| {
                    x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    (x >> 63) as u8
                })
                .collect()
        })
        .collect();
    let flat = binary_sample_set(serde_json::json!((0..48).collect::<Vec<_>>()), &rows, &vec![1; 400]);
    std::fs::write(dir.join("flat.json"), serde_json::to_vec(&flat).unwrap()).unwrap();
    let o = calo4p_in(&dir, &["qa", "import", "flat.json", "-m", "m.json", "-q"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    for want in ["flat.json", "variable_labels", "--labels unit", "--labels qubit"] {
        assert!(stderr(&o).contains(want), "{want}: {}", stderr(&o));
    }
    assert!(o.stdout.is_empty());
    let o = calo4p_in(&dir, &["validate", "-m", "m.json", "--samples", "flat.json"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    // validate takes the same way out.
    let o = calo4p_in(
        &dir,
        &["validate", "-m", "m.json", "--samples", "flat.json", "--reference", "units.json", "--labels", "unit", "-q"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("unit means: max |bias|"));
    imported_energy(&dir, &["flat.json", "-m", "m.json", "--labels", "unit"]);
    std::fs::remove_dir_all(dir).unwrap();
}

/// A `.npy` of reads has no labels: its columns are units in order or the qubits in ascending
/// order. Before, a file in qubit order was read in unit order without a word (and its import
/// said "2000 distinct" of repeated rows and "weighting num_occurrences" with no counts).
#[test]
fn npy_columns_in_qubit_order_are_decided_by_stated_evidence() {
    let dir = scratch("npy-columns");
    let made = calo4p_in(
        &dir,
        &["model", "random", "--zephyr", "1,4", "--per-partition", "12", "--seed", "5", "-o", "m.json"],
    );
    assert!(made.status.success(), "{}", stderr(&made));
    let s = calo4p_in(
        &dir,
        &["sample", "-m", "m.json", "--chains", "40", "--sweeps", "50", "--burn-in", "50", "-q", "-o", "s.npy"],
    );
    assert!(s.status.success(), "{}", stderr(&s));
    let (truth, _) = imported_energy(&dir, &["s.npy", "-m", "m.json", "--labels", "unit"]);
    let (e, note) = imported_energy(&dir, &["s.npy", "-m", "m.json"]);
    assert!((e - truth).abs() < 1e-9 && note.contains("labels read as unit indices"), "{e} vs {truth}: {note}");
    let qubits: Vec<u64> =
        serde_json::from_value(json(&std::fs::read(dir.join("m.json")).unwrap())["qubits"].clone()).unwrap();
    let mut order: Vec<usize> = (0..qubits.len()).collect();
    order.sort_by_key(|&i| qubits[i]);
    let (rows, cols) = read_u8_npy(&dir.join("s.npy"));
    assert_eq!(cols, 48);
    let by_qubit: Vec<Vec<u8>> = rows.iter().map(|r| order.iter().map(|&i| r[i]).collect()).collect();
    write_u8_npy(&dir.join("q.npy"), &by_qubit);
    let (e, note) = imported_energy(&dir, &["q.npy", "-m", "m.json"]);
    assert!((e - truth).abs() < 1e-9 && note.contains("labels read as qubits"), "{e} vs {truth}: {note}");
    let (e, _) = imported_energy(&dir, &["q.npy", "-m", "m.json", "--labels", "qubit"]);
    assert!((e - truth).abs() < 1e-9);
    // Ten rows a hundred times: the import says how many are distinct, and that nothing weighs them.
    let tiled: Vec<Vec<u8>> = (0..1000).map(|k| rows[k % 10].clone()).collect();
    let distinct = rows[..10].iter().collect::<std::collections::HashSet<_>>().len();
    write_u8_npy(&dir.join("t.npy"), &tiled);
    let o = calo4p_in(&dir, &["qa", "import", "t.npy", "-m", "m.json", "--labels", "unit", "-q"]);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(out.contains(&format!("1000 ({distinct} distinct)")), "{out}");
    assert!(out.contains("the file has no counts") && !out.contains("num_occurrences"), "{out}");
    std::fs::remove_dir_all(dir).unwrap();
}

/// Issue 10 item 6: string labels map through an explicit label map.
#[test]
fn string_labels_read_through_a_label_map() {
    let dir = scratch("label-map");
    let made =
        calo4p_in(&dir, &["model", "random", "--zephyr", "1,4", "--per-partition", "7", "--seed", "2", "-o", "m.json"]);
    assert!(made.status.success(), "{}", stderr(&made));
    let a = calo4p_in(
        &dir,
        &["anneal", "-m", "m.json", "--schedule", "geometric:0.05,1,100", "--reads", "500", "-q", "-o", "reads.json"],
    );
    assert!(a.status.success(), "{}", stderr(&a));
    let (truth, _) = imported_energy(&dir, &["reads.json", "-m", "m.json"]);
    let mut set = json(&std::fs::read(dir.join("reads.json")).unwrap());
    let qubits: Vec<u64> = set["variable_labels"].as_array().unwrap().iter().map(|l| l.as_u64().unwrap()).collect();
    set["variable_labels"] = serde_json::json!(qubits.iter().map(|q| format!("q{q}")).collect::<Vec<_>>());
    std::fs::write(dir.join("named.json"), serde_json::to_vec(&set).unwrap()).unwrap();
    let o = calo4p_in(&dir, &["qa", "import", "named.json", "-m", "m.json", "-q"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("'q") && stderr(&o).contains("--label-map"), "{}", stderr(&o));
    let map: serde_json::Map<String, serde_json::Value> =
        qubits.iter().map(|&q| (format!("q{q}"), serde_json::json!(q))).collect();
    std::fs::write(dir.join("map.json"), serde_json::to_vec(&map).unwrap()).unwrap();
    for extra in [&[][..], &["--labels", "qubit"][..]] {
        let mut args = vec!["named.json", "-m", "m.json", "--label-map", "map.json"];
        args.extend_from_slice(extra);
        let (e, _) = imported_energy(&dir, &args);
        assert!((e - truth).abs() < 1e-9, "{extra:?}: {e} vs {truth}");
    }
    let beta = calo4p_in(
        &dir,
        &["qa", "beta", "named.json", "-m", "m.json", "--label-map", "map.json", "--bootstrap", "0", "--json", "-q"],
    );
    assert!(beta.status.success(), "{}", stderr(&beta));
    let mut short = map.clone();
    short.remove(&format!("q{}", qubits[3]));
    std::fs::write(dir.join("short.json"), serde_json::to_vec(&short).unwrap()).unwrap();
    let o = calo4p_in(&dir, &["qa", "import", "named.json", "-m", "m.json", "--label-map", "short.json", "-q"]);
    assert_eq!(o.status.code(), Some(2));
    let want = format!("'q{}' are not in the label map", qubits[3]);
    assert!(stderr(&o).contains(&want), "{}", stderr(&o));
    std::fs::remove_dir_all(dir).unwrap();
}

/// Weights near ±1e308 overflow every energy: each command that reports numbers says so and
/// fails (exit 2) instead of printing NaN, 0.00e0 errors or a rank of 0.
#[test]
fn non_finite_results_are_errors() {
    let dir = scratch("non-finite");
    let made =
        calo4p_in(&dir, &["model", "random", "--zephyr", "1,4", "--per-partition", "3", "--seed", "2", "-o", "m.json"]);
    assert!(made.status.success(), "{}", stderr(&made));
    let a = calo4p_in(
        &dir,
        &["anneal", "-m", "m.json", "--schedule", "geometric:0.05,1,20", "--reads", "100", "-q", "-o", "reads.json"],
    );
    assert!(a.status.success(), "{}", stderr(&a));
    let mut m = json(&std::fs::read(dir.join("m.json")).unwrap());
    for (k, e) in m["edges"].as_array_mut().unwrap().iter_mut().enumerate() {
        e[2] = serde_json::json!(if k % 2 == 0 { 1e308 } else { -1e308 });
    }
    for (k, b) in m["bias"].as_array_mut().unwrap().iter_mut().enumerate() {
        *b = serde_json::json!(if k % 2 == 0 { -1e308 } else { 1e308 });
    }
    std::fs::write(dir.join("huge.json"), serde_json::to_vec(&m).unwrap()).unwrap();
    for args in [
        &["exact", "-m", "huge.json"][..],
        &["precision", "-m", "huge.json", "--formats", "Q8.8", "--lut-bits", "8", "--samples", "100", "-q"],
        &["svd", "-m", "huge.json"],
        &["validate", "-m", "huge.json", "--samples", "exact", "--tolerance", "1"],
        &["qa", "import", "reads.json", "-m", "huge.json", "-q"],
        &["qa", "beta", "reads.json", "-m", "huge.json", "-q", "--bootstrap", "0"],
        &["anneal", "-m", "huge.json", "--schedule", "linear:1,1,2", "--reads", "4", "-q", "-o", "x.json"],
    ] {
        let o = calo4p_in(&dir, args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains("non-finite"), "{args:?}: {}", stderr(&o));
        assert!(o.stdout.is_empty(), "{args:?} printed {}", String::from_utf8_lossy(&o.stdout));
    }
    assert!(!dir.join("x.json").exists());
    std::fs::remove_dir_all(dir).unwrap();
}

/// `qa export-ising` checks the model against its declared Zephyr graph: before, a qubit used
/// twice lost one h, and couplers that do not exist, qubit 10^6 and Z(0, 4) were exported.
#[test]
fn export_ising_checks_the_model_against_its_zephyr_graph() {
    let dir = scratch("export-layout");
    let made =
        calo4p_in(&dir, &["model", "random", "--zephyr", "1,4", "--per-partition", "3", "--seed", "2", "-o", "m.json"]);
    assert!(made.status.success(), "{}", stderr(&made));
    let z = calo4p(&["zephyr", "--zephyr", "1,4"]);
    let couplers: std::collections::HashSet<(u64, u64)> = json(&z.stdout)["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (e[0].as_u64().unwrap().min(e[1].as_u64().unwrap()), e[0].as_u64().unwrap().max(e[1].as_u64().unwrap()))
        })
        .collect();
    let m = json(&std::fs::read(dir.join("m.json")).unwrap());
    let q = |i: usize| m["qubits"][i].as_u64().unwrap();
    let p = |i: usize| m["partition"][i].as_u64().unwrap();
    let (i, j) = (0..12)
        .flat_map(|i| (i + 1..12).map(move |j| (i, j)))
        .find(|&(i, j)| p(i) != p(j) && !couplers.contains(&(q(i).min(q(j)), q(i).max(q(j)))))
        .unwrap();
    let mut cases = Vec::new();
    let mut dup = m.clone();
    dup["qubits"][1] = dup["qubits"][0].clone();
    cases.push(("dup.json", dup, "are both qubit".to_owned()));
    let mut far = m.clone();
    far["qubits"][2] = serde_json::json!(1_000_000);
    cases.push(("far.json", far, "`qubits[2]` is 1000000, not a qubit of Z(1, 4)".to_owned()));
    let mut empty = m.clone();
    empty["zephyr"]["m"] = serde_json::json!(0);
    cases.push(("m0.json", empty, "m = 0".to_owned()));
    let mut loose = m.clone();
    loose["edges"].as_array_mut().unwrap().push(serde_json::json!([i, j, 0.5]));
    cases.push(("loose.json", loose, format!("on qubits {} and {}, which no coupler of Z(1, 4)", q(i), q(j))));
    for (name, model, want) in cases {
        std::fs::write(dir.join(name), serde_json::to_vec(&model).unwrap()).unwrap();
        let o = calo4p_in(&dir, &["qa", "export-ising", "-m", name, "-o", "ising.json"]);
        assert_eq!(o.status.code(), Some(2), "{name}: {}", stderr(&o));
        assert!(stderr(&o).contains(name) && stderr(&o).contains(&want), "{name}: {}", stderr(&o));
        assert!(!dir.join("ising.json").exists(), "{name} was exported");
    }
    let o = calo4p_in(&dir, &["qa", "export-ising", "-m", "m.json", "-o", "ising.json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    std::fs::remove_dir_all(dir).unwrap();
}

/// Issue 11's small untruths: counts beyond 2^53 are refused alike in CSV and JSON (CSV took
/// 1e23, and num_samples saturated); `qa beta` refuses one energy and `--max-rows 0`;
/// `data evaluate` refuses a smallest FPD batch above the largest.
#[test]
fn counts_and_sizes_that_cannot_be_true_are_refused() {
    let dir = scratch("untruths");
    let made =
        calo4p_in(&dir, &["model", "random", "--zephyr", "1,4", "--per-partition", "3", "--seed", "2", "-o", "m.json"]);
    assert!(made.status.success(), "{}", stderr(&made));
    let header: Vec<String> = (0..12).map(|i| i.to_string()).collect();
    let zeros = ["0"; 12].join(",");
    std::fs::write(dir.join("big.csv"), format!("{},num_occurrences\n{zeros},1e23\n", header.join(","))).unwrap();
    let o = calo4p_in(&dir, &["qa", "import", "big.csv", "-m", "m.json", "--labels", "unit", "-q"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("big.csv") && stderr(&o).contains("num_occurrences") && stderr(&o).contains("2^53"));
    let rows = vec![vec![0u8; 12], vec![1u8; 12]];
    let set = binary_sample_set(serde_json::json!((0..12).collect::<Vec<_>>()), &rows, &[1 << 60, 1]);
    std::fs::write(dir.join("big.json"), serde_json::to_vec(&set).unwrap()).unwrap();
    let o = calo4p_in(&dir, &["qa", "import", "big.json", "-m", "m.json", "--labels", "unit", "-q"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("num_occurrences.data[0]") && stderr(&o).contains("2^53"), "{}", stderr(&o));
    let halves = binary_sample_set(serde_json::json!((0..12).collect::<Vec<_>>()), &rows, &[1 << 52, 1 << 52]);
    std::fs::write(dir.join("halves.json"), serde_json::to_vec(&halves).unwrap()).unwrap();
    let o = calo4p_in(&dir, &["qa", "import", "halves.json", "-m", "m.json", "--labels", "unit", "-q"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let one = binary_sample_set(serde_json::json!((0..12).collect::<Vec<_>>()), &rows[..1], &[1000]);
    std::fs::write(dir.join("one.json"), serde_json::to_vec(&one).unwrap()).unwrap();
    let o = calo4p_in(&dir, &["qa", "beta", "one.json", "-m", "m.json", "--labels", "unit", "-q"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("at least 2 distinct energies") && o.stdout.is_empty(), "{}", stderr(&o));
    let a = calo4p_in(
        &dir,
        &["anneal", "-m", "m.json", "--schedule", "geometric:0.05,1,20", "--reads", "200", "-q", "-o", "r.json"],
    );
    assert!(a.status.success(), "{}", stderr(&a));
    let o = calo4p_in(&dir, &["qa", "beta", "r.json", "-m", "m.json", "--max-rows", "0", "-q"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--max-rows 0"), "{}", stderr(&o));
    for (seed, name) in [("1", "a.h5"), ("2", "b.h5")] {
        let s = calo4p_in(
            &dir,
            &["data", "synth", "--geometry", "ds1-photons", "--n", "60", "--seed", seed, "--out", name],
        );
        assert!(s.status.success(), "{}", stderr(&s));
    }
    let o = calo4p_in(
        &dir,
        &[
            "data",
            "evaluate",
            "--reference",
            "a.h5",
            "--generated",
            "b.h5",
            "--geometry",
            "ds1-photons",
            "--fpd-min-samples",
            "50",
            "--fpd-max-samples",
            "20",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--fpd-min-samples 50 exceeds"), "{}", stderr(&o));
    std::fs::remove_dir_all(dir).unwrap();
}

// Issue 11 (allocation aborts, unbounded memory) and issue 10 (h5py `libver='latest'`,
// `--quiet` on `data`).

fn data_fixture(rel: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/data/")).join(rel)
}

/// Runs `args`, which must be refused as needing more memory than the machine has (exit 2,
/// no panic, no abort); its standard error.
fn refused_for_memory(args: &[&str]) -> String {
    let out = calo4p(args);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert!(err.contains("of memory, more than the") && !err.contains("panicked"), "{args:?}: {err}");
    err
}

#[test]
fn requests_beyond_memory_are_refused_with_their_size() {
    let dir = scratch("memory");
    let model = reference("models/rbm_7x7x7x7_seed20250131.json");
    let err = refused_for_memory(&["sample", "-m", model.to_str().unwrap(), "--chains", "1000000000000", "-q"]);
    assert!(err.contains("1000000000000 chains (--chains) of 28 units: needs 3.8 TB of memory"), "{err}");

    // Four partitions of 60,000 units: six dense 60,000 x 60,000 blocks and a working copy.
    let n = 60_000;
    let partition: Vec<String> = (0..4 * n).map(|i| (i / n).to_string()).collect();
    let wide = dir.join("wide.json");
    let text = format!(
        r#"{{"partition": [{}], "bias": [{}], "edges": [[0, {n}, 0.5]]}}"#,
        partition.join(","),
        vec!["0"; 4 * n].join(",")
    );
    std::fs::write(&wide, text).unwrap();
    let err = refused_for_memory(&["svd", "-m", wide.to_str().unwrap()]);
    assert!(err.contains("wide.json: needs 202 GB of memory"), "{err}");

    let (r, g) = (dir.join("r.h5"), dir.join("g.h5"));
    for (path, seed) in [(&r, "1"), (&g, "2")] {
        let p = path.to_str().unwrap();
        let out = calo4p(&["data", "synth", "--geometry", "ds1-photons", "--n", "30", "-s", seed, "-o", p, "-q"]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let (r, g) = (r.to_str().unwrap(), g.to_str().unwrap());
    let evaluate = ["data", "evaluate", "--reference", r, "--generated", g, "--geometry", "ds1-photons", "-q"];
    let err = refused_for_memory(&[&evaluate[..], &["--kpd-batch-size", "10000000000"]].concat());
    assert!(err.contains("KPD with 10 batches of 10000000000 showers (--kpd-batches, --kpd-batch-size): needs 1.6 TB"));
    let err = refused_for_memory(&[&evaluate[..], &["--fpd-points", "1000000000000"]].concat());
    assert!(err.contains("FPD with 20 batches at each of 1000000000000 batch sizes"), "{err}");

    // Z(11000, 4) has 3.9e9 qubits and 3.9e10 couplers (it grew without limit before).
    let err = refused_for_memory(&["zephyr", "--zephyr", "11000,4"]);
    assert!(err.contains("Z(11000, 4) as JSON (3872176000 nodes, 38719823976 edges): needs 3.0 TB"), "{err}");

    // Synth streams (a batch in memory at a time, data/hdf5/stream.rs), so only a batch that
    // does not fit is refused: 10^5 threads' batches of ds3 showers.
    let ds3 = dir.join("ds3.h5");
    let err = refused_for_memory(&[
        "data",
        "synth",
        "--geometry",
        "ds3",
        "--n",
        "10000000",
        "-j",
        "100000",
        "-o",
        ds3.to_str().unwrap(),
    ]);
    assert!(err.contains("showers of 40500 voxels (ds3) on 100000 threads: needs") && err.contains("(-j)"), "{err}");
    assert!(!ds3.exists());

    // A corrupt HDF5 header (the fuzzing finding) claims 339,302,416,752 voxels per shower.
    let finding = concat!(env!("CARGO_MANIFEST_DIR"), "/../fuzz/regressions/hdf5/finding-fill-value-5tb-allocation.h5");
    let err = refused_for_memory(&["data", "info", finding, "-q"]);
    assert!(err.contains("dataset 'showers' rows 0..10 of 339302416752 voxels each: needs"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn endless_or_huge_inputs_are_refused_not_read_without_end() {
    let dir = scratch("endless");
    let out = calo4p(&["sample", "-m", "/dev/zero", "-q"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("model file /dev/zero goes on past 100 MB (reading stopped there)"),
        "{}",
        stderr(&out)
    );
    let big = dir.join("big.json");
    std::fs::write(&big, vec![b' '; 100_000_001]).unwrap();
    let out = calo4p(&["exact", "-m", big.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("big.json holds 100000001 bytes, more than the 100 MB"), "{}", stderr(&out));
    // An .npy sample file that is a device: the header is read first.
    let zeros = dir.join("zeros.npy");
    std::os::unix::fs::symlink("/dev/zero", &zeros).unwrap();
    let model = reference("models/rbm_7x7x7x7_seed20250131.json");
    let out = calo4p(&["validate", "-m", model.to_str().unwrap(), "--samples", zeros.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("missing the \\x93NUMPY magic"), "{}", stderr(&out));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn files_h5py_wrote_with_libver_latest_are_read() {
    let want = json(&std::fs::read(data_fixture("latest/latest.expected.json")).unwrap());
    let incident: Vec<f64> =
        want["incident_energies"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect();
    let lo = incident.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = incident.iter().copied().fold(0.0, f64::max);
    for name in ["latest_chunked.h5", "latest_resizable.h5", "latest_contiguous.h5"] {
        let path = data_fixture(&format!("latest/{name}"));
        let out = calo4p(&["data", "info", path.to_str().unwrap(), "--geometry", "ds1-photons", "--json", "-q"]);
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        let info = json(&out.stdout);
        assert_eq!((info["n"].as_u64(), info["voxels"].as_u64()), (Some(13), Some(368)), "{name}");
        assert_eq!(info["incident_range"], serde_json::json!([lo, hi]), "{name}");
    }
    // The same showers, chunked and contiguous: every separation power is 0.
    let (a, b) = (data_fixture("latest/latest_chunked.h5"), data_fixture("latest/latest_contiguous.h5"));
    let out = calo4p(&[
        "data",
        "evaluate",
        "--reference",
        a.to_str().unwrap(),
        "--generated",
        b.to_str().unwrap(),
        "--geometry",
        "ds1-photons",
        "--json",
        "--quiet",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    for f in json(&out.stdout)["features"].as_array().unwrap() {
        assert_eq!(f["separation_power"].as_f64(), Some(0.0), "{}", f["spec"]);
    }
}

#[test]
fn data_commands_with_progress_take_quiet() {
    for sub in ["synth", "evaluate", "info"] {
        let out = calo4p(&["data", sub, "--help"]);
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(help.contains("-q, --quiet"), "data {sub} --help:\n{help}");
    }
}

/// Fixed-point settings with the float engine were silently ignored; `acf` refuses them now.
#[test]
fn fixed_point_options_with_the_float_engine_are_refused() {
    let model = reference("models/rbm_7x7x7x7_seed20250131.json");
    let m = model.to_str().unwrap();
    let o = calo4p(&["acf", "-m", m, "--format", "Q4.4", "--lut-bits", "8", "--chains", "4", "--sweeps", "20", "-q"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("--format, --lut-bits set the fixed-point engine, but --engine is float"),
        "{}",
        stderr(&o)
    );
    let o = calo4p(&["acf", "-m", m, "--engine", "fixed", "--format", "Q4.4", "--chains", "4", "--sweeps", "20", "-q"]);
    assert!(o.status.success(), "{}", stderr(&o));
}
