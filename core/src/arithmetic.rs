//! The arithmetic a sampler runs in, behind one trait so that one kernel serves all.
//!
//! [`Arithmetic`] says how a stored weight enters a local field and how a field plus one
//! 32-bit uniform draw becomes a unit's new value. [`Float`] (f64 with libm's `exp`; f32
//! with the branch-free [`crate::expf::exp`], within 1 ulp of libm's, so that a row of f32
//! decisions vectorises) is the reference; [`Fixed`] sums raw integer weights exactly in a
//! wider integer, saturates the field once at the end to the field format (counting every
//! saturation), and decides with an `r`-bit table ([`crate::sigmoid::Lut`]). Both consume exactly one draw per update of an
//! unclamped unit, so with the same seed their differences come from arithmetic alone.

use crate::qformat::{QFormat, RawWeight};
use crate::sigmoid::{Lut, LutError, LutSpec};
use core::marker::PhantomData;

/// The update rule of one unit given the others.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Rule {
    /// Draw the unit from its conditional: P(z = 1) = σ(β h).
    #[default]
    HeatBath,
    /// Propose a flip, accept with min(1, exp(-β ΔE)).
    Metropolis,
}

/// Arithmetic of a sampler: weight storage, field accumulation and the update decision.
pub trait Arithmetic {
    /// Stored weight and bias.
    type Weight: Copy;
    /// Local-field accumulator.
    type Field: Copy + Default;

    /// A field holding only the bias.
    fn start(&self, bias: Self::Weight) -> Self::Field;
    /// `field + w * on`, for `on` in {0, 1}; branch-free so that chains vectorise.
    fn add_if(&self, field: Self::Field, w: Self::Weight, on: u8) -> Self::Field;
    /// The unit's new value (0 or 1) from its field, its current value and a uniform draw.
    fn decide(&mut self, field: Self::Field, current: u8, u: u32) -> u8;
    /// [`Arithmetic::decide`] for a row of chains: `z[k] = decide(fields[k], z[k], u[k])`.
    /// An implementation may replace the loop with a branch-free one that vectorises; it
    /// must give the same states and count the same saturations.
    #[inline(always)]
    fn decide_row(&mut self, fields: &[Self::Field], z: &mut [u8], u: &[u32]) {
        for ((zi, &f), &u) in z.iter_mut().zip(fields).zip(u) {
            *zi = self.decide(f, *zi, u);
        }
    }
    /// The probability, over a uniform draw, that [`Arithmetic::decide`] returns 1: the
    /// exact transition probability of this arithmetic (for stationary distributions).
    fn p_one(&self, field: Self::Field, current: u8) -> f64;
    /// Change the inverse temperature (annealing).
    fn set_beta(&mut self, beta: f64) -> Result<(), LutError>;
    /// Updates whose field lay outside the field register and was clamped (fixed point).
    fn saturations(&self) -> u64 {
        0
    }
    /// For the gather kernel ([`crate::gibbs`]): the field scratch as 32-bit words, for an
    /// arithmetic whose fields are exact integers summed in `i32`. `None` (the default, and
    /// floats) keeps the scatter kernel, so float summation order and results do not change.
    #[inline(always)]
    fn plan_words<'f>(&self, fields: &'f mut [Self::Field]) -> Option<&'f mut [i32]> {
        let _ = fields;
        None
    }
    /// A stored weight as an exact 16-bit integer lane, when it is one (fixed point).
    #[inline(always)]
    fn lane_weight(&self, w: Self::Weight) -> Option<i16> {
        let _ = w;
        None
    }
    /// The field whose exact integer value is `x` (used with [`Arithmetic::lane_weight`]).
    fn lane_field(&self, x: i16) -> Self::Field;
    /// For the gather kernel: decisions straight from exact 16-bit fields
    /// ([`LaneDecision`]), when this arithmetic has them (fixed point). `None` (the default)
    /// makes the kernel widen each field with [`Arithmetic::lane_field`] and call
    /// [`Arithmetic::decide_row`]: the same states and saturations either way.
    #[inline(always)]
    fn lane_decision(&self) -> Option<LaneDecision<'_>> {
        None
    }
    /// Add saturations that a [`LaneDecision`] counted.
    fn count_saturations(&mut self, n: u64) {
        let _ = n;
    }
    /// A field's exact integer value, for an arithmetic whose fields are exact integers in
    /// the units of its raw weights (fixed point; [`crate::gibbs::Tally`]). `None` (the
    /// default, and floats) when they are not.
    #[inline(always)]
    fn exact_field(&self, field: Self::Field) -> Option<i64> {
        let _ = field;
        None
    }
    /// For the *ordered* gather kernel ([`crate::gibbs`]), which adds every field's terms in
    /// the reference kernel's order (so rounding is unchanged): the field scratch as 32-bit
    /// words, to hold its plan, for an arithmetic whose weights fit one word
    /// ([`Arithmetic::weight_word`]; f32). `None` (the default) keeps the scatter kernel.
    #[inline(always)]
    fn ordered_plan_words<'f>(&self, fields: &'f mut [Self::Field]) -> Option<&'f mut [i32]> {
        let _ = fields;
        None
    }
    /// A stored weight as one plan word (its bits), for [`Arithmetic::ordered_plan_words`].
    #[inline(always)]
    fn weight_word(&self, w: Self::Weight) -> Option<i32> {
        let _ = w;
        None
    }
    /// [`Arithmetic::add_if`] with the weight whose [`Arithmetic::weight_word`] is `x`. Only
    /// called where `ordered_plan_words` is `Some`; the default returns `field`.
    #[inline(always)]
    fn add_word_if(&self, field: Self::Field, x: i32, on: u8) -> Self::Field {
        let _ = (x, on);
        field
    }
}

/// A floating-point scalar usable by [`Float`].
pub trait Real:
    Copy
    + Default
    + PartialOrd
    + core::ops::Add<Output = Self>
    + core::ops::Mul<Output = Self>
    + core::ops::Neg<Output = Self>
    + core::fmt::Debug
{
    /// From f64 (rounding).
    fn of(x: f64) -> Self;
    /// To f64 (exact).
    fn to_f64(self) -> f64;
    /// e^x.
    fn exp(self) -> Self;
    /// True when [`Real::exp`] is branch-free and cheap: row decisions then evaluate it for
    /// every chain (also where the result is not needed) so that the row vectorises.
    const BRANCH_FREE_EXP: bool;
    /// A uniform number in (0, 1) from 32 random bits, at this type's resolution.
    fn uniform(u: u32) -> Self;
    /// 0.0 or 1.0 from a bit.
    fn of_bit(b: u8) -> Self;
    /// Values of this type as 32-bit words, where one value is one word (f32), else `None`.
    fn words(values: &mut [Self]) -> Option<&mut [i32]>;
    /// The value's bits as one word, where it has 32 (f32), else `None`.
    fn to_word(self) -> Option<i32>;
    /// The value whose [`Real::to_word`] is `x` (f64: not used; 0).
    fn of_word(x: i32) -> Self;
}

impl Real for f32 {
    fn of(x: f64) -> Self {
        x as f32
    }
    fn to_f64(self) -> f64 {
        self as f64
    }
    /// [`crate::expf::exp`]: saturates outside [-87, 88], which decides exactly as libm's
    /// 0 and ∞ would (see that module and the tests below).
    #[inline(always)]
    fn exp(self) -> Self {
        crate::expf::exp(self)
    }
    const BRANCH_FREE_EXP: bool = true;
    #[inline(always)]
    fn uniform(u: u32) -> Self {
        // Through i32 (the value is below 2^24, so the same float): signed conversion is
        // one vector instruction on every x86 level, unsigned is not before AVX-512.
        ((u >> 8) as i32 as f32 + 0.5) * (1.0 / 16_777_216.0)
    }
    #[inline(always)]
    fn of_bit(b: u8) -> Self {
        b as f32
    }
    #[inline(always)]
    fn words(values: &mut [Self]) -> Option<&mut [i32]> {
        Some(pulp::bytemuck::cast_slice_mut(values))
    }
    #[inline(always)]
    fn to_word(self) -> Option<i32> {
        Some(self.to_bits() as i32)
    }
    #[inline(always)]
    fn of_word(x: i32) -> Self {
        f32::from_bits(x as u32)
    }
}

impl Real for f64 {
    fn of(x: f64) -> Self {
        x
    }
    fn to_f64(self) -> f64 {
        self
    }
    #[inline(always)]
    fn exp(self) -> Self {
        libm::exp(self)
    }
    const BRANCH_FREE_EXP: bool = false;
    #[inline(always)]
    fn uniform(u: u32) -> Self {
        (u as f64 + 0.5) * (1.0 / 4_294_967_296.0)
    }
    #[inline(always)]
    fn of_bit(b: u8) -> Self {
        b as f64
    }
    fn words(values: &mut [Self]) -> Option<&mut [i32]> {
        let _ = values;
        None
    }
    fn to_word(self) -> Option<i32> {
        None
    }
    fn of_word(x: i32) -> Self {
        let _ = x;
        0.0
    }
}

/// Floating-point reference arithmetic.
#[derive(Clone, Copy, Debug)]
pub struct Float<T> {
    beta: T,
    rule: Rule,
}

impl<T: Real> Float<T> {
    /// At inverse temperature `beta` with `rule`.
    pub fn new(beta: f64, rule: Rule) -> Result<Self, LutError> {
        if !(beta.is_finite() && beta > 0.0) {
            return Err(LutError::Beta(beta));
        }
        Ok(Self { beta: T::of(beta), rule })
    }

    /// Heat bath: 1 when u (1 + e^-βh) < 1, i.e. u < σ(βh). Takes -β: (-β) h is -(β h)
    /// exactly, and saves a negation per chain.
    #[inline(always)]
    fn heat_bath(neg_beta: T, field: T, u: u32) -> u8 {
        (T::uniform(u) * (T::of(1.0) + (neg_beta * field).exp()) < T::of(1.0)) as u8
    }

    /// Metropolis: flip when the energy rise is not positive or u < e^-β·rise.
    #[inline(always)]
    fn metropolis(beta: T, field: T, current: u8, u: u32) -> u8 {
        let x = beta * field;
        let u = T::uniform(u);
        // The energy rise of a flip: -h for 0 -> 1, +h for 1 -> 0.
        let rise = if current == 0 { -x } else { x };
        // Both forms give the same answer; the first has no branch (exp is evaluated also
        // where the rise is not positive, and its result ignored there).
        let accept = if T::BRANCH_FREE_EXP {
            (rise <= T::default()) | (u < (-rise).exp())
        } else {
            rise <= T::default() || u < (-rise).exp()
        };
        current ^ accept as u8
    }
}

impl<T: Real> Arithmetic for Float<T> {
    type Weight = T;
    type Field = T;

    #[inline(always)]
    fn start(&self, bias: T) -> T {
        bias
    }

    #[inline(always)]
    fn add_if(&self, field: T, w: T, on: u8) -> T {
        // A multiply, not a select: as fast with AVX-512 and fewer instructions with AVX2.
        field + w * T::of_bit(on)
    }

    #[inline(always)]
    fn decide(&mut self, field: T, current: u8, u: u32) -> u8 {
        match self.rule {
            Rule::HeatBath => Self::heat_bath(-self.beta, field, u),
            Rule::Metropolis => Self::metropolis(self.beta, field, current, u),
        }
    }

    /// The rule chosen once per row, then `decide`'s own arithmetic chain by chain: with
    /// f32's branch-free exp the loops vectorise; results equal `decide`'s (tested below).
    #[inline(always)]
    fn decide_row(&mut self, fields: &[T], z: &mut [u8], u: &[u32]) {
        let n = z.len().min(fields.len()).min(u.len());
        let (z, fields, u) = (&mut z[..n], &fields[..n], &u[..n]);
        let beta = self.beta;
        let rows = z.iter_mut().zip(fields).zip(u);
        match self.rule {
            Rule::HeatBath => {
                for ((zi, &f), &u) in rows {
                    *zi = Self::heat_bath(-beta, f, u);
                }
            }
            Rule::Metropolis => {
                for ((zi, &f), &u) in rows {
                    *zi = Self::metropolis(beta, f, *zi, u);
                }
            }
        }
    }

    fn p_one(&self, field: T, current: u8) -> f64 {
        let x = (self.beta * field).to_f64();
        match self.rule {
            Rule::HeatBath => 1.0 / (1.0 + libm::exp(-x)),
            Rule::Metropolis => {
                let rise = if current == 0 { -x } else { x };
                let accept = if rise <= 0.0 { 1.0 } else { libm::exp(-rise) };
                if current == 0 {
                    accept
                } else {
                    1.0 - accept
                }
            }
        }
    }

    fn set_beta(&mut self, beta: f64) -> Result<(), LutError> {
        *self = Self::new(beta, self.rule)?;
        Ok(())
    }

    fn lane_field(&self, x: i16) -> T {
        T::of(x as f64)
    }

    #[inline(always)]
    fn ordered_plan_words<'f>(&self, fields: &'f mut [T]) -> Option<&'f mut [i32]> {
        T::words(fields)
    }

    #[inline(always)]
    fn weight_word(&self, w: T) -> Option<i32> {
        w.to_word()
    }

    #[inline(always)]
    fn add_word_if(&self, field: T, x: i32, on: u8) -> T {
        self.add_if(field, T::of_word(x), on)
    }
}

/// A fixed-point decision from exact 16-bit fields, for the gather kernel, which sums
/// fields in i16 lanes: the same states and saturations as [`Fixed`]'s `decide_row` with
/// those fields widened, in half the lane width, with every constant prepared once.
///
/// With a table entry p = T(|h|) and an `r`-bit draw d, heat bath sets the unit when
/// d < p for h ≥ 0 and d < 2^r − p for h < 0. The second is ¬(d' < p) with the mirrored
/// draw d' = d ⊕ (2^r − 1) = 2^r − 1 − d, so one unsigned 16-bit compare and two exclusive ors
/// decide both signs, and no threshold of 2^r (which needs 17 bits) is formed. Metropolis
/// mirrors the draw of a unit at 1 instead: from 0 it is set when h ≥ 0 or d < p, from 1 it
/// stays when h > 0 and ¬(d' < p).
#[derive(Clone, Copy, Debug)]
pub struct LaneDecision<'a> {
    table: LaneTable<'a>,
    /// The field register's range within i16.
    lo: i16,
    hi: i16,
    /// Table index k = min((|h| + half) >> shift, last), all within 16 bits.
    half: u16,
    shift: u32,
    /// r: draws are the top `r` bits of a word.
    bits: u32,
    /// 2^r − 1.
    mirror: u16,
    rule: Rule,
}

/// Chains a [`LaneDecision`] decides at once.
pub const LANE_ROW: usize = 128;

/// The table a [`LaneDecision`] loads from: the widened copy where one was lent (a vector
/// gather loads 32-bit elements), else the table itself.
#[derive(Clone, Copy, Debug)]
enum LaneTable<'a> {
    Wide(&'a [u32]),
    Narrow(&'a [u16]),
}

impl LaneDecision<'_> {
    /// Bits `r` of a draw: the top bits of a word ([`crate::rng::Streams::draw_top_bits`]).
    pub fn bits(&self) -> u32 {
        self.bits
    }

    /// `z[k]` = the new value of a unit at `z[k]` with exact field `h[k]` and `r`-bit draw
    /// `d[k]` (`r` = [`LaneDecision::bits`]: the draw of [`Fixed`]'s `decide` from word `u` is
    /// `u >> (32 - r)`), for the first [`LANE_ROW`] chains at most (the gather kernel's
    /// chunk); returns the fields that lay outside the field register (clamped, as [`Fixed`]
    /// does).
    #[inline(always)]
    pub fn decide(&self, h: &[i16], z: &mut [u8], d: &[u16]) -> u32 {
        let clamp = self.lo != i16::MIN || self.hi != i16::MAX;
        match (self.table, clamp) {
            (LaneTable::Wide(t), false) => self.decide_with::<u32, false>(t, h, z, d),
            (LaneTable::Wide(t), true) => self.decide_with::<u32, true>(t, h, z, d),
            (LaneTable::Narrow(t), false) => self.decide_with::<u16, false>(t, h, z, d),
            (LaneTable::Narrow(t), true) => self.decide_with::<u16, true>(t, h, z, d),
        }
    }

    /// One branch-free pass per rule (see the type's docs); `CLAMP` only where the field
    /// register is narrower than 16 bits.
    #[inline(always)]
    fn decide_with<T: Copy + Into<u32>, const CLAMP: bool>(
        &self,
        table: &[T],
        h: &[i16],
        z: &mut [u8],
        u: &[u16],
    ) -> u32 {
        let Some(last) = table.len().checked_sub(1) else { return 0 };
        let last = last.min(u16::MAX as usize) as u16;
        let (lo, hi, half, shift, mirror) = (self.lo, self.hi, self.half, self.shift, self.mirror);
        // The draws come as 16-bit lanes: the decision loop has only 16-bit lanes (and
        // bytes), twice as many to a register as with 32-bit draws.
        let n = z.len().min(h.len()).min(u.len()).min(LANE_ROW);
        let (z, h, u) = (&mut z[..n], &h[..n], &u[..n]);
        let mut saturated = 0u32;
        // Sixteen lanes at a time as arrays: one 256-bit register of each quantity (LLVM's
        // loop vectoriser picks eight lanes for this loop, the table loads being scalar).
        // Each block's draws are read into an array before any state is written: LLVM cannot
        // tell that the caller's draws and the states do not overlap, and would otherwise
        // keep the loads between the stores, one lane at a time.
        let blocks = z.chunks_exact_mut(16).zip(h.chunks_exact(16)).zip(u.as_chunks::<16>().0);
        for ((z, h), &u) in blocks {
            let (mut x, mut k, mut p, mut d) = ([0i16; 16], [0u16; 16], [0u16; 16], u);
            for t in 0..16 {
                x[t] = if CLAMP { h[t].clamp(lo, hi) } else { h[t] };
                saturated += (CLAMP && x[t] != h[t]) as u32;
                k[t] = ((x[t].unsigned_abs() + half) >> shift).min(last);
                p[t] = table[k[t] as usize].into() as u16;
            }
            match self.rule {
                Rule::HeatBath => {
                    for t in 0..16 {
                        let neg = x[t] < 0;
                        d[t] ^= if neg { mirror } else { 0 };
                        z[t] = ((d[t] < p[t]) ^ neg) as u8;
                    }
                }
                Rule::Metropolis => {
                    for t in 0..16 {
                        let one = z[t] != 0;
                        let below = (d[t] ^ if one { mirror } else { 0 }) < p[t];
                        z[t] = if one { x[t] > 0 && !below } else { x[t] >= 0 || below } as u8;
                    }
                }
            }
        }
        let tail = n - n % 16;
        let rows = z[tail..].iter_mut().zip(&h[tail..]).zip(&u[tail..]);
        // The index lines repeat in both arms on purpose: shared through a closure, such
        // loops stopped vectorising (see `Fixed::decide_row_with`).
        match self.rule {
            Rule::HeatBath => {
                for ((zi, &f), &u) in rows {
                    let x = if CLAMP { f.clamp(lo, hi) } else { f };
                    saturated += (CLAMP && x != f) as u32;
                    let k = ((x.unsigned_abs() + half) >> shift).min(last);
                    let p = table[k as usize].into() as u16;
                    let neg = x < 0;
                    let d = u ^ if neg { mirror } else { 0 };
                    *zi = ((d < p) ^ neg) as u8;
                }
            }
            Rule::Metropolis => {
                for ((zi, &f), &u) in rows {
                    let x = if CLAMP { f.clamp(lo, hi) } else { f };
                    saturated += (CLAMP && x != f) as u32;
                    let k = ((x.unsigned_abs() + half) >> shift).min(last);
                    let p = table[k as usize].into() as u16;
                    let one = *zi != 0;
                    let below = (u ^ if one { mirror } else { 0 }) < p;
                    *zi = if one { x > 0 && !below } else { x >= 0 || below } as u8;
                }
            }
        }
        saturated
    }
}

/// Fixed-point arithmetic: raw weights `W` in format `format`, exact sums, an `r`-bit table.
#[derive(Debug)]
pub struct Fixed<'t, W: RawWeight> {
    lut: Lut<'t>,
    /// The table's entries widened to u32 (first `wide_len`), when storage was lent: vector
    /// gathers load 32-bit elements, so this is what lets a row of decisions vectorise.
    wide: &'t mut [u32],
    wide_len: usize,
    min: W::Acc,
    max: W::Acc,
    saturations: u64,
    _w: PhantomData<W>,
}

impl<'t, W: RawWeight> Fixed<'t, W> {
    /// Fields saturate to the register format `field`, whose fractional bits must be those
    /// of the weights (e.g. the weight format itself, as a hardware field register of the
    /// same width would); the table per `spec`, built into `table` for `beta`.
    /// See [`Fixed::table_len`] for the storage needed.
    pub fn new(field: QFormat, spec: LutSpec, rule: Rule, beta: f64, table: &'t mut [u16]) -> Result<Self, LutError> {
        let lut = Lut::new(table, spec, field.frac_bits(), rule, beta, field.max_raw() as u64 + 1)?;
        Ok(Self {
            lut,
            min: W::acc_from_i64(field.min_raw() as i64),
            max: W::acc_from_i64(field.max_raw() as i64),
            saturations: 0,
            wide: &mut [],
            wide_len: 0,
            _w: PhantomData,
        })
    }

    /// Keep a u32 copy of the table in `wide` (refreshed by `set_beta`), which the row
    /// decision gathers from. Lend as many entries as the table's own storage; when a β
    /// needs more, rows decide from the u16 table (the same results, slower).
    pub fn with_wide_table(mut self, wide: &'t mut [u32]) -> Self {
        self.wide = wide;
        self.widen();
        self
    }

    fn widen(&mut self) {
        let (table, _, _) = self.lut.index();
        self.wide_len = if table.len() <= self.wide.len() { table.len() } else { 0 };
        for (w, &t) in self.wide.iter_mut().zip(&table[..self.wide_len]) {
            *w = t as u32;
        }
    }

    /// Table entries needed for `new` with these arguments.
    pub fn table_len(field: QFormat, spec: LutSpec, beta: f64) -> usize {
        Lut::required_len(spec, field.frac_bits(), beta, field.max_raw() as u64 + 1)
    }

    /// The acceptance table.
    pub fn lut(&self) -> &Lut<'t> {
        &self.lut
    }

    /// [`Arithmetic::decide_row`] with the table entries `table` (u16 or widened u32);
    /// returns the saturations. One branch-free pass; with a u32 table the loads become a
    /// gather where the instruction set has a fast one (AVX-512), else scalar loads.
    #[inline(always)]
    fn decide_row_with<T: Copy + Into<u32>>(&self, table: &[T], fields: &[W::Acc], z: &mut [u8], u: &[u32]) -> u32 {
        // The field register is at most 32 bits wide, so the clamp works in i32 (for i32
        // accumulators the first clamp folds away).
        let (min, max) = (W::acc_i64(self.min) as i32, W::acc_i64(self.max) as i32);
        let wide = |f: W::Acc| W::acc_i64(f).clamp(i32::MIN as i64, i32::MAX as i64) as i32;
        let (_, shift, half) = self.lut.index();
        // The index is computed in u32 (one vector lane per chain; the table is far shorter).
        let Some(last) = table.len().checked_sub(1) else { return 0 };
        let last = last.min(u32::MAX as usize) as u32;
        let one = 1u32 << self.lut.bits();
        let drop = 32 - self.lut.bits();
        // Draws and thresholds are compared as i32 (one instruction where unsigned compares
        // take three): both lie in 0..=2^16, as the table has at most 16 bits.
        let n = z.len().min(fields.len()).min(u.len());
        let (z, fields, u) = (&mut z[..n], &fields[..n], &u[..n]);
        let mut saturated = 0u32;
        let rows = z.iter_mut().zip(fields).zip(u);
        // The clamp-and-lookup lines repeat in both arms on purpose: shared through a closure,
        // the loops stop vectorising (callgrind, Z(6,4), 256 chains: 44.4 -> 64.9 instructions
        // per update for heat bath, 45.0 -> 68.9 for Metropolis).
        match self.lut.rule() {
            Rule::HeatBath => {
                for ((zi, &f), &u) in rows {
                    let (f, f32) = (W::acc_i64(f), wide(f));
                    let h = f32.clamp(min, max);
                    saturated += (h as i64 != f) as u32;
                    let k = ((h.unsigned_abs() + half) >> shift).min(last) as usize;
                    let p: u32 = table[k].into();
                    let threshold = if h >= 0 { p } else { one - p };
                    *zi = (((u >> drop) as i32) < threshold as i32) as u8;
                }
            }
            Rule::Metropolis => {
                for ((zi, &f), &u) in rows {
                    let (f, f32) = (W::acc_i64(f), wide(f));
                    let h = f32.clamp(min, max);
                    saturated += (h as i64 != f) as u32;
                    let k = ((h.unsigned_abs() + half) >> shift).min(last) as usize;
                    let p: u32 = table[k].into();
                    // From 0 the rise is -h; from 1 it is h, and the unit stays 1 unless accepted.
                    let from_zero = if h >= 0 { one } else { p };
                    let from_one = if h <= 0 { 0 } else { one - p };
                    let threshold = if *zi == 0 { from_zero } else { from_one };
                    *zi = (((u >> drop) as i32) < threshold as i32) as u8;
                }
            }
        }
        saturated
    }

    /// The new value is 1 exactly when the r-bit draw is below this (0..=2^r).
    #[inline(always)]
    fn threshold(&self, h: i64, current: u8) -> u32 {
        let one = 1u32 << self.lut.bits();
        match self.lut.rule() {
            Rule::HeatBath => self.lut.p_one(h),
            // Metropolis from 0: accept the rise -h; from 1: stay unless the flip is accepted.
            Rule::Metropolis if current == 0 => {
                if h >= 0 {
                    one
                } else {
                    self.lut.p_accept_rise(-h)
                }
            }
            Rule::Metropolis => {
                if h <= 0 {
                    0
                } else {
                    one - self.lut.p_accept_rise(h)
                }
            }
        }
    }
}

impl<W: RawWeight> Arithmetic for Fixed<'_, W> {
    type Weight = W;
    type Field = W::Acc;

    #[inline(always)]
    fn start(&self, bias: W) -> W::Acc {
        bias.acc()
    }

    #[inline(always)]
    fn add_if(&self, field: W::Acc, w: W, on: u8) -> W::Acc {
        field + (w.acc() & -W::acc_of_bit(on))
    }

    #[inline(always)]
    fn decide(&mut self, field: W::Acc, current: u8, u: u32) -> u8 {
        let field = if field > self.max {
            self.saturations += 1;
            self.max
        } else if field < self.min {
            self.saturations += 1;
            self.min
        } else {
            field
        };
        let u = self.lut.uniform(u);
        (u < self.threshold(W::acc_i64(field), current)) as u8
    }

    /// Branch-free: clamp and count, table index by magnitude, mirror or Metropolis
    /// threshold by select, compare. Equal to `decide` chain by chain (tested below and in
    /// `gibbs`); the field after clamping fits in 32 bits for every field format.
    #[inline(always)]
    fn decide_row(&mut self, fields: &[W::Acc], z: &mut [u8], u: &[u32]) {
        let saturated = if self.wide_len > 0 {
            self.decide_row_with(&self.wide[..self.wide_len], fields, z, u)
        } else {
            self.decide_row_with(self.lut.index().0, fields, z, u)
        };
        self.saturations += saturated as u64;
    }

    fn p_one(&self, field: W::Acc, current: u8) -> f64 {
        let field = if field > self.max {
            self.max
        } else if field < self.min {
            self.min
        } else {
            field
        };
        libm::ldexp(self.threshold(W::acc_i64(field), current) as f64, -(self.lut.bits() as i32))
    }

    fn set_beta(&mut self, beta: f64) -> Result<(), LutError> {
        self.lut.set_beta(beta)?;
        self.widen();
        Ok(())
    }

    fn saturations(&self) -> u64 {
        self.saturations
    }

    #[inline(always)]
    fn plan_words<'f>(&self, fields: &'f mut [W::Acc]) -> Option<&'f mut [i32]> {
        W::acc_words(fields)
    }

    #[inline(always)]
    fn lane_weight(&self, w: W) -> Option<i16> {
        i16::try_from(w.raw()).ok()
    }

    #[inline(always)]
    fn lane_field(&self, x: i16) -> W::Acc {
        W::acc_from_i64(x as i64)
    }

    #[inline(always)]
    fn exact_field(&self, field: W::Acc) -> Option<i64> {
        Some(W::acc_i64(field))
    }

    /// Some unless the table index drops 16 or more bits of the field (its sums then need
    /// more than 16 bits).
    #[inline(always)]
    fn lane_decision(&self) -> Option<LaneDecision<'_>> {
        let (table, shift, half) = self.lut.index();
        let bits = self.lut.bits();
        if shift > 15 || half > 1 << 14 || bits > 16 {
            return None;
        }
        let range = |x: W::Acc| W::acc_i64(x).clamp(i16::MIN as i64, i16::MAX as i64) as i16;
        let table = match self.wide_len {
            0 => LaneTable::Narrow(table),
            len => LaneTable::Wide(&self.wide[..len]),
        };
        Some(LaneDecision {
            table,
            lo: range(self.min),
            hi: range(self.max),
            half: half as u16,
            shift,
            bits,
            mirror: ((1u32 << bits) - 1) as u16,
            rule: self.lut.rule(),
        })
    }

    fn count_saturations(&mut self, n: u64) {
        self.saturations += n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `p_one` is exactly the fraction of the 2^r draws for which `decide` returns 1.
    #[test]
    fn p_one_counts_the_accepting_draws() {
        let mut table = [0u16; 1 << 12];
        for rule in [Rule::HeatBath, Rule::Metropolis] {
            let mut fixed =
                Fixed::<i16>::new(QFormat::Q4_4, LutSpec { bits: 10, index_frac_bits: 4 }, rule, 0.7, &mut table)
                    .unwrap();
            for field in [-200i32, -37, -1, 0, 1, 5, 90, 127, 300] {
                for current in [0u8, 1] {
                    let ones = (0u32..1 << 10).filter(|&u| fixed.decide(field, current, u << 22) == 1).count();
                    assert_eq!(ones as f64 / 1024.0, fixed.p_one(field, current), "{rule:?} {field} {current}");
                }
            }
        }
    }

    /// The vectorisable row decision equals `decide` chain by chain, saturations included,
    /// for both rules, coarse and exact table indices, and 8/16-bit weights.
    #[test]
    fn decide_row_equals_decide() {
        let mut t1 = [0u16; 1 << 13];
        let mut t2 = [0u16; 1 << 13];
        let fields: std::vec::Vec<i32> = (-40_000..40_000).step_by(37).collect();
        let mut g = crate::rng::Xoshiro128PlusPlus::from_u64(1);
        for rule in [Rule::HeatBath, Rule::Metropolis] {
            for (format, spec) in [
                (QFormat::Q8_8, LutSpec::exact(8)),
                (QFormat::Q8_8, LutSpec { bits: 12, index_frac_bits: 5 }),
                (QFormat::Q4_4, LutSpec { bits: 10, index_frac_bits: 4 }),
            ] {
                let mut a = Fixed::<i16>::new(format, spec, rule, 0.8, &mut t1).unwrap();
                let mut b = Fixed::<i16>::new(format, spec, rule, 0.8, &mut t2).unwrap();
                let u: std::vec::Vec<u32> = fields.iter().map(|_| rand_core::RngCore::next_u32(&mut g)).collect();
                let z0: std::vec::Vec<u8> = u.iter().map(|&x| (x & 1) as u8).collect();
                let scalar: std::vec::Vec<u8> =
                    fields.iter().zip(&z0).zip(&u).map(|((&f, &z), &u)| a.decide(f, z, u)).collect();
                let mut row = z0.clone();
                b.decide_row(&fields, &mut row, &u);
                assert_eq!(scalar, row, "{rule:?} {format} {spec:?}");
                assert_eq!(a.saturations(), b.saturations());
                let mut t3 = [0u16; 1 << 13];
                let mut wide = [0u32; 1 << 13];
                let mut c = Fixed::<i16>::new(format, spec, rule, 0.8, &mut t3).unwrap().with_wide_table(&mut wide);
                let mut row = z0.clone();
                c.decide_row(&fields, &mut row, &u);
                assert_eq!((scalar, a.saturations()), (row, c.saturations()));
                assert!(a.saturations() > 0);
            }
        }
    }

    /// The decision from i16 lanes equals `decide` for every 16-bit field (rows of
    /// [`LANE_ROW`] and a shorter tail), saturations included: both rules, a field register
    /// of 16 bits (no clamp) and a narrower one, rounded and exact table indices, 16- and
    /// 10-bit tables, wide and narrow tables.
    #[test]
    fn lane_decision_equals_decide() {
        let mut g = crate::rng::Xoshiro128PlusPlus::from_u64(3);
        let fields: std::vec::Vec<i16> = (i16::MIN..=i16::MAX).collect();
        for rule in [Rule::HeatBath, Rule::Metropolis] {
            for (format, spec, beta) in [
                (QFormat::Q8_8, LutSpec::exact(8), 1.0),
                (QFormat::Q8_8, LutSpec { bits: 10, index_frac_bits: 5 }, 0.6),
                (QFormat::new(3, 8).unwrap(), LutSpec { bits: 16, index_frac_bits: 6 }, 2.5),
                (QFormat::Q4_12, LutSpec { bits: 12, index_frac_bits: 12 }, 0.9),
            ] {
                for wide in [false, true] {
                    let len = Fixed::<i16>::table_len(format, spec, beta);
                    let (mut t1, mut t2, mut w) = (std::vec![0u16; len], std::vec![0u16; len], std::vec![0u32; len]);
                    let mut a = Fixed::<i16>::new(format, spec, rule, beta, &mut t1).unwrap();
                    let b = Fixed::<i16>::new(format, spec, rule, beta, &mut t2).unwrap();
                    let b = if wide { b.with_wide_table(&mut w) } else { b };
                    let lanes = b.lane_decision().unwrap();
                    let u: std::vec::Vec<u32> = fields.iter().map(|_| rand_core::RngCore::next_u32(&mut g)).collect();
                    let z0: std::vec::Vec<u8> = u.iter().map(|&x| (x >> 3 & 1) as u8).collect();
                    let want: std::vec::Vec<u8> =
                        fields.iter().zip(&z0).zip(&u).map(|((&f, &z), &u)| a.decide(f as i32, z, u)).collect();
                    assert_eq!(lanes.bits(), spec.bits);
                    let d: std::vec::Vec<u16> = u.iter().map(|&x| (x >> (32 - lanes.bits())) as u16).collect();
                    let mut got = z0.clone();
                    let mut saturated = 0u64;
                    for row in [LANE_ROW, 100] {
                        let k = got.len() / 2;
                        let (lo, hi) = if row == LANE_ROW { (0, k) } else { (k, got.len()) };
                        for s in (lo..hi).step_by(row) {
                            let e = (s + row).min(hi);
                            saturated += lanes.decide(&fields[s..e], &mut got[s..e], &d[s..e]) as u64;
                        }
                    }
                    let what = (rule, format, spec, wide);
                    assert_eq!(got, want, "{what:?}");
                    assert_eq!(saturated, a.saturations(), "{what:?}");
                    assert_eq!(saturated > 0, format.max_raw() < i16::MAX as i32, "{what:?}");
                }
            }
        }
    }

    /// The float row decision equals `decide` chain by chain, for f32 (the branch-free,
    /// vectorised row) and f64, both rules, fields from 0 to far beyond exp's domain.
    #[test]
    fn float_decide_row_equals_decide() {
        let mut g = crate::rng::Xoshiro128PlusPlus::from_u64(2);
        let mut next = || rand_core::RngCore::next_u32(&mut g);
        let scales = [1e-3f64, 1.0, 10.0, 200.0, 1e6];
        let fields: std::vec::Vec<f64> =
            (0..20_000).map(|k| (next() as f64 / 4_294_967_296.0 - 0.5) * scales[k % scales.len()]).collect();
        let u: std::vec::Vec<u32> = fields.iter().map(|_| next()).collect();
        let z0: std::vec::Vec<u8> = u.iter().map(|&x| (x & 1) as u8).collect();
        fn check<T: Real>(fields: &[f64], z0: &[u8], u: &[u32]) {
            for rule in [Rule::HeatBath, Rule::Metropolis] {
                for beta in [0.3, 1.0, 4.0] {
                    let mut a = Float::<T>::new(beta, rule).unwrap();
                    let f: std::vec::Vec<T> = fields.iter().map(|&x| T::of(x)).collect();
                    let scalar: std::vec::Vec<u8> =
                        f.iter().zip(z0).zip(u).map(|((&f, &z), &u)| a.decide(f, z, u)).collect();
                    let mut row = z0.to_vec();
                    a.decide_row(&f, &mut row, u);
                    assert_eq!(scalar, row, "{rule:?} {beta}");
                    assert!(row.contains(&0) && row.contains(&1));
                }
            }
        }
        check::<f32>(&fields, &z0, &u);
        check::<f64>(&fields, &z0, &u);
    }

    /// f32 decisions against the same rules with libm's `expf`. Where β·h lies beyond exp's
    /// domain [-87, 88] (the saturated p = 0 and p = 1 limits) they are identical for every
    /// draw: decisions are monotone in the draw, so the smallest and largest draws decide for
    /// all, checked for every f32 field with 80 ≤ |βh| ≤ 256 (15 million) and every 4099th
    /// one beyond, to f32::MAX and infinity. Inside, they can differ only for a draw within exp's 1 ulp of the
    /// threshold (about 1 in 10^7 draws): none in 4 million pairs here.
    #[test]
    fn float32_decides_as_with_libm() {
        let libm_decide = |rule: Rule, x: f32, current: u8, u: u32| -> u8 {
            let u = f32::uniform(u);
            match rule {
                Rule::HeatBath => (u * (1.0 + libm::expf(-x)) < 1.0) as u8,
                Rule::Metropolis => {
                    let rise = if current == 0 { -x } else { x };
                    current ^ (rise <= 0.0 || u < libm::expf(-rise)) as u8
                }
            }
        };
        let rules = [Rule::HeatBath, Rule::Metropolis];
        let mut ours = rules.map(|rule| Float::<f32>::new(1.0, rule).unwrap());
        let extremes = [0u32, 255, 256, u32::MAX - 256, u32::MAX];
        std::thread::scope(|s| {
            for sign in [1.0f32, -1.0] {
                let ours = ours;
                s.spawn(move || {
                    let mut ours = ours;
                    let (near, far) = (80f32.to_bits()..256f32.to_bits(), 256f32.to_bits()..=f32::MAX.to_bits());
                    for bits in near.chain(far.step_by(4099)).chain([f32::MAX.to_bits(), f32::INFINITY.to_bits()]) {
                        let x = sign * f32::from_bits(bits);
                        for (a, rule) in ours.iter_mut().zip(rules) {
                            for current in [0, 1] {
                                for u in extremes {
                                    assert_eq!(a.decide(x, current, u), libm_decide(rule, x, current, u), "{x:e}");
                                }
                            }
                        }
                    }
                });
            }
        });
        let mut g = crate::rng::Xoshiro128PlusPlus::from_u64(3);
        for _ in 0..1_000_000 {
            let (f, u) = (rand_core::RngCore::next_u32(&mut g), rand_core::RngCore::next_u32(&mut g));
            let x = (f as i32) as f32 * (40.0 / 2_147_483_648.0);
            for (a, rule) in ours.iter_mut().zip(rules) {
                for current in [0, 1] {
                    assert_eq!(a.decide(x, current, u), libm_decide(rule, x, current, u), "{x:e} {u}");
                }
            }
        }
    }

    #[test]
    fn float_p_one_is_the_conditional() {
        let f = Float::<f64>::new(2.0, Rule::HeatBath).unwrap();
        assert!((f.p_one(0.5, 0) - 1.0 / (1.0 + libm::exp(-1.0))).abs() < 1e-15);
        let m = Float::<f64>::new(1.0, Rule::Metropolis).unwrap();
        assert_eq!(m.p_one(0.5, 0), 1.0);
        assert!((m.p_one(0.5, 1) - (1.0 - libm::exp(-0.5))).abs() < 1e-15);
        assert!((m.p_one(-0.5, 0) - libm::exp(-0.5)).abs() < 1e-15);
    }
}
