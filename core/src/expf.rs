//! e^x in f32 without branches, table or fused multiply-add, for the float sampler's
//! decisions (heat bath σ(βh) = 1 / (1 + e^-βh), Metropolis acceptance e^-βΔE).
//!
//! **Method.** Cody–Waite range reduction x = n ln 2 + r, n = round(x / ln 2) by the
//! 1.5·2^23 rounding trick, |r| ≤ ln 2 / 2 (ln 2 in two parts, the first with 9 significant
//! bits, so that n·ln2_hi is exact); e^r = 1 + (r + r²·Q(r)) with Q of degree 4, a Chebyshev
//! fit of (e^r - 1 - r) / r² on |r| ≤ 1.01 ln 2 / 2 rounded to f32 (relative error of the
//! polynomial itself, in exact arithmetic, 1.1e-8 = 0.18 ulp; degree 5 would take it to
//! 0.014 ulp for two more operations, and leave the bound below unchanged: the roundings of
//! the evaluation dominate); then e^x = e^r · 2^n, the power of two built from its exponent
//! bits. Every step is a plain IEEE add, multiply, compare-and-select or
//! integer bit operation on one lane, so a row of calls vectorises (SSE2, AVX2, AVX-512) and
//! every instruction set computes the same bits: Rust never contracts `a * b + c` into a
//! fused multiply-add, and none is written here.
//!
//! **Domain and saturation.** Arguments are clamped to [[`MIN_ARG`], [`MAX_ARG`]] = [-87, 88]
//! first, so the result lies in [e^-87, e^88] ⊂ the normal f32 range: never 0, never
//! infinite, never subnormal (no slow subnormal arithmetic). This is exact for every
//! decision the sampler takes from 24-bit draws u ∈ [2^-25, 1 - 2^-25]: beyond |βh| = 17.4
//! the heat-bath product u·(1 + e^-βh) is already below 1 (1 + e rounds to 1) or far above,
//! and an acceptance e^-βΔE < 2^-25 rejects every draw, so the clamped values decide exactly
//! as libm's 0 and ∞ would (tested in `crate::arithmetic`).
//!
//! **Error bound.** Within the domain the result is within [`MAX_ULPS`] = 1 ulp of libm's
//! `expf` (itself within 0.502 ulp of e^x), checked exhaustively below for every f32 with
//! 2^-30 ≤ |x| ≤ the domain's ends, and for all smaller |x| (whose result is 1, as libm's).
//! Against e^x rounded to nearest it is also within 1 ulp, and equal for about 97% of
//! arguments.

/// Smallest argument evaluated; below it the result is `exp(MIN_ARG)` (≈ 1.65e-38, normal).
pub const MIN_ARG: f32 = -87.0;
/// Largest argument evaluated; above it the result is `exp(MAX_ARG)` (≈ 1.65e38).
pub const MAX_ARG: f32 = 88.0;
/// Largest difference from libm's `expf` in units in the last place, over the whole domain.
pub const MAX_ULPS: u32 = 1;

const LOG2E: f32 = core::f32::consts::LOG2_E;
/// ln 2 = LN2_HI + LN2_LO; LN2_HI = 355/512 has 9 significant bits, n has at most 8.
const LN2_HI: f32 = 355.0 / 512.0;
const LN2_LO: f32 = -2.121_944_4e-4;
/// 1.5·2^23 + 127: adding it rounds |y| < 2^22 to an integer held in the low mantissa
/// bits, already carrying the exponent bias of 2^n.
const ROUND: f32 = 12_583_039.0;
/// 1.5·2^23, whose bits are subtracted to leave n + 127.
const ROUND_BITS: u32 = 0x4b40_0000;
/// Q(r) ≈ (e^r - 1 - r) / r², coefficients of r^0..r^4.
const Q: [f32; 5] = [0.5, 0.166_665_73, 0.041_666_55, 0.008_363_774, 0.001_392_692_7];

/// e^x for x clamped to [[`MIN_ARG`], [`MAX_ARG`]], within [`MAX_ULPS`] of libm `expf`.
/// Branch-free (see the module docs); the same bits on every instruction set.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    // Written as selects (not f32::clamp/max) so they compile to one min/max instruction;
    // x is finite or infinite, never NaN, in the sampler.
    let x = if x < MIN_ARG { MIN_ARG } else { x };
    let x = if x > MAX_ARG { MAX_ARG } else { x };
    let t = x * LOG2E + ROUND;
    let biased = t.to_bits().wrapping_sub(ROUND_BITS);
    let nf = t - ROUND;
    let r = (x - nf * LN2_HI) - nf * LN2_LO;
    let q = (((Q[4] * r + Q[3]) * r + Q[2]) * r + Q[1]) * r + Q[0];
    let er = 1.0 + (r + (r * r) * q);
    // n ∈ [-126, 127] on the domain: 2^n is a normal number.
    let scale = f32::from_bits(biased << 23);
    er * scale
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Distance in ulps between two positive finite floats (adjacent floats differ by 1).
    fn ulps(a: f32, b: f32) -> u32 {
        (a.to_bits() as i32).abs_diff(b.to_bits() as i32)
    }

    /// Known answers: e^x correctly rounded to f32 (mpmath, 50 digits), exact at 0, and the
    /// saturation beyond the domain's ends.
    #[test]
    fn known_answers() {
        let table: [(f32, f32); 8] = [
            (1.0, 2.718_281_7),
            (-1.0, 0.367_879_45),
            (0.5, 1.648_721_2),
            (10.0, 22_026.465),
            (-10.0, 4.539_993e-5),
            (-17.25, 3.224_186_8e-8),
            (MAX_ARG, 1.651_636_3e38),
            (MIN_ARG, 1.645_811_5e-38),
        ];
        for (x, want) in table {
            assert_eq!(exp(x), want, "{x}");
        }
        assert_eq!((exp(0.0), exp(-0.0)), (1.0, 1.0));
        for big in [88.5, 1e10, f32::MAX, f32::INFINITY] {
            assert_eq!(exp(big), exp(MAX_ARG));
            assert_eq!(exp(-big), exp(MIN_ARG));
        }
        assert!(exp(MIN_ARG).is_normal());
    }

    /// Every f32 of the domain with |x| ≥ 2^-30 (about 630 million), on two threads: within
    /// `MAX_ULPS` of libm `expf`, and that bound is attained. Below 2^-30 both give 1.
    #[test]
    fn within_max_ulps_of_libm_everywhere() {
        let tiny = 2f32.powi(-30);
        let sweep = |lo: f32, hi: f32, sign: f32| {
            let mut worst = (0u32, 0f32);
            for bits in lo.to_bits()..=hi.to_bits() {
                let x = sign * f32::from_bits(bits);
                let d = ulps(exp(x), libm::expf(x));
                if d > worst.0 {
                    worst = (d, x);
                }
            }
            worst
        };
        let (pos, neg) = std::thread::scope(|s| {
            let pos = s.spawn(|| sweep(tiny, MAX_ARG, 1.0));
            let neg = s.spawn(|| sweep(tiny, -MIN_ARG, -1.0));
            (pos.join().unwrap(), neg.join().unwrap())
        });
        let worst = if pos.0 >= neg.0 { pos } else { neg };
        assert!(worst.0 <= MAX_ULPS, "{} ulps at {:e}", worst.0, worst.1);
        assert_eq!(worst.0, MAX_ULPS, "the bound is tight");
        for bits in (0..tiny.to_bits()).step_by(997) {
            for x in [f32::from_bits(bits), -f32::from_bits(bits)] {
                assert_eq!((exp(x), libm::expf(x)), (1.0, 1.0), "{x:e}");
            }
        }
    }
}
