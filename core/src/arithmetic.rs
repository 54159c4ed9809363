//! The arithmetic a sampler runs in, behind one trait so that one kernel serves all.
//!
//! [`Arithmetic`] says how a stored weight enters a local field and how a field plus one
//! 32-bit uniform draw becomes a unit's new value. [`Float`] (f32 or f64, libm) is the
//! reference; [`Fixed`] sums raw integer weights exactly in a wider integer, saturates the
//! field once at the end to the field format (counting every saturation), and decides with
//! an `r`-bit table ([`crate::sigmoid::Lut`]). Both consume exactly one draw per update of an
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
    /// Change the inverse temperature (annealing).
    fn set_beta(&mut self, beta: f64) -> Result<(), LutError>;
    /// Updates whose field lay outside the field register and was clamped (fixed point).
    fn saturations(&self) -> u64 {
        0
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
    /// A uniform number in (0, 1) from 32 random bits, at this type's resolution.
    fn uniform(u: u32) -> Self;
    /// 0.0 or 1.0 from a bit.
    fn of_bit(b: u8) -> Self;
}

impl Real for f32 {
    fn of(x: f64) -> Self {
        x as f32
    }
    fn to_f64(self) -> f64 {
        self as f64
    }
    #[inline(always)]
    fn exp(self) -> Self {
        libm::expf(self)
    }
    #[inline(always)]
    fn uniform(u: u32) -> Self {
        ((u >> 8) as f32 + 0.5) * (1.0 / 16_777_216.0)
    }
    #[inline(always)]
    fn of_bit(b: u8) -> Self {
        b as f32
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
    #[inline(always)]
    fn uniform(u: u32) -> Self {
        (u as f64 + 0.5) * (1.0 / 4_294_967_296.0)
    }
    #[inline(always)]
    fn of_bit(b: u8) -> Self {
        b as f64
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
        field + w * T::of_bit(on)
    }

    #[inline(always)]
    fn decide(&mut self, field: T, current: u8, u: u32) -> u8 {
        let x = self.beta * field;
        let u = T::uniform(u);
        match self.rule {
            Rule::HeatBath => (u * (T::of(1.0) + (-x).exp()) < T::of(1.0)) as u8,
            Rule::Metropolis => {
                // The energy rise of a flip: -h for 0 -> 1, +h for 1 -> 0.
                let rise = if current == 0 { -x } else { x };
                let accept = rise <= T::default() || u < (-rise).exp();
                current ^ accept as u8
            }
        }
    }

    fn set_beta(&mut self, beta: f64) -> Result<(), LutError> {
        *self = Self::new(beta, self.rule)?;
        Ok(())
    }
}

/// Fixed-point arithmetic: raw weights `W` in format `format`, exact sums, an `r`-bit table.
#[derive(Debug)]
pub struct Fixed<'t, W: RawWeight> {
    lut: Lut<'t>,
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
            _w: PhantomData,
        })
    }

    /// Table entries needed for `new` with these arguments.
    pub fn table_len(field: QFormat, spec: LutSpec, beta: f64) -> usize {
        Lut::required_len(spec, field.frac_bits(), beta, field.max_raw() as u64 + 1)
    }

    /// The acceptance table.
    pub fn lut(&self) -> &Lut<'t> {
        &self.lut
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
        let h = W::acc_i64(field);
        let u = self.lut.uniform(u);
        match self.lut.rule() {
            Rule::HeatBath => (u < self.lut.p_one(h)) as u8,
            Rule::Metropolis => {
                let rise = if current == 0 { -h } else { h };
                let accept = rise <= 0 || u < self.lut.p_accept_rise(rise);
                current ^ accept as u8
            }
        }
    }

    fn set_beta(&mut self, beta: f64) -> Result<(), LutError> {
        self.lut.set_beta(beta)
    }

    fn saturations(&self) -> u64 {
        self.saturations
    }
}
