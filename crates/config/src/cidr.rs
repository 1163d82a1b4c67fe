//! CIDR fields: parsed with a message that names the expected form, and overlap checks.

use ipnet::IpNet;
use serde::{Deserialize, Deserializer, Serializer};

pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<IpNet, D::Error> {
    let text = String::deserialize(deserializer)?;
    parse(&text).map_err(serde::de::Error::custom)
}

pub fn deserialize_optional<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<IpNet>, D::Error> {
    match Option::<String>::deserialize(deserializer)? {
        None => Ok(None),
        Some(text) if text.is_empty() => Ok(None),
        Some(text) => parse(&text).map(Some).map_err(serde::de::Error::custom),
    }
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's `serialize_with` passes a reference
pub fn serialize<S: Serializer>(net: &IpNet, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(net)
}

#[allow(clippy::ref_option)] // serde's `serialize_with` passes a reference
pub fn serialize_optional<S: Serializer>(
    net: &Option<IpNet>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match net {
        Some(net) => serializer.collect_str(net),
        None => serializer.serialize_none(),
    }
}

/// Parses `a.b.c.d/n` or `x::y/n`, as Go's `net.ParseCIDR` does (host bits are dropped).
pub fn parse(text: &str) -> Result<IpNet, String> {
    text.parse::<IpNet>().map(|net| net.trunc()).map_err(|_| {
        format!("invalid CIDR {text:?}: expected <address>/<prefix length>, e.g. 10.244.0.0/16")
    })
}

/// Whether two networks share any address.
pub fn overlap(a: &IpNet, b: &IpNet) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_overlaps() {
        let pods = parse("10.244.0.0/16").unwrap();
        assert!(!overlap(&pods, &parse("10.96.0.0/12").unwrap()));
        assert!(overlap(&pods, &parse("10.0.0.0/8").unwrap()));
        assert!(overlap(&parse("10.0.0.0/8").unwrap(), &pods));
        assert!(!overlap(&pods, &parse("fd00::/108").unwrap()));
        assert_eq!(parse("10.244.1.7/16").unwrap().to_string(), "10.244.0.0/16");
        for bad in ["10.244.0.0", "10.244.0.0/33", "banana", "10.300.0.0/16"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
