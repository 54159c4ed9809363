//! The 1208-unit Z(6,4) model (302 units per partition) at Q8.8 fits a microcontroller's
//! 64 KiB of SRAM: weights, adjacency and one chain's state.

use calo4p::model_file::Built;
use calo4p::topology::{random_model, Selection};
use calo4p_core::model::Block;
use calo4p_core::{Fixed, LutSpec, QFormat};

#[test]
fn zephyr_6_4_at_q8_8_fits_64_kib() {
    let file = random_model(6, 4, 302, 1, 1.0, Selection::First).unwrap();
    assert_eq!(file.num_units(), 1208);
    // The probe (probe/src/lib.rs) sizes its static storage with this edge count.
    assert_eq!(file.edges.len(), 11009);
    let (built, _) = Built::<i16>::fixed(&file, QFormat::Q8_8, false).unwrap();
    let model = built.model();
    let (mut weights, mut cols, mut row_ptr) = (0, 0, 0);
    for p in 0..4 {
        for q in p + 1..4 {
            if let Some(Block::Sparse(s)) = model.block(p, q) {
                weights += s.weight.len() * 2;
                cols += s.col.len() * 2;
                row_ptr += s.row_ptr.len() * 4;
            }
        }
    }
    let biases = 1208 * 2;
    let state = 1208;
    let table = Fixed::<i16>::table_len(QFormat::Q8_8, LutSpec::exact(8), 1.0) * 2;
    let fields = 302 * 4;
    let total = weights + cols + row_ptr + biases + state;
    eprintln!(
        "Z(6,4), 1208 units, 11009 edges, Q8.8: weights {weights} B, adjacency {} B (columns {cols} + row starts {row_ptr}), \
         biases {biases} B, chain state {state} B: {total} B = {:.1} KiB; with the 16-bit table ({table} B) and \
         one partition's fields ({fields} B): {} B = {:.1} KiB",
        cols + row_ptr,
        total as f64 / 1024.0,
        total + table + fields,
        (total + table + fields) as f64 / 1024.0
    );
    assert_eq!(total, model.storage_bytes() + state);
    // The compact form a host sends to the device.
    let (bytes, _) = calo4p::model_file::compact(&file, QFormat::Q8_8, false).unwrap();
    assert_eq!(bytes.len(), 50121);
    assert!(total + table + fields <= 64 * 1024);
}
