//! Small checks shared by the sections' validators: ports, DNS names, addresses, Go durations.

use std::net::IpAddr;

/// A TCP/UDP port a component listens on: 1–65535 (the type already bounds it above).
pub fn port(p: u16) -> Result<(), String> {
    if p == 0 {
        Err("must be between 1 and 65535, got 0".into())
    } else {
        Ok(())
    }
}

/// An RFC 1123 DNS subdomain: dot-separated labels of lower-case alphanumerics and `-`.
pub fn dns_subdomain(name: &str) -> Result<(), String> {
    let valid_label = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if !name.is_empty() && name.len() <= 253 && name.split('.').all(valid_label) {
        Ok(())
    } else {
        Err(format!(
            "{name:?} is not a valid DNS name (RFC 1123: lower-case letters, digits, '-' and '.')"
        ))
    }
}

/// An IP address or a DNS name, as `spec.api.sans` entries are.
pub fn ip_or_dns_name(s: &str) -> Result<(), String> {
    if s.parse::<IpAddr>().is_ok() || dns_subdomain(s).is_ok() {
        Ok(())
    } else {
        Err(format!("{s:?} is neither an IP address nor a DNS name"))
    }
}

/// A Go `time.Duration` string such as `0s`, `30s`, `1m30s`, `250ms`.
pub fn go_duration(s: &str) -> Result<(), String> {
    let bad = || {
        Err(format!(
            "{s:?} is not a duration (examples: 30s, 1m30s, 250ms)"
        ))
    };
    let mut rest = s.strip_prefix(['-', '+']).unwrap_or(s);
    if rest == "0" {
        return Ok(());
    }
    if rest.is_empty() {
        return bad();
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number = &rest[..digits];
        if number.is_empty() || number == "." || number.matches('.').count() > 1 {
            return bad();
        }
        rest = &rest[digits..];
        let Some(unit) = ["ns", "us", "µs", "ms", "s", "m", "h"]
            .into_iter()
            .filter(|u| rest.starts_with(u))
            .max_by_key(|u| u.len())
        else {
            return bad();
        };
        rest = &rest[unit.len()..];
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        for ok in ["0", "0s", "30s", "1m30s", "1.5h", "250ms", "10us", "-5s"] {
            assert!(go_duration(ok).is_ok(), "{ok}");
        }
        for bad in ["", "s", "10", "10x", "1..5s", "m5"] {
            assert!(go_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names() {
        assert!(dns_subdomain("cluster.local").is_ok());
        for bad in ["", "Cluster.local", "a..b", "-a", "a_b", "a."] {
            assert!(dns_subdomain(bad).is_err(), "{bad}");
        }
        assert!(ip_or_dns_name("fd00::1").is_ok());
        assert!(ip_or_dns_name("not a name").is_err());
    }
}
