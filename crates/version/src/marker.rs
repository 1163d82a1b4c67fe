//! The marker: a static byte array, a recognisable prefix followed by the version (NUL-padded).
//! It is the only copy of the prefix in the binary — the stamper takes its needle from this
//! static at run time rather than from a second literal — so a stamp finds exactly one place.

use std::sync::OnceLock;

/// The longest version a marker holds, in bytes.
pub const MAX_LEN: usize = 64;

const PREFIX_LEN: usize = 24;

/// Built at compile time; `const fn` so the prefix literal exists only inside this array.
static MARKER: [u8; PREFIX_LEN + MAX_LEN] = build(env!("CARGO_PKG_VERSION"));

const fn build(version: &str) -> [u8; PREFIX_LEN + MAX_LEN] {
    let prefix: &[u8; PREFIX_LEN] = b"\x7fk0rs-version-stamp:v01\x00";
    let version = version.as_bytes();
    assert!(
        version.len() <= MAX_LEN,
        "the workspace version does not fit the marker"
    );
    let mut out = [0u8; PREFIX_LEN + MAX_LEN];
    let mut i = 0;
    while i < PREFIX_LEN {
        out[i] = prefix[i];
        i += 1;
    }
    let mut j = 0;
    while j < version.len() {
        out[PREFIX_LEN + j] = version[j];
        j += 1;
    }
    out
}

/// The marker as it is in memory, i.e. as it is in the file this process runs from. Through
/// `black_box`, because the optimiser would otherwise fold reads of an immutable static into the
/// compile-time value and a stamped copy would still report the built version.
pub(crate) fn bytes() -> &'static [u8; PREFIX_LEN + MAX_LEN] {
    std::hint::black_box(&MARKER)
}

/// The prefix that opens every k0rs marker.
pub(crate) fn prefix() -> &'static [u8] {
    &bytes()[..PREFIX_LEN]
}

/// The version in a marker's payload (up to the first NUL), if it is UTF-8 and not empty.
pub(crate) fn payload(marker: &[u8]) -> Option<&str> {
    let payload = &marker[PREFIX_LEN..PREFIX_LEN + MAX_LEN];
    let end = payload.iter().position(|b| *b == 0).unwrap_or(MAX_LEN);
    std::str::from_utf8(&payload[..end])
        .ok()
        .filter(|v| !v.is_empty())
}

pub(crate) const fn len() -> usize {
    PREFIX_LEN + MAX_LEN
}

/// This build's version without the leading `v`, e.g. `1.28.15+k0rs.0`: the stamped one, else
/// the compiled-in one (which is what the marker holds until stamped).
pub fn current() -> &'static str {
    static CURRENT: OnceLock<String> = OnceLock::new();
    CURRENT.get_or_init(|| {
        payload(bytes()).map_or_else(|| env!("CARGO_PKG_VERSION").to_owned(), str::to_owned)
    })
}
