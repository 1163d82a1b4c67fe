//! Names of chains and sets made from what they serve: a fixed prefix and 16 base32 characters
//! of a SHA-256, as kube-proxy names its chains. They are stable across restarts and fit
//! iptables' 28-character chain names and ipset's 31-character set names.

use sha2::{Digest as _, Sha256};

/// `prefix` followed by 16 characters of the hash of `parts`.
pub fn hashed_name(prefix: &str, parts: &[&str]) -> String {
    let mut hash = Sha256::new();
    for part in parts {
        hash.update(part.as_bytes());
    }
    format!("{prefix}{}", &base32(&hash.finalize())[..16])
}

/// RFC 4648 base32 (no padding needed: only a prefix is used).
fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity(bytes.len() * 8 / 5 + 1);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32_follows_rfc_4648() {
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32(b"f"), "MY");
    }
}
