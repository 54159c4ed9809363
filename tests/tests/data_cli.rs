//! `calo4p data ...` end to end through its clap definitions: synth, info, evaluate
//! with a report, and refusals.

use std::fs;
use std::path::PathBuf;

use calo4p::data::{hdf5, preprocess, run, DataArgs};
use clap::Parser;

#[derive(clap::Parser)]
struct Cli {
    #[command(flatten)]
    data: DataArgs,
}

fn data(args: &[&str]) -> anyhow::Result<()> {
    let mut argv = vec!["data"];
    argv.extend_from_slice(args);
    run(Cli::try_parse_from(argv)?.data)
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("calo4p-data-cli-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn synth_info_evaluate_report() {
    let reference = scratch("ref.h5");
    let generated = scratch("gen.h5");
    let r = reference.to_str().unwrap();
    let g = generated.to_str().unwrap();
    data(&["synth", "--geometry", "ds1-photons", "--n", "1500", "--seed", "1", "--out", r]).unwrap();
    data(&["synth", "--geometry", "ds1-photons", "--n", "1200", "--seed", "2", "--out", g, "--incident-f64", "--json"])
        .unwrap();
    assert_eq!(hdf5::read(&reference).unwrap().len(), 1500);
    data(&["info", r]).unwrap();
    data(&["info", g, "--geometry", "ds1-photons", "--json"]).unwrap();
    let info = calo4p::data::file_info(&generated, None).unwrap();
    assert_eq!(info.geometry.as_deref(), Some("ds1-photons"));
    assert_eq!(info.incident_energies.dtype, hdf5::FloatType::F64);
    assert!(info.sparsity > 0.0 && info.sparsity < 1.0);

    // Evaluating from files (read a window at a time) sees what in-memory showers give.
    let geometry = calo4p::data::GeometryKind::Ds1Photons.geometry();
    let streamed = calo4p::data::ShowerSummary::of_file(&generated, &geometry).unwrap();
    let in_memory = calo4p::data::ShowerSummary::of(&geometry, &hdf5::read(&generated).unwrap());
    assert_eq!(streamed.features, in_memory.features);
    for (a, b) in streamed.mean_shower.iter().zip(&in_memory.mean_shower) {
        assert!((a - b).abs() <= 1e-12 * b.abs().max(1.0));
    }

    let report = scratch("report");
    data(&[
        "evaluate",
        "--reference",
        r,
        "--generated",
        g,
        "--geometry",
        "ds1-photons",
        "--report",
        report.to_str().unwrap(),
        "--fpd-min-samples",
        "300",
        "--fpd-max-samples",
        "1000",
        "--fpd-batches",
        "3",
        "--fpd-points",
        "3",
        "--kpd-batches",
        "3",
        "--kpd-batch-size",
        "300",
    ])
    .unwrap();
    let index = fs::read_to_string(report.join("index.html")).unwrap();
    assert!(index.contains("FPD") && index.contains("KPD"));
    for layer in [0, 1, 2, 3, 12] {
        let svg = fs::read_to_string(report.join(format!("average_layer_{layer}.svg"))).unwrap();
        assert!(svg.starts_with("<svg") || svg.contains("<svg"), "layer {layer}");
        assert!(index.contains(&format!("average_layer_{layer}.svg")));
    }
    let hist = fs::read_to_string(report.join("hist_Etot_Einc.svg")).unwrap();
    assert!(hist.contains("<svg"));
    let ev: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(report.join("evaluation.json")).unwrap()).unwrap();
    // 29 features, the voxel-energy distribution, and E_tot / E_inc at 15 energies.
    let comparisons = ev["features"].as_array().unwrap();
    assert_eq!(comparisons.len(), 29 + 1 + 15);
    let names: Vec<&str> = comparisons.iter().map(|c| c["spec"]["name"].as_str().unwrap()).collect();
    assert_eq!(names[29], "voxel_energy");
    assert_eq!(names[30], "Etot_Einc_E256");
    assert_eq!(names[44], "Etot_Einc_E4194304");
    // Every reference shower falls in one incident-energy range.
    let counted: f64 = comparisons[30..]
        .iter()
        .map(|c| {
            let edges = c["edges"].as_array().unwrap();
            assert_eq!(edges.len(), 21);
            c["reference"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).sum::<f64>()
        })
        .sum();
    assert!(counted > 1400.0 && counted <= 1500.0, "{counted}");
    assert!(report.join("hist_voxel_energy.svg").exists());
    assert!(ev["fpd"]["value"].as_f64().unwrap() >= 0.0);
    // Both files come from one generator: the classifier cannot tell them apart (its test
    // AUC within 4 standard errors of 1/2; 240 test showers a side).
    let c = &ev["classifier"];
    let (auc, se) = (c["auc"].as_f64().unwrap(), c["auc_null_error"].as_f64().unwrap());
    assert_eq!(c["split"], serde_json::json!([720, 240, 240]));
    assert!((auc - 0.5).abs() < 4.0 * se, "{c}");
    assert!(index.contains("Classifier metric"));
    // Showers with 15% more energy in every voxel are told apart almost always.
    let mut hotter = hdf5::read(&generated).unwrap();
    hotter.energies.iter_mut().for_each(|e| *e *= 1.15);
    let fpd = calo4p::data::scores::FpdOptions {
        min_samples: 300,
        max_samples: 1000,
        num_batches: 3,
        num_points: 3,
        seed: 1,
    };
    let kpd = calo4p::data::scores::KpdOptions { num_batches: 3, batch_size: 300, seed: 1 };
    let reference_showers = hdf5::read(&reference).unwrap();
    let options = calo4p::data::classifier::ClassifierOptions::default();
    let ev = calo4p::data::evaluate(&geometry, &reference_showers, &hotter, &fpd, &kpd, Some(&options)).unwrap();
    let c = ev.classifier.unwrap();
    assert!(c.auc > 0.9 && c.jsd > 0.3, "{c:?}");
    // No temporary files are left in the report.
    assert!(fs::read_dir(&report).unwrap().all(|e| !e.unwrap().file_name().to_string_lossy().starts_with('.')));
}

#[test]
fn geometry_mismatch_and_bad_arguments_are_errors() {
    let file = scratch("pions.h5");
    let f = file.to_str().unwrap();
    data(&["synth", "--geometry", "ds1-pions", "--n", "10", "--out", f]).unwrap();
    let e = format!("{:#}", data(&["info", f, "--geometry", "ds2"]).unwrap_err());
    assert!(e.contains("pions.h5") && e.contains("533") && e.contains("6480"), "{e}");
    let e = format!(
        "{:#}",
        data(&["evaluate", "--reference", f, "--generated", f, "--geometry", "ds1-photons"]).unwrap_err()
    );
    assert!(e.contains("pions.h5") && e.contains("'showers'"), "{e}");
    // One shower is no distribution: the file is named.
    let one = scratch("one.h5");
    let o = one.to_str().unwrap();
    data(&["synth", "--geometry", "ds1-pions", "--n", "1", "--out", o, "--quiet"]).unwrap();
    let e = format!(
        "{:#}",
        data(&["evaluate", "--reference", f, "--generated", o, "--geometry", "ds1-pions", "--quiet"]).unwrap_err()
    );
    assert!(e.contains("--generated") && e.contains("one.h5: holds 1 shower(s)"), "{e}");
    assert!(data(&["synth", "--geometry", "ds9", "--n", "1", "--out", f]).is_err());
    assert!(data(&["synth", "--geometry", "ds2", "--n", "0", "--out", f]).is_err());
    // A synth into a directory that does not exist fails without leaving anything.
    let missing = scratch("no/such/dir/out.h5");
    assert!(data(&["synth", "--geometry", "ds2", "--n", "2", "--out", missing.to_str().unwrap()]).is_err());
    assert!(!missing.exists());
}

#[test]
fn preprocessing_round_trips_generated_showers() {
    let g = calo4p::data::GeometryKind::Ds1Photons.geometry();
    let s = calo4p::data::synth::generate(&g, 200, 8);
    let u = preprocess::forward_showers(&s);
    assert!(u.iter().all(|x| x.is_finite() && *x >= 0.0));
    let back = preprocess::inverse_showers(&u, &s.incident_energies, s.n_voxels);
    for (a, b) in back.energies.iter().zip(&s.energies) {
        if *b == 0.0 {
            assert_eq!(*a, 0.0, "zeros are preserved");
        } else {
            assert!(((a - b) / b).abs() < 2e-5, "{a} vs {b}");
        }
    }
}
