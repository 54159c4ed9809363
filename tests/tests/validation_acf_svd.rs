//! `acf` and `svd`: ensemble autocorrelation and block spectra against numpy, and the
//! commands end to end.

use calo4p::autocorrelation::{ensemble_acf, tau_int};
use calo4p::model_file::ModelFile;
use calo4p::topology::{random_model, Selection};
use calo4p::validation::acf::{run_acf, AcfArgs};
use calo4p::validation::svd::{block_singular_values, run_svd, SvdArgs};
use clap::Parser;
use serde_json::Value;
use std::path::PathBuf;

fn reference(rel: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/reference/")).join(rel)
}

fn fixture(name: &str) -> Value {
    let path = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/validation/")).join(name);
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap_or(f64::NAN)).collect()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("calo4p-acf-svd-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[derive(Parser)]
struct Acf {
    #[command(flatten)]
    args: AcfArgs,
}

#[derive(Parser)]
struct Svd {
    #[command(flatten)]
    args: SvdArgs,
}

#[test]
fn ensemble_acf_matches_numpy() {
    let want = fixture("acf_expected.json");
    let chains = want["chains"].as_u64().unwrap() as usize;
    let max_lag = want["max_lag"].as_u64().unwrap() as usize;
    let c_window = want["window_c"].as_f64().unwrap();
    let acf = ensemble_acf(&floats(&want["series"]), chains, max_lag, c_window).unwrap();
    let close = |x: f64, y: f64, what: &str| {
        assert!((x.is_nan() && y.is_nan()) || (x - y).abs() < 1e-10, "{what}: {x} vs numpy {y}");
    };
    for (key, ours) in [("acf", &acf.acf), ("acf_n", &acf.acf_n)] {
        let rows = want[key].as_array().unwrap();
        assert_eq!(ours.len(), rows.len());
        for (t, (a, b)) in ours.iter().zip(rows).enumerate() {
            let b = floats(b);
            assert_eq!(a.len(), b.len(), "{key} row {t}");
            a.iter().zip(&b).enumerate().for_each(|(tau, (&x, &y))| close(x, y, &format!("{key}({t}, {tau})")));
        }
    }
    for (key, ours) in [("c", &acf.c), ("mean", &acf.mean), ("variance", &acf.variance)] {
        let theirs = floats(&want[key]);
        assert_eq!(ours.len(), theirs.len());
        ours.iter().zip(&theirs).enumerate().for_each(|(k, (&x, &y))| close(x, y, &format!("{key}[{k}]")));
    }
    assert_eq!(acf.frozen_times as u64, want["frozen_times"].as_u64().unwrap());
    assert_eq!(acf.window as u64, want["window"].as_u64().unwrap());
    assert!(acf.window_closed());
    close(acf.tau_int, want["tau_int"].as_f64().unwrap(), "tau_int");
    assert_eq!(tau_int(&acf.c, c_window, acf.c.len()).0, acf.tau_int);
}

#[test]
fn block_spectra_match_numpy() {
    let model = ModelFile::load(&reference("models/rbm_7x7x7x7_seed20250131.json")).unwrap();
    let ours = block_singular_values(&model);
    let want = fixture("svd_expected.json");
    let want = want["blocks"].as_array().unwrap();
    assert_eq!(ours.len(), want.len());
    for (s, w) in ours.iter().zip(want) {
        let pq = (w["p"].as_u64().unwrap() as usize, w["q"].as_u64().unwrap() as usize);
        assert_eq!((s.p, s.q), pq);
        assert_eq!((s.rows as u64, s.cols as u64), (w["rows"].as_u64().unwrap(), w["cols"].as_u64().unwrap()));
        let theirs = floats(&w["singular_values"]);
        assert_eq!(s.singular_values.len(), theirs.len());
        for (x, y) in s.singular_values.iter().zip(&theirs) {
            assert!((x - y).abs() < 1e-10, "block {pq:?}: {x} vs numpy {y}");
        }
        assert_eq!(s.rank() as u64, w["rank"].as_u64().unwrap(), "rank of block {pq:?}");
        assert!((s.frobenius() - w["frobenius"].as_f64().unwrap()).abs() < 1e-10);
    }
}

#[test]
fn acf_command_writes_plot_and_report() {
    let dir = temp_dir("acf");
    let model = dir.join("model.json");
    random_model(1, 4, 4, 3, 1.0, Selection::First).unwrap().save(&model).unwrap();
    let (plot, report) = (dir.join("acf.svg"), dir.join("report"));
    let args = |extra: &[&str]| {
        let mut argv = vec!["acf", "--model", model.to_str().unwrap(), "--sweeps", "60", "--quiet"];
        if !extra.contains(&"--chains") {
            argv.extend_from_slice(&["--chains", "20"]);
        }
        argv.extend_from_slice(extra);
        Acf::try_parse_from(argv).unwrap().args
    };
    run_acf(args(&[
        "--json",
        "--zero-bias",
        "--max-lag",
        "20",
        "--plot",
        plot.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
    ]))
    .unwrap();
    assert!(std::fs::read_to_string(&plot).unwrap().contains("<svg"));
    let html = std::fs::read_to_string(report.join("index.html")).unwrap();
    assert!(html.contains("tau_int") && html.matches("<svg").count() == 2);
    assert!(report.join("acf.svg").exists() && report.join("magnetisation.svg").exists());

    // Fixed point, from given start states (all ones), default lags.
    let init = dir.join("init.npy");
    calo4p::npy::write_u8(&init, &[1u8; 16], 1, 16).unwrap();
    run_acf(args(&["--engine", "fixed", "--format", "Q4.4", "--lut-bits", "8", "--init", init.to_str().unwrap()]))
        .unwrap();

    // Bad input names the option or file.
    let err = |extra: &[&str]| format!("{:#}", run_acf(args(extra)).unwrap_err());
    assert!(err(&["--max-lag", "60"]).contains("--max-lag 60"));
    assert!(err(&["--chains", "1"]).contains("--chains"));
    assert!(err(&["--window-c", "0"]).contains("--window-c"));
    let wide = dir.join("wide.npy");
    calo4p::npy::write_u8(&wide, &[0u8; 17], 1, 17).unwrap();
    let e = err(&["--init", wide.to_str().unwrap()]);
    assert!(e.contains("wide.npy") && e.contains("17 units"), "{e}");
    let twos = dir.join("twos.npy");
    calo4p::npy::write_u8(&twos, &[2u8; 16], 1, 16).unwrap();
    let e = err(&["--init", twos.to_str().unwrap()]);
    assert!(e.contains("twos.npy") && e.contains("row 0, unit 0"), "{e}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn svd_command_writes_plot_and_report() {
    let dir = temp_dir("svd");
    let model = reference("models/rbm_7x7x7x7_seed20250131.json");
    let (plot, report) = (dir.join("sv.svg"), dir.join("report"));
    let argv = [
        "svd",
        "--model",
        model.to_str().unwrap(),
        "--json",
        "--plot",
        plot.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
    ];
    run_svd(Svd::try_parse_from(argv).unwrap().args).unwrap();
    assert!(std::fs::read_to_string(&plot).unwrap().contains("<svg"));
    let html = std::fs::read_to_string(report.join("index.html")).unwrap();
    assert!(html.contains("Frobenius") && html.contains("0-1") && html.contains("<svg"));
    let missing = Svd::try_parse_from(["svd", "--model", dir.join("none.json").to_str().unwrap()]).unwrap().args;
    assert!(format!("{:#}", run_svd(missing).unwrap_err()).contains("none.json"));
    std::fs::remove_dir_all(&dir).ok();
}
