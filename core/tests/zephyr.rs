//! `zephyr` against dwave-networkx: the reference graphs `zephyr_graph(m, t)` and the units
//! of the reference model, computed with the Ocean stack (see `tests/fixtures/README.md`).

use calo4p_core::zephyr::{Coord, Zephyr};
use serde_json::Value;

const REFERENCE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/reference/");

fn reference(name: &str) -> Value {
    let path = format!("{REFERENCE}{name}");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

fn usizes(value: &Value) -> Vec<usize> {
    let array = value.as_array().unwrap();
    array.iter().map(|x| x.as_u64().unwrap() as usize).collect()
}

fn check_graph(m: usize, t: usize) {
    let r = reference(&format!("zephyr/zephyr_{m}_{t}.json"));
    let z = Zephyr::new(m, t).unwrap();
    assert_eq!((r["m"].as_u64(), r["t"].as_u64()), (Some(m as u64), Some(t as u64)));
    assert_eq!(z.num_nodes(), r["num_nodes"].as_u64().unwrap() as usize);
    assert_eq!(z.num_edges(), r["num_edges"].as_u64().unwrap() as usize);

    let coords = r["coords_uwkjz"].as_array().unwrap();
    assert_eq!(coords.len(), z.num_nodes());
    for (q, c) in coords.iter().enumerate() {
        let [u, w, k, j, z_] = usizes(c)[..] else { panic!("coordinate {c}") };
        let c = Coord { u, w, k, j, z: z_ };
        assert_eq!(z.coord(q), Some(c), "q {q}");
        assert_eq!(z.linear(c), Some(q));
    }

    let colors = usizes(&r["color"]);
    assert_eq!(colors.len(), z.num_nodes());
    for (q, &color) in colors.iter().enumerate() {
        assert_eq!(z.color(q).map(usize::from), Some(color), "q {q}");
    }

    // The reference is sorted; `edges()` promises ascending order, so no sort is needed.
    let expected: Vec<(usize, usize)> =
        r["edges"].as_array().unwrap().iter().map(|e| (usizes(e)[0], usizes(e)[1])).collect();
    let edges: Vec<(usize, usize)> = z.edges().collect();
    assert_eq!(edges, expected);
}

#[test]
fn z_1_4_matches_dwave_networkx() {
    check_graph(1, 4);
}

#[test]
fn z_2_4_matches_dwave_networkx() {
    check_graph(2, 4);
}

#[test]
fn z_6_4_matches_dwave_networkx() {
    check_graph(6, 4);
}

#[test]
fn select_per_partition_reproduces_reference_model_units() {
    let r = reference("models/rbm_7x7x7x7_seed20250131.json");
    let m = r["zephyr"]["m"].as_u64().unwrap() as usize;
    let t = r["zephyr"]["t"].as_u64().unwrap() as usize;
    let z = Zephyr::new(m, t).unwrap();
    let qubits = usizes(&r["qubits"]);
    let partition = usizes(&r["partition"]);

    let mut out = vec![0; qubits.len()];
    assert_eq!(z.select_per_partition(qubits.len() / 4, &mut out), Ok(qubits.len()));
    let out: Vec<usize> = out.into_iter().map(|q| q as usize).collect();
    assert_eq!(out, qubits);
    for (&q, &p) in qubits.iter().zip(&partition) {
        assert_eq!(z.color(q).map(usize::from), Some(p));
    }

    // The model's couplings are exactly the Zephyr edges among its qubits.
    let mut model_edges: Vec<(usize, usize)> = r["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let (i, j) = (e[0].as_u64().unwrap() as usize, e[1].as_u64().unwrap() as usize);
            (i.min(j), i.max(j))
        })
        .collect();
    model_edges.sort_unstable();
    let unit = |q: usize| qubits.iter().position(|&p| p == q);
    let mut induced: Vec<(usize, usize)> = z
        .edges()
        .filter_map(|(a, b)| {
            let (i, j) = (unit(a)?, unit(b)?);
            Some((i.min(j), i.max(j)))
        })
        .collect();
    induced.sort_unstable();
    assert_eq!(induced, model_edges);
}
