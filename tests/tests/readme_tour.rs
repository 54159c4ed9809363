//! The README's tour and `scripts/tour.sh` (which CI runs) are the same commands, so the tour
//! a reader follows is the one that is tested.

const README: &str = include_str!("../../README.md");
const TOUR: &str = include_str!("../../scripts/tour.sh");

/// Non-blank lines between the `tour:begin` and `tour:end` markers, without the code fences.
fn tour_lines(text: &str) -> Vec<&str> {
    let marker =
        |l: &str, name: &str| matches!(l.trim(), m if m == format!("# {name}") || m == format!("<!-- {name} -->"));
    text.lines()
        .skip_while(|l| !marker(l, "tour:begin"))
        .skip(1)
        .take_while(|l| !marker(l, "tour:end"))
        .map(str::trim_end)
        .filter(|l| !l.is_empty() && !l.starts_with("```") && !l.starts_with("<!--") && *l != "#")
        .collect()
}

#[test]
fn readme_tour_is_the_tour_script() {
    let (readme, script) = (tour_lines(README), tour_lines(TOUR));
    assert!(script.iter().filter(|l| l.starts_with("calo4p ")).count() >= 15, "the tour runs the commands");
    for (k, (a, b)) in readme.iter().zip(&script).enumerate() {
        assert_eq!(a, b, "line {k} of the tour differs between README.md and scripts/tour.sh");
    }
    assert_eq!(readme.len(), script.len(), "README.md and scripts/tour.sh have tours of different length");
}

#[test]
fn every_file_the_tour_reads_is_made_earlier() {
    // Files named after an option that reads (or as a positional sample file) must have been
    // written by an earlier line (after --out, --stats, --plot, --report).
    let reads = ["--model", "--samples", "--reference", "--generated"];
    let writes = ["--out", "--stats", "--plot", "--report"];
    let mut made: Vec<String> = Vec::new();
    let commands = tour_lines(TOUR).join("\n").replace("\\\n", " ");
    for line in commands.lines().filter(|l| l.starts_with("calo4p ")) {
        let words: Vec<&str> = line.split_whitespace().collect();
        for pair in words.windows(2) {
            let file = pair[1];
            let is_file = file.contains('.') && !file.starts_with('-') && file.parse::<f64>().is_err();
            if reads.contains(&pair[0]) && is_file {
                assert!(made.iter().any(|m| m == file), "`{line}` reads {file} before anything made it");
            }
        }
        // Positional inputs: `qa import FILE`, `qa beta FILE`, `data info FILE`.
        if let ["calo4p", "qa", "import" | "beta", file, ..] | ["calo4p", "data", "info", file, ..] = words[..] {
            assert!(made.iter().any(|m| m == file), "`{line}` reads {file} before anything made it");
        }
        for pair in words.windows(2) {
            if writes.contains(&pair[0]) {
                made.push(pair[1].to_owned());
            }
        }
    }
    // Each report has its own folder.
    let reports: Vec<&String> = made.iter().filter(|m| !m.contains('.')).collect();
    let mut unique = reports.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(reports.len(), unique.len(), "reports share a folder: {reports:?}");
}
