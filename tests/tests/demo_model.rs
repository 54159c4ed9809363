//! The demo's built-in model is the reference model it is named after: the same bytes as the
//! fixture, and the same exact answers (ln Z, means) as the reference `.exact.json`.

use calo4p::demo::{reference_model, REFERENCE_MODEL};
use calo4p::exact::exact;
use calo4p::statistics::Statistics;
use std::path::Path;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/reference/models/");

#[test]
fn built_in_model_is_the_reference_file() {
    let fixture = std::fs::read_to_string(format!("{DIR}rbm_7x7x7x7_seed20250131.json")).unwrap();
    assert_eq!(REFERENCE_MODEL, fixture);
}

#[test]
fn built_in_model_has_the_reference_ln_z() {
    let model = reference_model().unwrap();
    let got = exact(&model, 1.0).unwrap().statistics(&model);
    let want = Statistics::load(Path::new(&format!("{DIR}rbm_7x7x7x7_seed20250131.exact.json"))).unwrap();
    let (a, b) = (got.ln_z.unwrap(), want.ln_z.unwrap());
    assert!((a - b).abs() < 1e-9, "ln Z {a} vs reference {b}");
    for (i, (a, b)) in got.mean.iter().zip(&want.mean).enumerate() {
        assert!((a - b).abs() < 1e-9, "unit {i}: {a} vs {b}");
    }
}
