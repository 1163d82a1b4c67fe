//! Resource quantities (`100m`, `1.5Gi`, `2e3`) as numbers, for comparing and adding them the way
//! LimitRanger and ResourceQuota do.

/// The value of a quantity in base units (cores, bytes, counts); `None` if it is not one.
pub fn parse(text: &str) -> Option<f64> {
    let text = text.trim();
    let split = text
        .find(|c: char| c.is_ascii_alphabetic() && c != 'e' && c != 'E')
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    // `e3`-style exponents are part of the number; a lone `E` is the exa suffix.
    let (number, suffix) = if suffix.is_empty() && (number.ends_with('E') || number.ends_with('e'))
    {
        (&number[..number.len() - 1], &number[number.len() - 1..])
    } else {
        (number, suffix)
    };
    let value: f64 = number.parse().ok()?;
    let multiplier = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" | "e" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        _ => return None,
    };
    Some(value * multiplier)
}

/// A quantity from a JSON value (a string, or a bare number).
pub fn of(value: &serde_json::Value) -> Option<f64> {
    match value {
        serde_json::Value::String(s) => parse(s),
        serde_json::Value::Number(n) => n.as_f64(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffixes_and_exponents() {
        assert_eq!(parse("100m"), Some(0.1));
        assert_eq!(parse("2"), Some(2.0));
        assert_eq!(parse("1Gi"), Some(1_073_741_824.0));
        assert_eq!(parse("1G"), Some(1e9));
        assert_eq!(parse("128Mi"), Some(134_217_728.0));
        assert_eq!(parse("1e3"), Some(1000.0));
        assert_eq!(parse("1.5"), Some(1.5));
        assert_eq!(parse("x"), None);
        assert_eq!(parse("1Xi"), None);
    }
}
