//! `calo4p qa import` and `qa export-ising`: annealer samples against exact answers, every
//! input encoding against numpy, and the loop export -> dwave-samplers -> import.

use calo4p::exact::exact;
use calo4p::model_file::ModelFile;
use calo4p::qa::{self, QaArgs};
use calo4p::samples::{labels::LabelMode, sampleset};
use calo4p::statistics::Statistics;
use clap::Parser;
use std::path::{Path, PathBuf};

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    qa: QaArgs,
}

fn cli(args: &[&str]) -> anyhow::Result<()> {
    let argv = std::iter::once("qa").chain(args.iter().copied());
    qa::run(Cli::try_parse_from(argv)?.qa)
}

fn reference(rel: &str) -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/reference")).join(rel)
}

fn fixture(name: &str) -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/qa")).join(name)
}

const MODEL: &str = "models/rbm_7x7x7x7_seed20250131.json";
const SAMPLES: &str = "samplesets/rbm_7x7x7x7_seed20250131.sa_beta1.spin.json";

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("calo4p-qa-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn max_dev(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max)
}

/// "Weighing the samples fixed the discrepancy": weighted means within 0.015 of exact,
/// unweighted ones off by more than that.
#[test]
fn reference_sample_set_weighted_and_unweighted() {
    let dir = temp_dir("reference");
    let (model, samples) = (reference(MODEL), reference(SAMPLES));
    let weighted = dir.join("weighted.json");
    let unweighted = dir.join("unweighted.json");
    let m = model.to_str().unwrap();
    cli(&["import", samples.to_str().unwrap(), "--model", m, "--stats", weighted.to_str().unwrap(), "--json"]).unwrap();
    cli(&["import", samples.to_str().unwrap(), "--model", m, "--unweighted", "--stats", unweighted.to_str().unwrap()])
        .unwrap();
    let exact = Statistics::load(&reference("models/rbm_7x7x7x7_seed20250131.exact.json")).unwrap();
    let model_file = ModelFile::load(&model).unwrap();
    let w = Statistics::load(&weighted).unwrap();
    let u = Statistics::load(&unweighted).unwrap();
    w.check_matches(&model_file, "weighted").unwrap();
    u.check_matches(&model_file, "unweighted").unwrap();
    assert_eq!(w.num_samples, Some(20000));
    assert_eq!(u.num_samples, Some(16879));
    let dw = max_dev(&w.mean, &exact.mean);
    let du = max_dev(&u.mean, &exact.mean);
    assert!(dw < 0.015, "weighted means off by {dw}");
    assert!(du > 0.015, "unweighted means should be off by more than 0.015, are off by {du}");
    let edges = |s: &Statistics| s.edge_second_moment.iter().map(|e| e.2).collect::<Vec<_>>();
    assert!(max_dev(&edges(&w), &edges(&exact)) < 0.015);
    // <E> follows from the moments; the exact one is -18.13...
    assert!((w.energy_mean.unwrap() - exact.energy_mean.unwrap_or(w.energy_mean.unwrap())).abs() < 0.1);
    std::fs::remove_dir_all(dir).unwrap();
}

/// The three-spin set: two distinct rows with counts 2 and 1, read bit by bit.
#[test]
fn tiny_sample_set_by_hand() {
    let model =
        ModelFile::parse(br#"{"partition": [0, 1, 2], "bias": [0, 0, 0], "edges": [[0, 1, 1.0], [1, 2, 1.0]]}"#)
            .unwrap();
    let bytes = std::fs::read(reference("samplesets/tiny_3var_aggregated.spin.json")).unwrap();
    let im = sampleset::parse(&bytes, &model, LabelMode::Auto, "tiny").unwrap();
    // Words 5 = 0b101 and 6 = 0b110: rows (1, 0, 1) twice and (0, 1, 1) once.
    let s = im.table.statistics(&model, "tiny").unwrap();
    let third = 1.0 / 3.0;
    assert_eq!(s.num_samples, Some(3));
    assert!(max_dev(&s.mean, &[2.0 * third, third, 1.0]) < 1e-15);
    assert!(max_dev(&[s.edge_second_moment[0].2, s.edge_second_moment[1].2], &[0.0, third]) < 1e-15);
    assert_eq!(im.vartype, "SPIN");
}

/// Unpacked BINARY with string labels, packed BINARY labelled by Zephyr coordinates, use_bytes
/// arrays in base64, CSV in another column order, and .npy with weights all give numpy's
/// weighted means.
#[test]
fn every_encoding_gives_numpys_means() {
    let expected: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture("variants.expected.json")).unwrap()).unwrap();
    let want: Vec<f64> = expected["mean"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    let total = expected["total"].as_u64().unwrap();
    let model = reference(MODEL);
    let m = model.to_str().unwrap();
    let dir = temp_dir("encodings");
    let out = dir.join("s.json");
    let o = out.to_str().unwrap();
    let weights = fixture("variant.weights.npy");
    let cases: Vec<(&str, Vec<&str>)> = vec![
        ("variant.unpacked.binary.strlabels.json", vec![]),
        ("variant.packed.binary.zephyr.json", vec![]),
        ("variant.bytes.spin.json", vec![]),
        ("variant.spin.csv", vec![]),
        ("variant.binary.npy", vec!["--weights", weights.to_str().unwrap()]),
    ];
    for (name, extra) in cases {
        let f = fixture(name);
        let mut args = vec!["import", f.to_str().unwrap(), "--model", m, "--stats", o, "--quiet"];
        args.extend(extra);
        cli(&args).unwrap_or_else(|e| panic!("{name}: {e:#}"));
        let s = Statistics::load(&out).unwrap();
        assert!(max_dev(&s.mean, &want) < 1e-12, "{name}");
        assert_eq!(s.num_samples, Some(total), "{name}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// The way out and back: the committed export is what `export-ising` writes today, its
/// samples (dwave-samplers, fixed beta 1 on the beta-0.6 problem) come back labelled by
/// qubit, their `energy` column is 0.6 E(z), and their moments are those of the model at 0.6.
#[test]
fn export_sample_import_closes_the_loop() {
    let dir = temp_dir("loop");
    let model_path = reference(MODEL);
    let out = dir.join("ising.json");
    cli(&["export-ising", "--model", model_path.to_str().unwrap(), "--beta", "0.6", "--out", out.to_str().unwrap()])
        .unwrap();
    let now: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let then: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture("rbm_beta0.6.ising.json")).unwrap()).unwrap();
    assert_eq!(now, then, "the exporter changed; rerun tests/fixtures/qa/make_fixtures.py");

    let model = ModelFile::load(&model_path).unwrap();
    let bytes = std::fs::read(fixture("rbm_beta0.6.sa.spin.json")).unwrap();
    let im = sampleset::parse(&bytes, &model, LabelMode::Auto, "loop").unwrap();
    assert_eq!(im.mapping, calo4p::samples::labels::Mapping::Qubit);
    let energies = im.table.energies(&model);
    let annealer = im.table.energy.as_ref().unwrap();
    for (r, (e, a)) in energies.iter().zip(annealer).enumerate() {
        assert!((0.6 * e - a).abs() < 1e-9, "row {r}: 0.6 E(z) = {} but the annealer says {a}", 0.6 * e);
    }
    let s = im.table.statistics(&model, "loop").unwrap();
    let ex = exact(&model, 0.6).unwrap();
    assert_eq!(s.num_samples, Some(20000));
    // 20000 draws: a standard error of at most 0.0035 per mean.
    assert!(max_dev(&s.mean, &ex.mean) < 0.02, "means off by {}", max_dev(&s.mean, &ex.mean));
    let edges: Vec<f64> = s.edge_second_moment.iter().map(|e| e.2).collect();
    assert!(max_dev(&edges, &ex.edge_second_moment) < 0.02);
    std::fs::remove_dir_all(dir).unwrap();
}

/// Labels that are qubits map through the model's `qubits`; forcing unit indices on them fails
/// and names the labels.
#[test]
fn label_modes() {
    let model = ModelFile::load(&reference(MODEL)).unwrap();
    let bytes = std::fs::read(fixture("rbm_beta0.6.sa.spin.json")).unwrap();
    let e = sampleset::parse(&bytes, &model, LabelMode::Unit, "loop").unwrap_err();
    let msg = format!("{e:#}");
    assert!(msg.contains("variable_labels") && msg.contains("33") && msg.contains("no unit of the model"), "{msg}");
    let bytes = std::fs::read(reference(SAMPLES)).unwrap();
    let e = sampleset::parse(&bytes, &model, LabelMode::Qubit, "ref").unwrap_err();
    assert!(format!("{e:#}").contains("match no qubit of the model"), "{e:#}");
}

/// `export-ising --format dimod` writes what dimod's own `to_serializable()` writes for the
/// same problem (fixture made by dimod from numpy's h and J), and dimod's energies of spin
/// states follow from the exported biases.
#[test]
fn export_to_dimod_serialization_matches_dimod() {
    let dir = temp_dir("dimod-bqm");
    let out = dir.join("bqm.json");
    let model_path = reference(MODEL);
    cli(&[
        "export-ising",
        "--model",
        model_path.to_str().unwrap(),
        "--beta",
        "0.6",
        "--format",
        "dimod",
        "--out",
        out.to_str().unwrap(),
    ])
    .unwrap();
    let ours: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let theirs: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture("rbm_beta0.6.dimod_bqm.json")).unwrap()).unwrap();
    for key in ["type", "version", "variable_type", "num_variables", "num_interactions", "use_bytes"] {
        assert_eq!(ours[key], theirs[key], "{key}");
    }
    // Biases by label: the two files may list variables and couplers in different orders.
    let linear = |v: &serde_json::Value| -> std::collections::BTreeMap<u64, f64> {
        let labels = v["variable_labels"].as_array().unwrap().iter().map(|l| l.as_u64().unwrap());
        labels.zip(v["linear_biases"].as_array().unwrap().iter().map(|b| b.as_f64().unwrap())).collect()
    };
    let quadratic = |v: &serde_json::Value| -> std::collections::BTreeMap<(u64, u64), f64> {
        let labels: Vec<u64> = v["variable_labels"].as_array().unwrap().iter().map(|l| l.as_u64().unwrap()).collect();
        let idx = |k: &str| v[k].as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as usize).collect::<Vec<_>>();
        let (head, tail) = (idx("quadratic_head"), idx("quadratic_tail"));
        let bias = v["quadratic_biases"].as_array().unwrap();
        (0..bias.len())
            .map(|k| {
                let (a, b) = (labels[head[k]], labels[tail[k]]);
                ((a.min(b), a.max(b)), bias[k].as_f64().unwrap())
            })
            .collect()
    };
    let (lo, lt) = (linear(&ours), linear(&theirs));
    assert_eq!(lo.keys().collect::<Vec<_>>(), lt.keys().collect::<Vec<_>>());
    for (q, h) in &lo {
        assert!((h - lt[q]).abs() < 1e-12, "h[{q}]: {h} vs {}", lt[q]);
    }
    let (qo, qt) = (quadratic(&ours), quadratic(&theirs));
    assert_eq!(qo.keys().collect::<Vec<_>>(), qt.keys().collect::<Vec<_>>());
    for (k, j) in &qo {
        assert!((j - qt[k]).abs() < 1e-12, "J{k:?}: {j} vs {}", qt[k]);
    }
    let offset = ours["offset"].as_f64().unwrap();
    assert!((offset - theirs["offset"].as_f64().unwrap()).abs() < 1e-12);
    // dimod's energies of the fixture's states, from our biases; and they are beta E(z).
    let model = ModelFile::load(&model_path).unwrap();
    let qubits = model.qubits.clone().unwrap();
    let check = &theirs["check"];
    for (state, want) in check["states"].as_array().unwrap().iter().zip(check["energies"].as_array().unwrap()) {
        let s: Vec<f64> = state.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect();
        let spin = |q: u64| s[qubits.iter().position(|&p| p as u64 == q).unwrap()];
        let e = lo.iter().map(|(&q, h)| h * spin(q)).sum::<f64>()
            + qo.iter().map(|(&(a, b), j)| j * spin(a) * spin(b)).sum::<f64>()
            + offset;
        assert!((e - want.as_f64().unwrap()).abs() < 1e-10, "{e} vs {want}");
        let z: Vec<u8> = s.iter().map(|&x| (x > 0.0) as u8).collect();
        let energy = -model.bias.iter().zip(&z).map(|(b, &z)| b * z as f64).sum::<f64>()
            - model.edges.iter().map(|e| e.w * (z[e.i] & z[e.j]) as f64).sum::<f64>();
        assert!((e - 0.6 * energy).abs() < 1e-10);
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// `export-ising --working-graph`: a model inside the graph exports; one qubit missing is a
/// clear error that names it, and nothing is written.
#[test]
fn export_checks_the_working_graph() {
    let dir = temp_dir("working-graph");
    let model_path = reference(MODEL);
    let model = ModelFile::load(&model_path).unwrap();
    let qubits = model.qubits.clone().unwrap();
    let couplers: Vec<[u32; 2]> = model.edges.iter().map(|e| [qubits[e.i], qubits[e.j]]).collect();
    let full = dir.join("full.json");
    std::fs::write(&full, serde_json::json!({ "qubits": qubits, "couplers": couplers }).to_string()).unwrap();
    let out = dir.join("ising.json");
    let args = |graph: &Path, out: &Path| {
        cli(&[
            "export-ising",
            "--model",
            model_path.to_str().unwrap(),
            "--working-graph",
            graph.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
    };
    args(&full, &out).unwrap();
    assert!(out.exists());
    let broken = dir.join("broken.json");
    let missing = qubits[3];
    let fewer: Vec<u32> = qubits.iter().copied().filter(|&q| q != missing).collect();
    std::fs::write(&broken, serde_json::json!({ "nodes": fewer, "edges": couplers }).to_string()).unwrap();
    let out2 = dir.join("ising2.json");
    let err = format!("{:#}", args(&broken, &out2).unwrap_err());
    assert!(
        err.contains("broken.json") && err.contains(&format!("qubits not in the working graph: {missing}")),
        "{err}"
    );
    assert!(!out2.exists());
    std::fs::remove_dir_all(&dir).ok();
}
