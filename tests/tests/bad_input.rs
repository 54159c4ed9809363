//! Bad model files get an error that names the problem and the field.

use calo4p::model_file::{Built, ModelFile};
use calo4p_core::QFormat;

fn err(json: &str) -> String {
    format!("{:#}", ModelFile::parse(json.as_bytes()).unwrap_err())
}

const GOOD: &str =
    r#"{"partition": [0, 0, 1, 1], "bias": [0.5, -0.5, 1.0, 0.0], "edges": [[0, 2, 1.0], [1, 3, -2.0]]}"#;

#[test]
fn good_model_parses() {
    let m = ModelFile::parse(GOOD.as_bytes()).unwrap();
    assert_eq!((m.num_units(), m.edges.len()), (4, 2));
    assert_eq!(ModelFile::parse(m.to_json().as_bytes()).unwrap(), m);
}

#[test]
fn each_problem_has_its_own_message() {
    let cases = [
        (r#"{"partition": [0, 1], "bias": [0.5, "#, "invalid JSON in `bias"),
        // Syntax errors say where: line and column (1-based), here the stray `]`.
        ("{\n  \"partition\": [0, 1],\n  \"bias\": [0, 1]],\n  \"edges\": []\n}", "(line 3, column 17)"),
        (r#"{"partition": [0, 1], "edges": []}"#, "required field `bias` is missing"),
        (
            r#"{"partition": [0, 1], "bias": [0, 1], "edges": [[0, 7, 1.0]]}"#,
            "edges[0] names unit 7, but the model has 2 units",
        ),
        (r#"{"partition": [0, 0, 1], "bias": [0, 1, 1], "edges": [[0, 1, 1.0]]}"#, "joins two units of partition 0"),
        (r#"{"partition": [0, 1], "bias": [0, NaN], "edges": []}"#, "`bias[1]` is NaN or infinite"),
        (r#"{"partition": [0, 1], "bias": [0, 1], "edges": [[0, 1, Infinity]]}"#, "`edges[0]` is NaN or infinite"),
        (r#"{"partition": [0, 1], "bias": [0, 1], "edges": [[0, 1, 1e400]]}"#, "`edges[0]` is NaN or infinite"),
        (
            r#"{"partition": [0, 1], "bias": [0, 1], "edges": [[0, 1, 1], [1, 0, 2]]}"#,
            "edge (0, 1) appears more than once",
        ),
        (r#"{"partition": [0, 1], "bias": [0], "edges": []}"#, "`bias` has 1 entries but `partition` has 2"),
        (r#"{"partition": [0, 1], "bias": [0, 1], "edges": [[0, -1, 1]]}"#, "`edges[0]` has a negative unit index"),
    ];
    for (json, want) in cases {
        let got = err(json);
        assert!(got.contains(want), "{json}\n  got: {got}\n want: {want}");
    }
}

#[test]
fn errors_name_the_file() {
    let dir = std::env::temp_dir().join(format!("calo4p-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("broken.json");
    std::fs::write(&path, "{\"partition\": [0, 1]").unwrap();
    let msg = format!("{:#}", ModelFile::load(&path).unwrap_err());
    assert!(msg.contains("broken.json"), "{msg}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn out_of_range_weights_saturate_or_are_refused() {
    let json = r#"{"partition": [0, 1], "bias": [0, 1], "edges": [[0, 1, 9.5]]}"#;
    let m = ModelFile::parse(json.as_bytes()).unwrap();
    let (_, report) = Built::<i8>::fixed(&m, QFormat::Q4_4, false).unwrap();
    assert_eq!(report.saturated.len(), 1);
    assert!(report.message(QFormat::Q4_4).unwrap().contains("edges[0]"));
    let strict = format!("{:#}", Built::<i8>::fixed(&m, QFormat::Q4_4, true).unwrap_err());
    assert!(strict.contains("edges[0] = 9.5 is outside the range of Q4.4"), "{strict}");
}

/// A model larger than a device's storage is refused by core with a capacity error.
#[test]
fn capacity_exceeded_is_an_error() {
    use calo4p_core::json::{parse_model, Edge, ModelBuffers};
    let (mut p, mut b, mut q, mut e) = ([0u8; 2], [0.0; 2], [0u32; 2], [Edge::default(); 1]);
    let buf = ModelBuffers { partition: &mut p, bias: &mut b, qubits: &mut q, edges: &mut e };
    let got = parse_model(GOOD.as_bytes(), buf).unwrap_err().to_string();
    assert_eq!(got, "capacity exceeded: `partition` has more than 2 entries");
}
