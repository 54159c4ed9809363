//! The fixed-point acceptance table: `r`-bit probabilities indexed by an exact local field.
//!
//! A unit's update compares an `r`-bit uniform integer `u` (the top `r` bits of one 32-bit
//! draw) with an `r`-bit table entry `p`: the unit becomes (or flips) when `u < p`, so the
//! probability is exactly `p / 2^r`. β is folded into the table.
//!
//! * Heat bath: `p(x) = round(2^r σ(β x))`, stored for `x >= 0` only and mirrored as
//!   `2^r - p(-x)` for negative fields, so the table is exactly symmetric (`p(0) = 2^(r-1)`).
//! * Metropolis: `p(x) = round(2^r exp(-β x))` for an energy rise `x > 0`; a fall is always
//!   accepted.
//!
//! **Table size.** The index is the field's magnitude rounded to `index_frac_bits`
//! fractional bits (`index_frac_bits <= field frac bits`; equal means the table sees the exact
//! field). Entries run until they reach the clamp, so the length is about
//! `ln(2^(r+1)) 2^index_frac_bits / β`: 3018 `u16` entries (5.9 KiB) for Q8.8, r = 16, β = 1.
//! Fields past the end use the last entry. [`Lut::required_len`] tells the caller how much
//! storage to lend.
//!
//! **Construction.** Entries are computed in integer arithmetic only (exp(-x) in Q1.63 by
//! halving, a Taylor series and squaring; see `exp_neg`), so a microcontroller builds the
//! table without soft float or libm. They equal the f64/libm construction bit for bit over
//! every resolution, index resolution, rule and the β values of annealing schedules (test
//! `integer_tables_equal_the_libm_tables`); both are correctly rounded except within about
//! 2^-35 of a half-step, where either could round the other way.
//!
//! **Error bound.** Entries are clamped to `[1, 2^r - 1]` so no state becomes unreachable.
//! Rounding is to nearest, so each probability is within `2^-(r+1)` of the exact one, except
//! where the clamp acts (true probability below `2^-(r+1)`, error at most `2^-r`). With the
//! exact field this is the sampler's only bias: see `MAX_ERROR` in the tests.

use crate::arithmetic::Rule;
use core::fmt;

/// Largest table resolution supported (entries are `u16`).
pub const MAX_BITS: u32 = 16;

/// How the table is laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LutSpec {
    /// Bits `r` of the uniform draw and of each entry, 1..=16.
    pub bits: u32,
    /// Fractional bits of the field that index the table (at most the field's own).
    pub index_frac_bits: u32,
}

impl LutSpec {
    /// A 16-bit table indexed at the field's full resolution (`frac_bits`).
    pub fn exact(frac_bits: u32) -> Self {
        Self { bits: 16, index_frac_bits: frac_bits }
    }
}

/// Why a table cannot be built.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum LutError {
    /// `bits` outside 1..=16.
    Bits(u32),
    /// The index has more fractional bits than the field.
    IndexResolution {
        /// Fractional bits asked for.
        index_frac_bits: u32,
        /// Fractional bits of the field.
        field_frac_bits: u32,
    },
    /// β must be finite and positive.
    Beta(f64),
    /// The storage lent is shorter than the table.
    Capacity {
        /// Entries needed.
        needed: usize,
        /// Entries lent.
        capacity: usize,
    },
}

impl fmt::Display for LutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Bits(b) => write!(f, "table resolution of {b} bits is outside 1..=16"),
            Self::IndexResolution { index_frac_bits, field_frac_bits } => write!(
                f,
                "table index of {index_frac_bits} fractional bits is finer than the field's {field_frac_bits}"
            ),
            Self::Beta(b) => write!(f, "inverse temperature {b} is not finite and positive"),
            Self::Capacity { needed, capacity } => {
                write!(f, "acceptance table needs {needed} entries, storage holds {capacity}")
            }
        }
    }
}

impl core::error::Error for LutError {}

/// An acceptance table in caller-owned storage.
#[derive(Debug)]
pub struct Lut<'t> {
    table: &'t mut [u16],
    len: usize,
    spec: LutSpec,
    /// Field fractional bits minus index fractional bits.
    shift: u32,
    /// Largest index a saturated field can produce.
    max_index: u64,
    rule: Rule,
}

impl<'t> Lut<'t> {
    /// Entries needed for `spec` and `beta` (either rule) when the field's magnitude never
    /// exceeds `max_field_raw` (in units of the field's resolution, `field_frac_bits`).
    pub fn required_len(spec: LutSpec, field_frac_bits: u32, beta: f64, max_field_raw: u64) -> usize {
        let shift = field_frac_bits.saturating_sub(spec.index_frac_bits);
        let by_range = (max_field_raw >> shift) + 1;
        let Some((m, e)) = beta_parts(beta) else { return by_range as usize + 1 };
        let s = e - spec.index_frac_bits as i32;
        // Past x_sat = ln(2^(r+1)) / β every entry sits at the clamp, for both rules: the
        // first index k with exp(-β k 2^-index_frac_bits) <= 2^-(r+1).
        let sat = 1u64 << FRAC.saturating_sub(spec.bits.saturating_add(1));
        let below = |k: u64| exp_neg(m as u128 * k as u128, s) <= sat;
        if !below(by_range) {
            return by_range as usize + 1;
        }
        let (mut lo, mut hi) = (0u64, by_range);
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if below(mid) {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        hi as usize + 1
    }

    /// Build the table for `beta` into `storage`, for fields of `field_frac_bits` fractional
    /// bits whose magnitude never exceeds `max_field_raw`.
    pub fn new(
        storage: &'t mut [u16],
        spec: LutSpec,
        field_frac_bits: u32,
        rule: Rule,
        beta: f64,
        max_field_raw: u64,
    ) -> Result<Self, LutError> {
        if spec.bits == 0 || spec.bits > MAX_BITS {
            return Err(LutError::Bits(spec.bits));
        }
        if spec.index_frac_bits > field_frac_bits {
            return Err(LutError::IndexResolution { index_frac_bits: spec.index_frac_bits, field_frac_bits });
        }
        let shift = field_frac_bits - spec.index_frac_bits;
        let mut lut = Self { table: storage, len: 0, spec, shift, max_index: max_field_raw >> shift, rule };
        lut.set_beta(beta)?;
        Ok(lut)
    }

    /// Refill the table for a new β (annealing).
    pub fn set_beta(&mut self, beta: f64) -> Result<(), LutError> {
        let Some((m, e)) = beta_parts(beta) else { return Err(LutError::Beta(beta)) };
        let spec = LutSpec { bits: self.spec.bits, index_frac_bits: self.spec.index_frac_bits };
        let needed = Self::required_len(spec, self.spec.index_frac_bits, beta, self.max_index);
        if needed > self.table.len() {
            return Err(LutError::Capacity { needed, capacity: self.table.len() });
        }
        let bits = self.spec.bits;
        let s = e - self.spec.index_frac_bits as i32;
        let top = (1u32 << bits) - 1;
        let mut p = 1u64 << (bits - 1);
        // y = exp(-x), x = β k 2^-index_frac_bits, in Q1.63: exact every ANCHOR entries,
        // stepped by exp(-β 2^-index_frac_bits) in between (relative error below 2^-46).
        const ANCHOR: usize = 16;
        let step = exp_neg(m as u128, s);
        let mut y = ONE;
        for (k, entry) in self.table[..needed].iter_mut().enumerate() {
            y = if k % ANCHOR == 0 { exp_neg(m as u128 * k as u128, s) } else { mul(y, step) };
            let y = y as u128;
            let rounded = match self.rule {
                Rule::HeatBath => {
                    // p = round(2^r / (1 + y)), found from the previous entry's: p is right
                    // when (p - 1/2)(1 + y) <= 2^r < (p + 1/2)(1 + y).
                    let (num, den) = (1u128 << (bits + 1 + FRAC), (1u128 << FRAC) + y);
                    while num >= (2 * p as u128 + 1) * den {
                        p += 1;
                    }
                    while p > 0 && num < (2 * p as u128 - 1) * den {
                        p -= 1;
                    }
                    p
                }
                Rule::Metropolis => (((y << bits) + (1 << (FRAC - 1))) >> FRAC) as u64,
            };
            *entry = (rounded as u32).clamp(1, top) as u16;
        }
        self.len = needed;
        Ok(())
    }

    /// The layout.
    pub fn spec(&self) -> LutSpec {
        self.spec
    }

    /// Resolution `r` in bits.
    pub fn bits(&self) -> u32 {
        self.spec.bits
    }

    /// The rule the table serves.
    pub fn rule(&self) -> Rule {
        self.rule
    }

    /// Entries in use.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when the table has no entries (never after a successful build).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The entry for a field of magnitude `magnitude`: the index rounds to nearest
    /// (`(1 << shift) >> 1` is half a step, or 0 when the table sees the exact field) and
    /// stops at the last entry. Branch-free, so that a row of chains vectorises.
    #[inline(always)]
    fn entry(&self, magnitude: u64) -> u32 {
        let k = (magnitude + ((1u64 << self.shift) >> 1)) >> self.shift;
        let table = &self.table[..self.len];
        table[(k as usize).min(table.len() - 1)] as u32
    }

    /// The pieces of [`Lut::p_one`] and [`Lut::p_accept_rise`] a vector loop hoists: the
    /// entries in use, the index shift and the half step added before it.
    #[inline(always)]
    pub(crate) fn index(&self) -> (&[u16], u32, u32) {
        (&self.table[..self.len], self.shift, (1u32 << self.shift) >> 1)
    }

    /// Heat bath: the probability, in units of 2^-r, that a unit with field `field` is 1.
    #[inline(always)]
    pub fn p_one(&self, field: i64) -> u32 {
        let p = self.entry(field.unsigned_abs());
        if field >= 0 {
            p
        } else {
            (1 << self.spec.bits) - p
        }
    }

    /// Metropolis: the acceptance probability, in units of 2^-r, of an energy rise `rise > 0`.
    #[inline(always)]
    pub fn p_accept_rise(&self, rise: i64) -> u32 {
        self.entry(rise.unsigned_abs())
    }

    /// The `r`-bit uniform integer drawn from a 32-bit word.
    #[inline(always)]
    pub fn uniform(&self, u: u32) -> u32 {
        u >> (32 - self.spec.bits)
    }
}

/// Fractional bits of the table builder's fixed point: values in [0, 2) as Q1.63 in a u64.
const FRAC: u32 = 63;
const ONE: u64 = 1 << FRAC;

/// 1/n! in Q1.63, n = 0..=20 (20 terms reach 2^-81 for arguments below 1/2).
const INV_FACTORIAL: [u64; 21] = {
    let mut t = [0u64; 21];
    let (mut n, mut f) = (0, 1u64);
    while n < 21 {
        if n > 0 {
            f *= n as u64;
        }
        t[n] = ((1u128 << FRAC) + f as u128 / 2).div_euclid(f as u128) as u64;
        n += 1;
    }
    t
};

/// Q1.63 product, rounded.
fn mul(a: u64, b: u64) -> u64 {
    ((a as u128 * b as u128 + (1 << (FRAC - 1))) >> FRAC) as u64
}

/// β = m 2^e, or None unless β is finite and positive (read from the bits, so that no
/// floating-point instruction is needed).
fn beta_parts(beta: f64) -> Option<(u64, i32)> {
    let bits = beta.to_bits();
    let (exp, frac) = ((bits >> 52) & 0x7ff, bits & ((1 << 52) - 1));
    match (bits >> 63, exp) {
        (1, _) | (_, 0x7ff) => None,
        (_, 0) if frac == 0 => None,
        (_, 0) => Some((frac, -1074)),
        _ => Some((frac | 1 << 52, exp as i32 - 1075)),
    }
}

/// exp(-x) in Q1.63 for x = m 2^s >= 0, in integer arithmetic only: x is halved j times to
/// below 1/2, the Taylor series summed to 2^-81, and the result squared j times. Relative
/// error about 2^-51, as good as the f64 path it replaced (see the tests).
fn exp_neg(m: u128, s: i32) -> u64 {
    if m == 0 {
        return ONE;
    }
    let len = 128 - m.leading_zeros() as i32; // 2^(len-1+s) <= x < 2^(len+s)
    if len - 1 + s >= 6 {
        return 0; // x >= 64: exp(-x) < 2^-92
    }
    let j = (len + s + 1).max(0); // x / 2^j < 1/2
    let sh = s - j + FRAC as i32;
    let t = if sh >= 0 {
        (m << sh) as u64
    } else if -sh >= 128 {
        0
    } else {
        ((m + (1u128 << (-sh - 1))) >> -sh) as u64
    };
    let (mut even, mut odd, mut power) = (ONE, 0u64, ONE);
    for (n, &inv) in INV_FACTORIAL.iter().enumerate().skip(1) {
        power = mul(power, t);
        if power == 0 {
            break;
        }
        let term = mul(power, inv);
        if n % 2 == 1 {
            odd += term;
        } else {
            even += term;
        }
    }
    let mut y = even - odd;
    for _ in 0..j {
        y = mul(y, y);
    }
    y
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Worst-case error of an entry against libm, in units of 2^-r: half a step from
    /// rounding to nearest, one step where the clamp acts.
    const MAX_ERROR: f64 = 0.5;
    const MAX_CLAMP_ERROR: f64 = 1.0;

    fn sigma(x: f64) -> f64 {
        1.0 / (1.0 + libm::exp(-x))
    }

    #[test]
    fn heat_bath_table_error_bound_and_symmetry() {
        for (bits, frac, beta) in [(16, 8, 1.0), (12, 8, 1.0), (8, 4, 0.5), (16, 12, 2.5), (4, 2, 1.0)] {
            let mut storage = [0u16; 1 << 16];
            let spec = LutSpec { bits, index_frac_bits: frac };
            let lut = Lut::new(&mut storage, spec, frac, Rule::HeatBath, beta, 1 << 20).unwrap();
            let one = (1u32 << bits) as f64;
            assert_eq!(lut.p_one(0), 1 << (bits - 1));
            for raw in -(lut.len() as i64 + 50)..(lut.len() as i64 + 50) {
                let p = lut.p_one(raw);
                assert!(p >= 1 && p < 1 << bits);
                assert_eq!(p + lut.p_one(-raw), 1 << bits, "symmetry at {raw}");
                let exact = sigma(beta * libm::ldexp(raw as f64, -(frac as i32))) * one;
                let err = (p as f64 - exact).abs();
                let clamped = p == 1 || p == (1 << bits) - 1;
                assert!(
                    err <= if clamped { MAX_CLAMP_ERROR } else { MAX_ERROR } + 1e-9,
                    "r={bits} x={raw}: {p} vs {exact}"
                );
            }
        }
    }

    #[test]
    fn table_length_is_as_documented() {
        let spec = LutSpec::exact(8);
        assert_eq!(Lut::required_len(spec, 8, 1.0, 1 << 15), 3018);
        let mut small = [0u16; 100];
        assert_eq!(
            Lut::new(&mut small, spec, 8, Rule::HeatBath, 1.0, 1 << 15).err(),
            Some(LutError::Capacity { needed: 3018, capacity: 100 })
        );
        // The field's range caps the table at small β.
        assert_eq!(Lut::required_len(LutSpec::exact(4), 4, 1e-6, 127), 129);
    }

    #[test]
    fn coarse_index_rounds_to_nearest() {
        let mut storage = [0u16; 4096];
        // Field with 8 fractional bits, table indexed at 4: index = round(|x| / 16).
        let lut =
            Lut::new(&mut storage, LutSpec { bits: 16, index_frac_bits: 4 }, 8, Rule::HeatBath, 1.0, 1 << 15).unwrap();
        assert_eq!(lut.p_one(7), lut.p_one(0));
        assert_eq!(lut.p_one(8), lut.p_one(16));
        assert_eq!(lut.p_one(-8), lut.p_one(-16));
        assert_eq!(lut.p_one(16), libm::rint(65536.0 * sigma(1.0 / 16.0)) as u32);
    }

    #[test]
    fn metropolis_table() {
        let mut storage = [0u16; 4096];
        let lut = Lut::new(&mut storage, LutSpec::exact(8), 8, Rule::Metropolis, 1.0, 1 << 15).unwrap();
        assert_eq!(lut.p_accept_rise(0), 65535);
        assert_eq!(lut.p_accept_rise(256), libm::rint(65536.0 * libm::exp(-1.0)) as u32);
        assert_eq!(lut.p_accept_rise(1 << 14), 1);
    }

    #[test]
    fn refuses_bad_settings() {
        let mut s = [0u16; 16];
        assert_eq!(
            Lut::new(&mut s, LutSpec { bits: 17, index_frac_bits: 0 }, 0, Rule::HeatBath, 1.0, 8).err(),
            Some(LutError::Bits(17))
        );
        assert_eq!(
            Lut::new(&mut s, LutSpec { bits: 8, index_frac_bits: 9 }, 8, Rule::HeatBath, 1.0, 8).err(),
            Some(LutError::IndexResolution { index_frac_bits: 9, field_frac_bits: 8 })
        );
        assert!(matches!(Lut::new(&mut s, LutSpec::exact(0), 0, Rule::HeatBath, f64::NAN, 8), Err(LutError::Beta(_))));
    }

    /// The table as it was built before the integer builder: f64 and libm.
    fn libm_table(spec: LutSpec, rule: Rule, beta: f64, max_index: u64) -> std::vec::Vec<u16> {
        let x_sat = libm::log(libm::ldexp(1.0, spec.bits as i32 + 1)) / beta;
        let by_clamp = libm::ceil(libm::ldexp(x_sat, spec.index_frac_bits as i32));
        let len = by_clamp.min((max_index + 1) as f64) as usize + 1;
        let one = libm::ldexp(1.0, spec.bits as i32);
        let top = (1u32 << spec.bits) - 1;
        (0..len)
            .map(|k| {
                let x = beta * libm::ldexp(k as f64, -(spec.index_frac_bits as i32));
                let p = match rule {
                    Rule::HeatBath => 1.0 / (1.0 + libm::exp(-x)),
                    Rule::Metropolis => libm::exp(-x),
                };
                (libm::rint(one * p) as u32).clamp(1, top) as u16
            })
            .collect()
    }

    /// The integer builder reproduces the f64/libm tables bit for bit: every resolution, index
    /// resolution and rule, at the β values of the tests, the CLI defaults and annealing
    /// schedules (a linear ramp 0.05..=3 in 60 steps).
    #[test]
    fn integer_tables_equal_the_libm_tables() {
        let mut betas = std::vec![1e-6, 0.01, 0.1, 0.25, 0.5, 0.7, 1.0, 1.5, 2.0, 2.5, 3.7, 10.0, 100.0, 1e4];
        betas.extend((0..60).map(|i| 0.05 + 2.95 * i as f64 / 59.0));
        let mut storage = std::vec![0u16; 1 << 16];
        let mut checked = 0usize;
        for bits in [1, 4, 8, 10, 12, 16] {
            for frac in [0, 2, 4, 8, 12] {
                for rule in [Rule::HeatBath, Rule::Metropolis] {
                    for &beta in &betas {
                        for max_raw in [127u64, 1 << 15] {
                            let spec = LutSpec { bits, index_frac_bits: frac };
                            let want = libm_table(spec, rule, beta, max_raw);
                            assert_eq!(Lut::required_len(spec, frac, beta, max_raw), want.len(), "{spec:?} {beta}");
                            if want.len() > storage.len() {
                                continue;
                            }
                            let lut = Lut::new(&mut storage, spec, frac, rule, beta, max_raw).unwrap();
                            assert_eq!(&lut.table[..lut.len], &want[..], "{spec:?} {rule:?} beta {beta}");
                            checked += want.len();
                        }
                    }
                }
            }
        }
        assert!(checked > 1_000_000, "{checked}");
    }
}
