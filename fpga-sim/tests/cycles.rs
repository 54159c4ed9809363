//! Cycle accounting: closed forms for simple configurations, the static schedule equals what
//! a simulated sweep counts, and the Niazi et al. (2024) anchor of about 64 updates/ns.

use calo4p_core::arithmetic::Fixed;
use calo4p_core::model::{Model, SparseStorage};
use calo4p_core::rng::Xoshiro128PlusPlus;
use calo4p_core::zephyr::Zephyr;
use calo4p_core::QFormat;
use calo4p_fpga_sim::config::{LaneMapping, MemoryKind};
use calo4p_fpga_sim::{Accelerator, HwConfig, Layout, Rates};
use rand_core::RngCore;

struct Owned {
    sizes: Vec<usize>,
    bias: Vec<i16>,
    rp: Vec<u32>,
    col: Vec<u16>,
    w: Vec<i16>,
    degree: Vec<usize>,
}

impl Owned {
    fn new(sizes: Vec<usize>, edges: Vec<(usize, usize)>, seed: u64) -> Self {
        let n: usize = sizes.iter().sum();
        let mut rng = Xoshiro128PlusPlus::from_u64(seed);
        let mut raw = move || ((rng.next_u32() % 513) as i32 - 256) as i16;
        let bias = (0..n).map(|_| raw()).collect();
        let mut degree = vec![0; n];
        let mut rp = vec![0u32; Model::<i16>::row_ptr_len(&sizes)];
        let (mut col, mut w) = (vec![0u16; edges.len()], vec![0i16; edges.len()]);
        let weighted: Vec<(usize, usize, i16)> = edges.iter().map(|&(i, j)| (i, j, raw())).collect();
        for &(i, j) in &edges {
            degree[i] += 1;
            degree[j] += 1;
        }
        let st = SparseStorage { row_ptr: &mut rp, col: &mut col, weight: &mut w };
        Model::from_edges(&vec![0i16; n], &sizes, weighted.iter().copied(), st, 1.0).unwrap();
        Self { sizes, bias, rp, col, w, degree }
    }

    fn zephyr(m: usize, t: usize, n: usize) -> Self {
        let z = Zephyr::new(m, t).unwrap();
        let mut q = vec![0u32; 4 * n];
        z.select_per_partition(n, &mut q).unwrap();
        let pos: std::collections::HashMap<u32, usize> = q.iter().enumerate().map(|(i, &q)| (q, i)).collect();
        let mut edges = Vec::new();
        for (i, &qi) in q.iter().enumerate() {
            for nb in z.neighbours(qi as usize).unwrap() {
                if let Some(&j) = pos.get(&(nb as u32)) {
                    if i < j {
                        edges.push((i, j));
                    }
                }
            }
        }
        Self::new(vec![n; 4], edges, 1)
    }

    fn model(&self) -> Model<'_, i16> {
        // Rebuild the views from the filled storage through from_edges' layout.
        let mut blocks = Vec::new();
        let (mut rp_at, mut e_at) = (0, 0);
        let k = self.sizes.len();
        for p in 0..k {
            for q in p + 1..k {
                let rows = self.sizes[p];
                let rp = &self.rp[rp_at..rp_at + rows + 1];
                let len = rp[rows] as usize;
                let s = calo4p_core::model::Sparse {
                    row_ptr: rp,
                    col: &self.col[e_at..e_at + len],
                    weight: &self.w[e_at..e_at + len],
                };
                blocks.push((p, q, calo4p_core::model::Block::Sparse(s)));
                rp_at += rows + 1;
                e_at += len;
            }
        }
        Model::new(&self.bias, &self.sizes, &blocks, QFormat::Q8_8.lsb()).unwrap()
    }
}

fn registers(mut hw: HwConfig) -> HwConfig {
    for m in [&mut hw.memories.weight, &mut hw.memories.state, &mut hw.memories.table] {
        m.kind = MemoryKind::Registers;
        m.depth = 1 << 16;
    }
    hw
}

/// Run `sweeps` sweeps with states and check they cost what the static schedule says.
fn simulate(acc: &mut Accelerator<'_, i16>, chains: usize, sweeps: usize) -> calo4p_fpga_sim::Cycles {
    let f = acc.formats();
    let mut table = vec![0u16; acc.table_len()];
    let mut arith = Fixed::<i16>::new(f.field, f.lut, f.rule, 1.0, &mut table).unwrap();
    let mut state = vec![0u8; acc.model().num_units() * chains];
    let mut rngs = acc.rngs(3, chains);
    let mut total = calo4p_fpga_sim::Cycles::default();
    for _ in 0..sweeps {
        let c = acc.sweep(&mut arith, &mut state, &mut rngs, &mut |_| {}).unwrap();
        assert_eq!(c, acc.sweep_cycles(chains));
        total += &c;
    }
    total
}

/// Registers, adder width >= max degree, no clamps: Σ_p (C ceil(n_p/L) + depth + barrier).
#[test]
fn closed_form_wide_lanes() {
    let owned = Owned::zephyr(3, 4, 50);
    let max_degree = *owned.degree.iter().max().unwrap() as u32;
    for (lanes, chains, map) in [
        (1u32, 1usize, LaneMapping::RoundRobin),
        (7, 3, LaneMapping::Blocked),
        (16, 2, LaneMapping::RoundRobin),
        (50, 1, LaneMapping::Blocked),
        (64, 4, LaneMapping::RoundRobin),
    ] {
        let mut hw = registers(HwConfig::preset("bram-pipelined").unwrap());
        hw.lanes = lanes;
        hw.lane_map = map;
        hw.adder_width = max_degree;
        let depth = hw.latency.depth();
        let barrier = hw.barrier_cycles as u64;
        let mut acc = Accelerator::new(&hw, owned.model(), None, chains, 1.0, Layout::default()).unwrap();
        let expected: u64 =
            owned.sizes.iter().map(|&n| chains as u64 * (n as u64).div_ceil(lanes as u64) + depth + barrier).sum();
        let c = simulate(&mut acc, chains, 2);
        assert_eq!(c.total, 2 * expected, "lanes {lanes}");
        assert_eq!(c.memory_stall, 0);
        assert_eq!(c.updates, 2 * 200 * chains as u64);
        assert_eq!(c.compute + c.memory_stall + c.fill_drain + c.barrier + c.link, c.total);
    }
}

/// mcu-lane: one lane, one term per cycle: Σ_p (C Σ_{i∈p} max(1, d_i) + depth + barrier).
#[test]
fn closed_form_mcu_lane() {
    let owned = Owned::zephyr(6, 4, 302);
    let hw = HwConfig::preset("mcu-lane").unwrap();
    for chains in [1usize, 3] {
        let mut acc = Accelerator::new(&hw, owned.model(), None, chains, 1.0, Layout::default()).unwrap();
        let mut expected = 0u64;
        let mut start = 0;
        for &n in &owned.sizes {
            let terms: u64 = owned.degree[start..start + n].iter().map(|&d| d.max(1) as u64).sum();
            expected += chains as u64 * terms + hw.latency.depth() + hw.barrier_cycles as u64;
            start += n;
        }
        let c = simulate(&mut acc, chains, 1);
        assert_eq!(c.total, expected);
        assert!((Rates::of(&c, &hw, 1).lane_utilisation - c.lane_compute as f64 / c.total as f64).abs() < 1e-12);
    }
}

/// Memory-bound lanes stall: 16 lanes sharing one single-port weight bank.
#[test]
fn shared_memory_stalls() {
    let owned = Owned::zephyr(2, 4, 20);
    let mut hw = HwConfig::preset("bram-pipelined").unwrap();
    hw.memories.weight.banks = 1;
    hw.memories.weight.ports = 1;
    hw.memories.weight.depth = 4096;
    let mut acc = Accelerator::new(&hw, owned.model(), None, 1, 1.0, Layout::default()).unwrap();
    let c = simulate(&mut acc, 1, 1);
    assert!(c.memory_stall > c.compute, "{c:?}");
}

/// Niazi et al., Nature Electronics 2024: 4264 p-bits at 15 MHz, every p-bit of a colour per
/// clock (phase-shifted colour clocks): 4264 x 15e6 / 1e9 = 63.96 updates/ns.
#[test]
fn niazi2024_anchor() {
    let sizes = vec![1066usize; 4];
    let mut rng = Xoshiro128PlusPlus::from_u64(2024);
    let mut edges = std::collections::BTreeSet::new();
    // A sparse 4-colourable graph of degree about 10.
    for i in 0..4264usize {
        for _ in 0..5 {
            let j = (rng.next_u32() as usize) % 4264;
            if i / 1066 != j / 1066 {
                edges.insert((i.min(j), i.max(j)));
            }
        }
    }
    let owned = Owned::new(sizes, edges.into_iter().collect(), 9);
    let hw = HwConfig::preset("niazi2024").unwrap();
    assert!(*owned.degree.iter().max().unwrap() <= hw.adder_width as usize);
    let mut acc = Accelerator::new(&hw, owned.model(), None, 1, 1.0, Layout::default()).unwrap();
    let c = simulate(&mut acc, 1, 3);
    let r = Rates::of(&c, &hw, hw.lanes as usize);
    assert_eq!(c.total, 12, "one cycle per colour");
    assert!((r.updates_per_ns - 63.96).abs() < 1e-9, "{}", r.updates_per_ns);
}

#[test]
fn memories_too_small_are_refused_by_name() {
    let owned = Owned::zephyr(6, 4, 302);
    let mut hw = HwConfig::preset("bram-pipelined").unwrap();
    hw.memories.weight.depth = 64;
    let err = Accelerator::new(&hw, owned.model(), None, 1, 1.0, Layout::default()).unwrap_err();
    assert_eq!(err.parameter, "memories.weight.depth", "{err}");
    let hw = HwConfig::preset("bram-pipelined").unwrap();
    let err = Accelerator::new(&hw, owned.model(), None, 1_000, 1.0, Layout::default()).unwrap_err();
    assert_eq!(err.parameter, "memories.state.depth", "{err}");
    let mut hw = HwConfig::preset("bram-pipelined").unwrap();
    hw.memories.table.depth = 16;
    let err = Accelerator::new(&hw, owned.model(), None, 1, 1.0, Layout::default()).unwrap_err();
    assert_eq!(err.parameter, "memories.table.depth", "{err}");
    let mut hw = HwConfig::preset("bram-pipelined").unwrap();
    hw.memories.weight.word_bits = 20;
    let err = Accelerator::new(&hw, owned.model(), None, 1, 1.0, Layout::default()).unwrap_err();
    assert_eq!(err.parameter, "memories.weight.word_bits", "{err}");
    for (eta, devices) in [(0.0, 2), (1.5, 2), (f64::NAN, 2), (1e-9, 2)] {
        let err = Accelerator::new(&hw, owned.model(), None, 1, 1.0, Layout { devices, eta }).unwrap_err();
        assert!(err.parameter == "eta" || err.parameter == "memories.weight.word_bits", "{err}");
    }
    let hw = HwConfig::preset("bram-pipelined").unwrap();
    let err = Accelerator::new(&hw, owned.model(), None, 1, 1.0, Layout { devices: 0, eta: 1.0 }).unwrap_err();
    assert_eq!(err.parameter, "devices");
    let err = Accelerator::new(&hw, owned.model(), None, 1, 1.0, Layout { devices: 2, eta: 0.0 }).unwrap_err();
    assert_eq!(err.parameter, "eta");
}
