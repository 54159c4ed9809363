//! Signed fixed-point formats `Qm.n` for weights, biases and local fields.
//!
//! `Qm.n` follows the `fixed` crate: `m` integer bits *including* the sign bit and `n`
//! fractional bits, so `Q8.8` is `fixed::types::I8F8`, range [-128, 128) in steps of 2^-8.
//! A value is stored as its raw integer `round(x * 2^n)` (ties to even, as the `fixed`
//! crate's `from_num` rounds), saturated to the format's range. Saturation is reported,
//! never silent; NaN and infinities are refused.
//!
//! Raw values live in the narrowest of `i8`, `i16`, `i32` that holds `m + n` bits
//! ([`RawWeight`]); local fields are summed exactly in a wider integer
//! ([`RawWeight::Acc`]) so that a sum of up to 2^15 terms cannot overflow.

use core::fmt;
use core::str::FromStr;

/// A signed fixed-point format: `int_bits` (with sign) + `frac_bits` <= 32.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct QFormat {
    int_bits: u8,
    frac_bits: u8,
}

/// Why a format string or format is not usable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FormatError {
    /// The text is not of the form `Qm.n` with decimal `m` and `n`.
    Syntax,
    /// `m` must be at least 1 (the sign bit) and `m + n` at most 32.
    Width {
        /// Integer bits asked for.
        int_bits: u32,
        /// Fractional bits asked for.
        frac_bits: u32,
    },
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Syntax => f.write_str("fixed-point format must look like Q8.8 (Q<int bits>.<frac bits>)"),
            Self::Width { int_bits, frac_bits } => write!(
                f,
                "fixed-point format Q{int_bits}.{frac_bits}: need at least 1 integer (sign) bit and at most 32 bits in all"
            ),
        }
    }
}

impl core::error::Error for FormatError {}

/// A value quantised to a [`QFormat`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quantised {
    /// The raw integer, `round(x * 2^frac_bits)` clamped to the format's range.
    pub raw: i32,
    /// True when the value lay outside the format's range and was clamped.
    pub saturated: bool,
}

impl QFormat {
    /// `Q4.4` (8 bits).
    pub const Q4_4: Self = Self { int_bits: 4, frac_bits: 4 };
    /// `Q8.8` (16 bits), the default.
    pub const Q8_8: Self = Self { int_bits: 8, frac_bits: 8 };
    /// `Q4.12` (16 bits).
    pub const Q4_12: Self = Self { int_bits: 4, frac_bits: 12 };
    /// `Q16.16` (32 bits).
    pub const Q16_16: Self = Self { int_bits: 16, frac_bits: 16 };

    /// A format with `int_bits` (including sign) and `frac_bits`.
    pub const fn new(int_bits: u32, frac_bits: u32) -> Result<Self, FormatError> {
        if int_bits == 0 || int_bits + frac_bits > 32 {
            return Err(FormatError::Width { int_bits, frac_bits });
        }
        Ok(Self { int_bits: int_bits as u8, frac_bits: frac_bits as u8 })
    }

    /// The format of a `fixed` crate type, e.g. `QFormat::of::<fixed::types::I8F8>()`.
    pub fn of<F: fixed::traits::Fixed>() -> Self {
        Self { int_bits: F::INT_NBITS as u8, frac_bits: F::FRAC_NBITS as u8 }
    }

    /// Integer bits, sign included.
    pub const fn int_bits(self) -> u32 {
        self.int_bits as u32
    }

    /// Fractional bits.
    pub const fn frac_bits(self) -> u32 {
        self.frac_bits as u32
    }

    /// Total bits.
    pub const fn bits(self) -> u32 {
        self.int_bits as u32 + self.frac_bits as u32
    }

    /// Smallest raw value.
    pub const fn min_raw(self) -> i32 {
        (-(1i64 << (self.bits() - 1))) as i32
    }

    /// Largest raw value.
    pub const fn max_raw(self) -> i32 {
        ((1i64 << (self.bits() - 1)) - 1) as i32
    }

    /// The value of one raw step, 2^-frac_bits.
    pub fn lsb(self) -> f64 {
        libm::ldexp(1.0, -(self.frac_bits as i32))
    }

    /// The real value of a raw integer.
    pub fn value(self, raw: i32) -> f64 {
        libm::ldexp(raw as f64, -(self.frac_bits as i32))
    }

    /// Quantise `x`: round to nearest (ties to even), then saturate. `None` for NaN or ±∞.
    pub fn quantise(self, x: f64) -> Option<Quantised> {
        if !x.is_finite() {
            return None;
        }
        // Scaling by a power of two is exact, so rint sees the true product.
        let scaled = libm::rint(libm::ldexp(x, self.frac_bits as i32));
        let (lo, hi) = (self.min_raw() as f64, self.max_raw() as f64);
        Some(if scaled < lo {
            Quantised { raw: self.min_raw(), saturated: true }
        } else if scaled > hi {
            Quantised { raw: self.max_raw(), saturated: true }
        } else {
            Quantised { raw: scaled as i32, saturated: false }
        })
    }

    /// True when every value of `self` is exactly representable in `wide`.
    pub fn fits_in(self, wide: QFormat) -> bool {
        self.int_bits <= wide.int_bits && self.frac_bits <= wide.frac_bits
    }
}

impl fmt::Display for QFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Q{}.{}", self.int_bits, self.frac_bits)
    }
}

impl FromStr for QFormat {
    type Err = FormatError;

    /// Parses `Q8.8`, `q4.12` or `8.8`.
    fn from_str(s: &str) -> Result<Self, FormatError> {
        let s = s.strip_prefix(['Q', 'q']).unwrap_or(s);
        let (m, n) = s.split_once('.').ok_or(FormatError::Syntax)?;
        let m: u32 = m.parse().map_err(|_| FormatError::Syntax)?;
        let n: u32 = n.parse().map_err(|_| FormatError::Syntax)?;
        QFormat::new(m, n)
    }
}

/// Raw storage of a fixed-point weight: `i8`, `i16` or `i32`.
pub trait RawWeight: crate::model::Weight + PartialEq + fmt::Debug + Send + Sync + 'static {
    /// The accumulator that sums local fields exactly (`i32` for 8/16-bit, `i64` for 32-bit).
    type Acc: Copy
        + Default
        + PartialOrd
        + fmt::Debug
        + core::ops::Add<Output = Self::Acc>
        + core::ops::BitAnd<Output = Self::Acc>
        + core::ops::Neg<Output = Self::Acc>;
    /// Bits of storage.
    const BITS: u32;
    /// Widen to the accumulator.
    fn acc(self) -> Self::Acc;
    /// The accumulator's value of a 0/1 byte (used as a mask after negation).
    fn acc_of_bit(bit: u8) -> Self::Acc;
    /// Convert an accumulator value to i64.
    fn acc_i64(acc: Self::Acc) -> i64;
    /// Convert an accumulator from i64 (the caller guarantees it fits).
    fn acc_from_i64(v: i64) -> Self::Acc;
    /// Narrow a raw value that fits this width.
    fn from_raw(raw: i32) -> Option<Self>;
    /// The raw value as i32.
    fn raw(self) -> i32;
    /// Accumulators as `i32` words when they are `i32` (8- and 16-bit weights), else `None`.
    fn acc_words(acc: &mut [Self::Acc]) -> Option<&mut [i32]>;
}

macro_rules! raw_weight {
    ($t:ty, $acc:ty, $words:expr) => {
        impl RawWeight for $t {
            type Acc = $acc;
            const BITS: u32 = <$t>::BITS;
            #[inline(always)]
            fn acc(self) -> $acc {
                self as $acc
            }
            #[inline(always)]
            fn acc_of_bit(bit: u8) -> $acc {
                bit as $acc
            }
            #[inline(always)]
            fn acc_i64(acc: $acc) -> i64 {
                acc as i64
            }
            #[inline(always)]
            fn acc_from_i64(v: i64) -> $acc {
                v as $acc
            }
            fn from_raw(raw: i32) -> Option<Self> {
                <$t>::try_from(raw).ok()
            }
            #[inline(always)]
            fn raw(self) -> i32 {
                self as i32
            }
            #[inline(always)]
            fn acc_words(acc: &mut [$acc]) -> Option<&mut [i32]> {
                ($words)(acc)
            }
        }
    };
}

raw_weight!(i8, i32, Some);
raw_weight!(i16, i32, Some);
raw_weight!(i32, i64, |_| None);

#[cfg(test)]
mod tests {
    use super::*;
    use fixed::types::{I16F16, I4F12, I4F4, I8F8};
    use std::string::ToString;

    #[test]
    fn parses_and_prints() {
        for (s, q) in [("Q8.8", QFormat::Q8_8), ("q4.12", QFormat::Q4_12), ("4.4", QFormat::Q4_4)] {
            assert_eq!(s.parse::<QFormat>(), Ok(q));
        }
        assert_eq!(QFormat::Q4_12.to_string(), "Q4.12");
        assert_eq!("Q8".parse::<QFormat>(), Err(FormatError::Syntax));
        assert_eq!("Q0.8".parse::<QFormat>(), Err(FormatError::Width { int_bits: 0, frac_bits: 8 }));
        assert_eq!("Q20.20".parse::<QFormat>(), Err(FormatError::Width { int_bits: 20, frac_bits: 20 }));
    }

    #[test]
    fn ranges() {
        assert_eq!((QFormat::Q8_8.min_raw(), QFormat::Q8_8.max_raw()), (-32768, 32767));
        assert_eq!((QFormat::Q16_16.min_raw(), QFormat::Q16_16.max_raw()), (i32::MIN, i32::MAX));
        assert_eq!(QFormat::of::<I8F8>(), QFormat::Q8_8);
        assert_eq!(QFormat::of::<I4F12>(), QFormat::Q4_12);
    }

    /// The runtime quantiser rounds exactly as the `fixed` crate does (nearest, ties to even).
    #[test]
    fn matches_fixed_crate() {
        let xs = [
            0.0,
            1.0,
            -1.0,
            0.5,
            0.00390625,
            0.001953125,
            -0.001953125,
            0.005859375,
            1.2345678,
            -3.3333333,
            7.99,
            -8.0,
            127.99609375,
            -128.0,
            0.1,
            -0.7,
            2.71875,
        ];
        for &x in &xs {
            let q = QFormat::Q8_8.quantise(x).unwrap();
            if let Some(f) = I8F8::checked_from_num(x) {
                assert_eq!(q.raw, f.to_bits() as i32, "Q8.8 {x}");
                assert!(!q.saturated);
            }
            if let Some(f) = I4F12::checked_from_num(x) {
                assert_eq!(QFormat::Q4_12.quantise(x).unwrap().raw, f.to_bits() as i32, "Q4.12 {x}");
            }
            if let Some(f) = I4F4::checked_from_num(x) {
                assert_eq!(QFormat::Q4_4.quantise(x).unwrap().raw, f.to_bits() as i32, "Q4.4 {x}");
            }
            let f = I16F16::from_num(x);
            assert_eq!(QFormat::Q16_16.quantise(x).unwrap().raw, f.to_bits(), "Q16.16 {x}");
        }
    }

    #[test]
    fn saturates_and_refuses_non_finite() {
        let q = QFormat::Q4_4;
        assert_eq!(q.quantise(9.0), Some(Quantised { raw: 127, saturated: true }));
        assert_eq!(q.quantise(-9.0), Some(Quantised { raw: -128, saturated: true }));
        assert_eq!(q.quantise(7.9375), Some(Quantised { raw: 127, saturated: false }));
        assert_eq!(q.quantise(f64::NAN), None);
        assert_eq!(q.quantise(f64::INFINITY), None);
        assert_eq!(QFormat::Q8_8.value(-384), -1.5);
    }
}
