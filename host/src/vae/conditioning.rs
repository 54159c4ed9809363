//! The incident-energy code in partition 0 of the latent, clamped in the encoder, in the
//! negative phase's generation runs and in annealer runs.
//!
//! The position of `E` in the configured range is `t = ln(E / lo) / ln(hi / lo)`, clamped to
//! [0, 1] (a monotone function of E). Two codes of N bits:
//! - `binary` (default): `k = floor(t 2^p)` with `p = min(N, 24)` bits, most significant bit
//!   first; units `p..N` repeat the first `p` cyclically, so every unit of partition 0 carries
//!   information. Decoding gives the centre of bin `k` and refuses inconsistent copies.
//! - `thermometer`: unit `j` is on when `t N > j + 1/2`; decoding counts the ones and refuses
//!   codes that are not ones followed by zeros.

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

/// Which code.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum EnergyCode {
    /// Fixed-width binary of ln E's position in the range.
    #[default]
    Binary,
    /// Thermometer (unary) code of the same position.
    Thermometer,
}

/// A code of `bits` units over the incident-energy range `lo..hi` (MeV).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Conditioning {
    /// The code.
    pub code: EnergyCode,
    /// Units of partition 0.
    pub bits: usize,
    /// Lowest energy (MeV).
    pub lo: f64,
    /// Highest energy (MeV).
    pub hi: f64,
}

impl Conditioning {
    fn precision(&self) -> usize {
        self.bits.min(24)
    }

    /// Position of `e` in the range, in [0, 1].
    pub fn position(&self, e: f64) -> f64 {
        ((e / self.lo).ln() / (self.hi / self.lo).ln()).clamp(0.0, 1.0)
    }

    /// ln E scaled to [-1, 1] over the range: the network's conditioning input.
    pub fn log_energy_feature(&self, e: f64) -> f32 {
        (2.0 * ((e / self.lo).ln() / (self.hi / self.lo).ln()) - 1.0) as f32
    }

    /// The code of `e` into `out` (`bits` values, 0 or 1).
    pub fn encode(&self, e: f64, out: &mut [u8]) {
        assert_eq!(out.len(), self.bits, "code length");
        let t = self.position(e);
        match self.code {
            EnergyCode::Binary => {
                let p = self.precision();
                let k = ((t * (1u64 << p) as f64) as u64).min((1u64 << p) - 1);
                for (j, o) in out.iter_mut().enumerate() {
                    let bit = p - 1 - (j % p);
                    *o = ((k >> bit) & 1) as u8;
                }
            }
            EnergyCode::Thermometer => {
                for (j, o) in out.iter_mut().enumerate() {
                    *o = (t * self.bits as f64 > j as f64 + 0.5) as u8;
                }
            }
        }
    }

    /// The energy (MeV) a code stands for; errors say what is wrong with the code.
    pub fn decode(&self, code: &[u8]) -> Result<f64> {
        if code.len() != self.bits {
            bail!("energy code has {} units, partition 0 has {}", code.len(), self.bits);
        }
        let t = match self.code {
            EnergyCode::Binary => {
                let p = self.precision();
                for j in p..self.bits {
                    if code[j] != code[j % p] {
                        bail!(
                            "binary energy code: unit {j} ({}) differs from its copy, unit {} ({})",
                            code[j],
                            j % p,
                            code[j % p]
                        );
                    }
                }
                let k = code[..p].iter().fold(0u64, |k, &b| (k << 1) | u64::from(b & 1));
                (k as f64 + 0.5) / (1u64 << p) as f64
            }
            EnergyCode::Thermometer => {
                let ones = code.iter().take_while(|&&b| b == 1).count();
                if code[ones..].iter().any(|&b| b != 0) {
                    bail!("thermometer energy code is not ones followed by zeros: {code:?}");
                }
                ones as f64 / self.bits as f64
            }
        };
        Ok(self.lo * (self.hi / self.lo).powf(t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_within_their_resolution_and_are_monotone() {
        for code in [EnergyCode::Binary, EnergyCode::Thermometer] {
            for bits in [4usize, 8, 30] {
                let c = Conditioning { code, bits, lo: 256.0, hi: 4.2e6 };
                let mut prev = -1.0f64;
                let mut z = vec![0u8; bits];
                for k in 0..200 {
                    let e = 256.0 * (4.2e6f64 / 256.0).powf(k as f64 / 199.0);
                    c.encode(e, &mut z);
                    let back = c.decode(&z).unwrap();
                    let resolution = match code {
                        EnergyCode::Binary => 1.0 / (1u64 << bits.min(24)) as f64,
                        EnergyCode::Thermometer => 1.0 / bits as f64,
                    };
                    assert!(
                        (c.position(back) - c.position(e)).abs() <= resolution + 1e-12,
                        "{code:?} {bits} {e} {back}"
                    );
                    assert!(back >= prev - 1e-9, "decoded energies are monotone");
                    prev = back;
                }
            }
        }
    }

    #[test]
    fn inconsistent_codes_are_refused() {
        let c = Conditioning { code: EnergyCode::Thermometer, bits: 4, lo: 1.0, hi: 10.0 };
        assert!(c.decode(&[1, 0, 1, 0]).unwrap_err().to_string().contains("ones followed by zeros"));
        let b = Conditioning { code: EnergyCode::Binary, bits: 30, lo: 1.0, hi: 10.0 };
        let mut z = vec![0u8; 30];
        b.encode(5.0, &mut z);
        z[27] ^= 1;
        assert!(b.decode(&z).unwrap_err().to_string().contains("differs from its copy"));
    }
}
