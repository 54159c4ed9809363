//! Non-finite numbers are errors, never results.
//!
//! A model whose parameters are finite can still overflow double precision (weights near
//! ±1e308 give infinite energies, then NaN means), and NaN compares false with every
//! tolerance: `max` folds skip it and a check `worst > tolerance` passes. Every command that
//! reports numbers (`exact`, `precision`, `svd`, `validate`, `qa`) runs its results through
//! [`require`] before printing or checking anything.

use anyhow::{bail, Result};

/// At most this many offending values are named in the message.
const SHOWN: usize = 4;

/// Fail unless every value of every named group is finite. `what` names the result (and its
/// file); a group's name names the field (`<z>`), and its index is given when it has more than
/// one value.
pub fn require(what: &str, groups: &[(&str, &[f64])]) -> Result<()> {
    let mut shown = Vec::new();
    let mut count = 0usize;
    for (name, values) in groups {
        for (i, v) in values.iter().enumerate().filter(|(_, v)| !v.is_finite()) {
            count += 1;
            if shown.len() < SHOWN {
                shown.push(if values.len() == 1 { format!("{name} = {v}") } else { format!("{name}[{i}] = {v}") });
            }
        }
    }
    if count > 0 {
        let more = if count > shown.len() { format!(", ... ({count} in all)") } else { String::new() };
        bail!(
            "{what}: non-finite result ({}{more}); the parameters (or the numbers derived from them) overflow double \
             precision, and a NaN or infinite result is not reported",
            shown.join(", ")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_field_and_index() {
        require("x", &[("a", &[1.0, 2.0]), ("b", &[0.0])]).unwrap();
        let e = require("exact answers", &[("ln Z", &[f64::NAN]), ("<z>", &[0.5, f64::INFINITY])]).unwrap_err();
        let e = e.to_string();
        assert!(e.contains("exact answers") && e.contains("ln Z = NaN") && e.contains("<z>[1] = inf"), "{e}");
        let many = vec![f64::NAN; 10];
        let e = require("r", &[("m", &many)]).unwrap_err().to_string();
        assert!(e.contains("10 in all"), "{e}");
    }
}
