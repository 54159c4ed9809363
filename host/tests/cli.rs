//! The command line: outputs against the reference files, determinism, and bad input.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn calo4p(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_calo4p")).args(args).output().expect("calo4p runs")
}

fn reference(rel: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/reference/")).join(rel)
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
        let out = calo4p(&["zephyr", "--m", &m.to_string(), "--t", &t.to_string()]);
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
    assert!(!fail.status.success());
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
