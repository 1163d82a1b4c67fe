//! Go's duration syntax (`time.ParseDuration`), which k0s uses for a window's `length`: a
//! sequence of decimal numbers with units `ns`, `us`/`µs`, `ms`, `s`, `m`, `h` (`2h`, `1h30m`,
//! `1.5h`).

use std::time::Duration;

use super::WindowError;

pub fn parse(text: &str) -> Result<Duration, WindowError> {
    let bad = |reason: &str| WindowError::Length {
        length: text.to_owned(),
        reason: reason.to_owned(),
    };
    let rest = text.strip_prefix('+').unwrap_or(text);
    if rest.starts_with('-') {
        return Err(bad("a window cannot be negative"));
    }
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    if rest.is_empty() {
        return Err(bad("empty"));
    }
    let mut total = 0f64;
    let mut rest = rest;
    while !rest.is_empty() {
        let number_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| bad("a number without a unit"))?;
        let (number, tail) = rest.split_at(number_end);
        if number.is_empty() || number == "." {
            return Err(bad("a unit without a number"));
        }
        let value: f64 = number.parse().map_err(|_| bad("not a number"))?;
        let unit_end = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_end);
        let nanos_per_unit = match unit {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return Err(bad("units are ns, us, ms, s, m, h")),
        };
        total += value * nanos_per_unit;
        rest = tail;
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    Ok(Duration::from_nanos(total.round() as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations_parse() {
        assert_eq!(parse("2h").unwrap(), Duration::from_hours(2));
        assert_eq!(parse("1h30m").unwrap(), Duration::from_mins(90));
        assert_eq!(parse("1.5h").unwrap(), Duration::from_mins(90));
        assert_eq!(parse("90m").unwrap(), Duration::from_mins(90));
        assert_eq!(parse("45s").unwrap(), Duration::from_secs(45));
        assert_eq!(parse("0").unwrap(), Duration::ZERO);
    }

    #[test]
    fn what_go_refuses_is_refused() {
        for bad in ["", "2", "h", "2d", "2 h", "-1h", "1h-"] {
            assert!(parse(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
