//! Bad sample files: each problem gets an error that says what and where, and no statistics
//! file is written.

use calo4p::qa::{self, QaArgs};
use clap::Parser;
use std::path::PathBuf;

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    qa: QaArgs,
}

const MODEL: &str = r#"{"partition": [0, 1, 2], "bias": [0.5, -0.5, 0.25], "edges": [[0, 1, 1.0], [1, 2, -1.0]]}"#;

/// A good three-variable set (the shape of the reference `tiny_3var_aggregated.spin.json`),
/// with `{DATA}`, `{N}`, `{TYPE}`, `{COUNTS}`, `{ENERGY}`, `{LABELS}`, `{SHAPE}`, `{VERSION}`
/// to break one thing at a time.
const TEMPLATE: &str = r#"{"type":"SampleSet","version":{"sampleset_schema":"{VERSION}"},"num_variables":{N},"num_rows":2,
"sample_data":{"type":"array","data":{DATA},"data_type":"uint32","shape":{SHAPE},"use_bytes":false},
"sample_type":"int8","sample_packed":true,
"vectors":{"energy":{"type":"array","data":{ENERGY},"data_type":"float64","shape":[2],"use_bytes":false},
"num_occurrences":{"type":"array","data":{COUNTS},"data_type":"int64","shape":[2],"use_bytes":false}},
"variable_labels":{LABELS},"variable_type":"{TYPE}","info":{}}"#;

fn sample_set(changes: &[(&str, &str)]) -> String {
    let mut fields = [
        ("{VERSION}", "3.2.0"),
        ("{N}", "3"),
        ("{DATA}", "[[5],[6]]"),
        ("{SHAPE}", "[2,1]"),
        ("{ENERGY}", "[0.5,1]"),
        ("{COUNTS}", "[2,1]"),
        ("{LABELS}", "[0,1,2]"),
        ("{TYPE}", "SPIN"),
    ];
    for (k, v) in changes {
        fields.iter_mut().find(|(f, _)| f == k).expect("known field").1 = v;
    }
    fields.iter().fold(TEMPLATE.to_owned(), |t, (k, v)| t.replace(k, v))
}

struct Case {
    dir: PathBuf,
}

impl Case {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("calo4p-qa-bad-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("model.json"), MODEL).unwrap();
        Self { dir }
    }

    /// Import `content` as `file`; return the error text, checking nothing was written.
    fn error(&self, file: &str, content: &[u8], extra: &[&str]) -> String {
        let samples = self.dir.join(file);
        std::fs::write(&samples, content).unwrap();
        let stats = self.dir.join("stats.json");
        let model = self.dir.join("model.json");
        let mut argv = vec![
            "qa",
            "import",
            samples.to_str().unwrap(),
            "--model",
            model.to_str().unwrap(),
            "--stats",
            stats.to_str().unwrap(),
            "--quiet",
        ];
        argv.extend(extra);
        let result = qa::run(Cli::try_parse_from(argv).unwrap().qa);
        assert!(!stats.exists(), "{file}: a statistics file was written despite the error");
        let leftovers: Vec<_> = std::fs::read_dir(&self.dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().contains(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "temporary files left behind");
        format!("{:#}", result.expect_err("bad input must fail"))
    }

    fn json_error(&self, changes: &[(&str, &str)]) -> String {
        self.error("samples.json", sample_set(changes).as_bytes(), &[])
    }
}

impl Drop for Case {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn assert_has(msg: &str, parts: &[&str]) {
    for p in parts {
        assert!(msg.contains(p), "expected `{p}` in: {msg}");
    }
}

#[test]
fn the_template_is_good() {
    let c = Case::new("good");
    let samples = c.dir.join("s.json");
    std::fs::write(&samples, sample_set(&[])).unwrap();
    let stats = c.dir.join("stats.json");
    let model = c.dir.join("model.json");
    let argv = ["qa", "import", samples.to_str().unwrap(), "--model", model.to_str().unwrap()];
    let argv: Vec<&str> = argv.into_iter().chain(["--stats", stats.to_str().unwrap(), "--quiet"]).collect();
    qa::run(Cli::try_parse_from(argv).unwrap().qa).unwrap();
    assert!(stats.exists());
}

#[test]
fn truncated_json() {
    let c = Case::new("truncated");
    let text = sample_set(&[]);
    let cut = text.find("\"num_occurrences\"").unwrap() + 40;
    let msg = c.error("samples.json", &text.as_bytes()[..cut], &[]);
    assert_has(&msg, &["samples.json", "truncated", "`vectors.num_occurrences"]);
}

#[test]
fn invalid_json() {
    let c = Case::new("invalid");
    let msg = c.json_error(&[("{DATA}", "[[5],[6],]")]);
    assert_has(&msg, &["samples.json", "invalid JSON in `sample_data.data[2]`", "line 2"]);
}

#[test]
fn num_variables_disagrees_with_the_data() {
    let c = Case::new("num-variables");
    // 40 variables pack into 2 words per row, the data has 1.
    let msg = c.json_error(&[("{N}", "40")]);
    assert_has(&msg, &["samples.json", "`variable_labels` has 3 labels but `num_variables` is 40"]);
    let labels = format!("[{}]", (0..40).map(|i| i.to_string()).collect::<Vec<_>>().join(","));
    let model: String = format!(
        r#"{{"partition": [{}], "bias": [{}], "edges": []}}"#,
        (0..40).map(|i| (i / 20).to_string()).collect::<Vec<_>>().join(","),
        vec!["0"; 40].join(",")
    );
    std::fs::write(c.dir.join("model.json"), model).unwrap();
    let msg = c.json_error(&[("{N}", "40"), ("{LABELS}", &labels)]);
    assert_has(&msg, &["`sample_data.shape` is [2, 1]", "`num_variables` 40 packs into 2 uint32 words"]);
}

#[test]
fn a_row_with_the_wrong_word_count() {
    let c = Case::new("words");
    let msg = c.json_error(&[("{DATA}", "[[5],[6,1]]")]);
    assert_has(&msg, &["samples.json", "`sample_data.data` row 1 has 2 words; every row needs 1"]);
}

#[test]
fn unknown_variable_type() {
    let c = Case::new("vartype");
    let msg = c.json_error(&[("{TYPE}", "DISCRETE")]);
    assert_has(&msg, &["samples.json", "`variable_type` is `DISCRETE`"]);
}

#[test]
fn unsupported_schema() {
    let c = Case::new("schema");
    let msg = c.json_error(&[("{VERSION}", "2.0.0")]);
    assert_has(&msg, &["samples.json", "`version.sampleset_schema` is 2.0.0"]);
}

#[test]
fn negative_count() {
    let c = Case::new("negative");
    let msg = c.json_error(&[("{COUNTS}", "[2,-1]")]);
    assert_has(&msg, &["samples.json", "`vectors.num_occurrences.data[1]` is -1"]);
}

#[test]
fn zero_total_count() {
    let c = Case::new("zero");
    let msg = c.json_error(&[("{COUNTS}", "[0,0]")]);
    assert_has(&msg, &["samples.json", "`vectors.num_occurrences`", "add up to 0"]);
}

#[test]
fn nan_energy() {
    let c = Case::new("nan");
    // What Python's json.dump writes for float('nan').
    let msg = c.json_error(&[("{ENERGY}", "[0.5,NaN]")]);
    assert_has(&msg, &["samples.json", "`vectors.energy.data[1]` holds NaN", "line 4"]);
    // A NaN that arrives intact, base64-encoded with use_bytes.
    let nan = sample_set(&[]).replace(
        r#""data":[0.5,1],"data_type":"float64","shape":[2],"use_bytes":false"#,
        // float64 [0.5, NaN], little-endian.
        r#""data":"AAAAAAAA4D8AAAAAAAD4fw==","data_type":"float64","shape":[2],"use_bytes":true"#,
    );
    assert!(nan.contains("AAAA"));
    let msg = c.error("samples.json", nan.as_bytes(), &[]);
    assert_has(&msg, &["samples.json", "`vectors.energy.data[1]` is NaN; energies must be finite"]);
}

#[test]
fn labels_that_match_nothing() {
    let c = Case::new("labels");
    let msg = c.json_error(&[("{LABELS}", r#"[0,1,"x"]"#)]);
    assert_has(&msg, &["samples.json", "`variable_labels`: label(s) 'x' match no unit of the model"]);
    let msg = c.json_error(&[("{LABELS}", "[0,1,7]")]);
    assert_has(&msg, &["samples.json", "label(s) 7 match no unit"]);
    let msg = c.json_error(&[("{LABELS}", "[0,1,1]")]);
    assert_has(&msg, &["samples.json", "labels 1 and 1 both name unit 1"]);
}

#[test]
fn a_model_unit_without_a_variable() {
    let c = Case::new("missing");
    let msg = c.json_error(&[("{N}", "2"), ("{LABELS}", "[0,1]")]);
    assert_has(&msg, &["samples.json", "no variable for unit 2"]);
}

#[test]
fn bad_base64() {
    let c = Case::new("base64");
    let text = sample_set(&[])
        .replace(r#""data":[[5],[6]]"#, r#""data":"not base64!""#)
        .replace(r#""shape":[2,1],"use_bytes":false"#, r#""shape":[2,1],"use_bytes":true"#);
    let msg = c.error("samples.json", text.as_bytes(), &[]);
    assert_has(&msg, &["samples.json", "`sample_data.data` is text, read as base64", "not base64"]);
}

#[test]
fn csv_problems() {
    let c = Case::new("csv");
    let msg = c.error("s.csv", b"0,1,2,num_occurrences\n1,-1,1,2\n1,0,1,1\n", &[]);
    assert_has(&msg, &["s.csv", "mixes SPIN and BINARY", "-1 at row 0 column `1`", "0 at row 1 column `1`"]);
    let msg = c.error("s.csv", b"0,1,2,num_occurrences\n1,-1,1,-2\n", &[]);
    assert_has(&msg, &["s.csv", "line 2 (row 0) `num_occurrences` is -2"]);
    let msg = c.error("s.csv", b"0,1,2\n1,-1\n", &[]);
    assert_has(&msg, &["s.csv", "line 2 (row 0) has 2 cells; the header has 3"]);
    let msg = c.error("s.csv", b"0,1,2,energy\n1,-1,1,nan\n", &[]);
    assert_has(&msg, &["s.csv", "line 2 (row 0) `energy` is NaN"]);
    let msg = c.error("s.csv", b"0,1,q\n1,-1,1\n", &[]);
    assert_has(&msg, &["s.csv", "header: label(s) 'q' match no unit"]);
    let msg = c.error("s.csv", b"0,1,2,num_occurrences\n1,1,1,0\n", &[]);
    assert_has(&msg, &["s.csv", "add up to 0"]);
}

#[test]
fn npy_problems() {
    let c = Case::new("npy");
    let npy = |rows: usize, cols: usize, data: &[u8]| {
        let p = c.dir.join("rows.npy");
        calo4p::npy::write_u8(&p, data, rows, cols).unwrap();
        std::fs::read(p).unwrap()
    };
    let msg = c.error("s.npy", &npy(1, 2, &[1, 0]), &[]);
    assert_has(&msg, &["s.npy", "rows have 2 columns; the model has 3 units"]);
    let msg = c.error("s.npy", &npy(1, 3, &[1, 2, 0]), &[]);
    assert_has(&msg, &["s.npy", "row 0 column 1 is 2"]);
    let weights = c.dir.join("w.npy");
    calo4p::npy::write_u8(&weights, &[1, 1], 1, 2).unwrap();
    let msg = c.error("s.npy", &npy(2, 3, &[1, 0, 0, 0, 1, 1]), &["--weights", weights.to_str().unwrap()]);
    assert_has(&msg, &["w.npy", "expected one weight per row, (2,)"]);
}

/// `qa beta --out` and `qa export-ising --out` write nothing when they fail.
#[test]
fn other_commands_write_nothing_on_error() {
    let c = Case::new("others");
    let model = c.dir.join("model.json");
    let samples = c.dir.join("s.json");
    std::fs::write(&samples, sample_set(&[("{COUNTS}", "[0,0]")])).unwrap();
    let out = c.dir.join("out.json");
    let run = |argv: &[&str]| format!("{:#}", qa::run(Cli::try_parse_from(argv).unwrap().qa).unwrap_err());
    let (m, s, o) = (model.to_str().unwrap(), samples.to_str().unwrap(), out.to_str().unwrap());
    let msg = run(&["qa", "beta", s, "--model", m, "--out", o, "--quiet"]);
    assert_has(&msg, &["s.json", "add up to 0"]);
    assert!(!out.exists());
    // A negative β is refused where it is typed, before anything runs.
    let Err(err) = Cli::try_parse_from(["qa", "export-ising", "--model", m, "--beta=-1", "--out", o]) else {
        panic!("--beta=-1 accepted");
    };
    assert_has(&err.to_string(), &["--beta", "must be >= 0"]);
    assert!(!out.exists());
    std::fs::write(&model, r#"{"partition": [0, 1], "bias": [0.5], "edges": []}"#).unwrap();
    let msg = run(&["qa", "export-ising", "--model", m, "--out", o]);
    assert_has(&msg, &["model.json", "`bias` has 1 entries"]);
    assert!(!out.exists());
}
