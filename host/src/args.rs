//! Checked values of command-line options (β, counts) shared by several commands, so that a value no
//! command can use is refused where it is typed (exit status 2), never carried into a result.

/// An inverse temperature: a finite number >= 0 (`NaN`, `inf` and negative values are refused).
pub fn beta(s: &str) -> Result<f64, String> {
    let b: f64 = s.trim().parse().map_err(|_| format!("`{s}` is not a number"))?;
    if !b.is_finite() {
        return Err(format!("β must be finite, got {s}"));
    }
    if b < 0.0 {
        return Err(format!("β must be >= 0, got {s}"));
    }
    Ok(b)
}

/// A count that must be at least 1.
pub fn positive(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(0) => Err("must be at least 1, got 0".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("`{s}` is not a whole number")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beta_is_finite_and_non_negative() {
        assert_eq!(beta("0.6"), Ok(0.6));
        assert_eq!(beta("0"), Ok(0.0));
        for bad in ["NaN", "nan", "inf", "-inf", "-1", "1e309", "x", ""] {
            assert!(beta(bad).is_err(), "{bad} accepted");
        }
        assert_eq!(positive("3"), Ok(3));
        assert!(positive("0").is_err() && positive("-1").is_err() && positive("1.5").is_err());
    }
}
