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

/// Refuse fixed-point settings given with a float engine, which would silently ignore them.
/// `engine` names the engine chosen (`float`); `given` lists each fixed-point option by name with
/// whether the command line set it.
pub fn fixed_point_only(engine: &str, fixed: bool, given: &[(&str, bool)]) -> anyhow::Result<()> {
    let set: Vec<&str> = given.iter().filter(|(_, g)| *g).map(|(name, _)| *name).collect();
    if !fixed && !set.is_empty() {
        anyhow::bail!(
            "{} set the fixed-point engine, but --engine is {engine}, which ignores {}: add --engine fixed, or leave \
             {} out",
            set.join(", "),
            if set.len() == 1 { "it" } else { "them" },
            if set.len() == 1 { "it" } else { "them" }
        );
    }
    Ok(())
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

    #[test]
    fn fixed_point_options_need_the_fixed_engine() {
        fixed_point_only("fixed", true, &[("--format", true)]).unwrap();
        fixed_point_only("float", false, &[("--format", false)]).unwrap();
        let e = fixed_point_only("float", false, &[("--format", true), ("--lut-bits", true)]).unwrap_err();
        assert!(e.to_string().contains("--format, --lut-bits set the fixed-point engine"), "{e}");
    }
}
