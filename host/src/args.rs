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

/// `--clamp i=v,...`: units and their values (0 or 1); a unit clamped twice is an error.
pub fn clamp(s: &str) -> anyhow::Result<Vec<(usize, u8)>> {
    use anyhow::Context as _;
    s.split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|p| {
            let (i, v) = p.split_once('=').with_context(|| format!("--clamp: `{p}` is not i=v"))?;
            let i = i.trim().parse().with_context(|| format!("--clamp: unit `{i}`"))?;
            let v: u8 = v.trim().parse().with_context(|| format!("--clamp: value `{v}`"))?;
            if v > 1 {
                anyhow::bail!("--clamp: unit {i} value {v} is not 0 or 1");
            }
            Ok((i, v))
        })
        .collect::<anyhow::Result<Vec<(usize, u8)>>>()
        .and_then(|c| {
            // `0=1,0=0` is a contradiction, not a choice of the last one.
            for (k, &(i, v)) in c.iter().enumerate() {
                if let Some(&(_, w)) = c[..k].iter().find(|(j, _)| *j == i) {
                    anyhow::bail!("--clamp: unit {i} is clamped twice ({i}={w} and {i}={v})");
                }
            }
            Ok(c)
        })
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

    #[test]
    fn clamps_parse_and_contradictions_are_refused() {
        assert_eq!(clamp("0=1, 5=0,").unwrap(), vec![(0, 1), (5, 0)]);
        assert_eq!(clamp("").unwrap(), vec![]);
        for (bad, says) in
            [("0=2", "not 0 or 1"), ("7", "is not i=v"), ("a=1", "unit `a`"), ("0=1,0=0", "clamped twice")]
        {
            let e = clamp(bad).unwrap_err().to_string();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }
}
