//! calo4p-core's fixed-point block Gibbs sampler on a microcontroller.
//!
//! The image embeds one model in core's compact binary form (`calo4p model quantise`), reads
//! it into static buffers sized for the 1208-unit Z(6,4) model at Q8.8 (302 units per
//! partition, 11009 edges), builds the 16-bit acceptance table (in integer arithmetic: no
//! float on the device), runs `SWEEPS` sweeps of
//! `CHAINS` chains with xoshiro128++ chain streams from `SEED` (host `calo4p sample --engine
//! fixed --rng xoshiro` draws the same), and reports over semihosting:
//!
//! * the state after every sweep, unit-major (`state[i * C + c]`), to the host file
//!   `states.bin`;
//! * one line of `key=value` counters on the console;
//! * its exit status: 0, or a [`Code`] that says what went wrong. A corrupt or oversized
//!   model is an error code, never a fault.
//!
//! RAM (64 KB in the link): the model's arrays are static (53.7 KB for Z(6,4)); the table,
//! states and local fields live in `sample`'s frame, so that they reuse the stack that
//! parsing needed for its temporaries.
#![no_std]
#![no_main]

mod line;
mod platform;
mod semihosting;

use calo4p_core::compact::{self, CompactError, CompactStorage};
use calo4p_core::gibbs::BlockGibbs;
use calo4p_core::rng::Xoshiro128PlusPlus;
use calo4p_core::{Chains, Fixed, LutSpec, QFormat, Rule};
use core::mem::MaybeUninit;
use core::ptr::addr_of_mut;

include!(concat!(env!("OUT_DIR"), "/config.rs"));

static MODEL: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/model.c4pq"));

/// Units the buffers hold: Z(6,4) with 302 units per colour class.
const MAX_UNITS: usize = 1208;
/// Edges the buffers hold.
const MAX_EDGES: usize = 11009;
/// Row starts: `Model::row_ptr_len([302; 4])`.
const MAX_ROW_PTR: usize = 1818;
/// The Q8.8 heat-bath table at r = 16, β = 1.
const MAX_TABLE: usize = 3018;
/// States, units × chains.
const MAX_STATE: usize = MAX_UNITS;
/// Local fields, largest partition × chains.
const MAX_FIELDS: usize = 302;

static mut BIAS: [i16; MAX_UNITS] = [0; MAX_UNITS];
static mut ROW_PTR: [u32; MAX_ROW_PTR] = [0; MAX_ROW_PTR];
static mut COL: [u16; MAX_EDGES] = [0; MAX_EDGES];
static mut WEIGHT: [i16; MAX_EDGES] = [0; MAX_EDGES];
/// The parsed model's views (about 1 KB): a static rather than a stack value that moves.
static mut SAMPLER: MaybeUninit<BlockGibbs<'static, i16>> = MaybeUninit::uninit();

/// Exit status of a run.
#[derive(Clone, Copy)]
#[repr(u32)]
enum Code {
    /// A buffer is too small for the model (too many units, edges or partitions).
    Capacity = 10,
    /// The image ends early or its row lengths disagree with its counts.
    Truncated = 11,
    /// Not a compact model, or another version.
    Magic = 12,
    /// The stored values are not 16-bit.
    Width = 13,
    /// The stored format is invalid.
    Format = 14,
    /// The checksum does not match: the image is corrupted.
    Checksum = 15,
    /// The arrays do not form a valid model.
    Model = 16,
    /// Any other compact-model error.
    Compact = 17,
    /// The acceptance table does not fit (a format with more fractional bits).
    Table = 20,
    /// The chains or fields do not fit the state buffers.
    Chains = 21,
    /// A sweep refused its arguments.
    Sweep = 22,
    /// The host file could not be written.
    Io = 30,
    /// A panic (a bug: inputs never panic).
    Panic = 40,
    /// A hard fault or trap.
    Fault = 41,
    /// The stack reached the statics (the run may have corrupted them).
    Stack = 42,
}

impl From<CompactError> for Code {
    fn from(e: CompactError) -> Self {
        match e {
            CompactError::Capacity { .. } => Code::Capacity,
            CompactError::Truncated { .. } => Code::Truncated,
            CompactError::Magic => Code::Magic,
            CompactError::Width { .. } => Code::Width,
            CompactError::Format(_) => Code::Format,
            CompactError::Checksum => Code::Checksum,
            CompactError::Model(calo4p_core::ModelError::PartitionCount(_)) => Code::Capacity,
            CompactError::Model(_) => Code::Model,
            _ => Code::Compact,
        }
    }
}

/// Counters of a finished run, in counter ticks (see [`platform`]).
struct Report {
    units: usize,
    edges: usize,
    parse: u64,
    table: u64,
    sweeps: u64,
    saturations: u64,
}

fn run() -> Result<Report, Code> {
    // SAFETY: `run` is called once, so these are the only references to the buffers.
    let (bias, row_ptr, col, weight) = unsafe {
        (&mut *addr_of_mut!(BIAS), &mut *addr_of_mut!(ROW_PTR), &mut *addr_of_mut!(COL), &mut *addr_of_mut!(WEIGHT))
    };
    let t0 = platform::counter();
    let format = load(CompactStorage { bias, row_ptr, col, weight })?;
    let parse = platform::counter() - t0;
    // SAFETY: `load` succeeded, so it wrote SAMPLER; only read from here on.
    let sampler = unsafe { (*addr_of_mut!(SAMPLER)).assume_init_ref() };
    let mut report = sample(sampler, format)?;
    report.parse = parse;
    Ok(report)
}

/// Parse the embedded model. Not inlined, so that its temporaries (the model is built and
/// moved as a ~1 KB value) leave the stack before sampling.
#[inline(never)]
fn load(storage: CompactStorage<'static, i16>) -> Result<QFormat, Code> {
    let (model, format) = compact::parse::<i16>(MODEL, storage)?;
    // SAFETY: nothing else refers to SAMPLER yet.
    unsafe { (*addr_of_mut!(SAMPLER)).write(BlockGibbs::new(model)) };
    Ok(format)
}

#[inline(never)]
fn sample(sampler: &BlockGibbs<'static, i16>, format: QFormat) -> Result<Report, Code> {
    // On the stack, not static: they overlay the RAM that parsing used for temporaries.
    let (mut table, mut state, mut fields) = ([0u16; MAX_TABLE], [0u8; MAX_STATE], [0i32; MAX_FIELDS]);
    let t1 = platform::counter();
    // The host's defaults: the field register is the weight format, the table is indexed
    // at the field's resolution (at most 12 bits).
    let spec = LutSpec { bits: 16, index_frac_bits: format.frac_bits().min(12) };
    let mut arith = Fixed::<i16>::new(format, spec, Rule::HeatBath, 1.0, &mut table).map_err(|_| Code::Table)?;
    let t2 = platform::counter();

    let model = sampler.model();
    let n = model.num_units();
    if n * CHAINS > state.len() || model.max_partition_size() * CHAINS > fields.len() {
        return Err(Code::Chains);
    }
    let mut chains = Chains::new(&mut state[..n * CHAINS], n, CHAINS).map_err(|_| Code::Chains)?;
    let mut rngs: [Xoshiro128PlusPlus; CHAINS] = core::array::from_fn(|_| Xoshiro128PlusPlus::from_u64(0));
    Xoshiro128PlusPlus::chain_streams(SEED, 0, &mut rngs);
    chains.randomise(&mut rngs);
    let fields = &mut fields[..sampler.scratch_len(CHAINS)];
    let fd = semihosting::create(b"states.bin\0").ok_or(Code::Io)?;
    let mut sweeps = 0;
    for _ in 0..SWEEPS {
        let s0 = platform::counter();
        sampler.sweep(&mut arith, &mut chains, &mut rngs, fields).map_err(|_| Code::Sweep)?;
        sweeps += platform::counter() - s0;
        if !semihosting::write(fd, chains.state()) {
            return Err(Code::Io);
        }
    }
    Ok(Report {
        units: n,
        edges: model.num_slots(),
        parse: 0,
        table: t2 - t1,
        sweeps,
        saturations: calo4p_core::Arithmetic::saturations(&arith),
    })
}

fn main() -> ! {
    platform::paint_stack();
    platform::start_counter();
    let dwt0 = platform::dwt_cycles();
    let mut result = run();
    let stack = platform::stack_used();
    if stack >= platform::stack_capacity() {
        result = Err(Code::Stack);
    }
    semihosting::write0(platform::TARGET_NUL);
    line::kv("model_bytes", MODEL.len() as u64);
    line::kv("stack", stack as u64);
    match result {
        Ok(r) => {
            line::kv("units", r.units as u64);
            line::kv("edges", r.edges as u64);
            line::kv("chains", CHAINS as u64);
            line::kv("sweeps", SWEEPS as u64);
            line::kv("seed", SEED);
            line::kv("saturations", r.saturations);
            line::kv("instr_per_tick", platform::INSTRUCTIONS_PER_TICK);
            line::kv("parse_ticks", r.parse);
            line::kv("table_ticks", r.table);
            line::kv("sweep_ticks", r.sweeps);
            if let (Some(a), Some(b)) = (dwt0, platform::dwt_cycles()) {
                line::kv("dwt_cyccnt", b.wrapping_sub(a));
            }
            semihosting::write0(b"ok\n\0");
            semihosting::exit(0)
        }
        Err(code) => {
            line::kv("error", code as u64);
            semihosting::write0(b"\n\0");
            semihosting::exit(code as u32)
        }
    }
}

/// A hard fault or trap: say so and stop, rather than hang.
fn fault() -> ! {
    semihosting::write0(b"fault\n\0");
    semihosting::exit(Code::Fault as u32)
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    semihosting::write0(b"panic\n\0");
    semihosting::exit(Code::Panic as u32)
}
