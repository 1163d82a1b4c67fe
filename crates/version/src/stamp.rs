//! Stamping a copy of a k0rs binary with another version, and reading the version a binary file
//! carries, without running it.

use crate::marker;

#[derive(Debug, thiserror::Error)]
pub enum StampError {
    #[error("{version:?} is not a version k0rs can stamp: {reason}")]
    BadVersion { version: String, reason: String },
    #[error("no k0rs version marker found: not a k0rs binary")]
    NoMarker,
    #[error("{0} k0rs version markers found, expected exactly one")]
    ManyMarkers(usize),
    #[error("the k0rs version marker holds no readable version")]
    EmptyMarker,
}

/// The offset of the one marker in `binary`.
fn locate(binary: &[u8]) -> Result<usize, StampError> {
    let prefix = marker::prefix();
    let mut found = binary
        .windows(prefix.len())
        .enumerate()
        .filter(|(_, window)| *window == prefix)
        .map(|(offset, _)| offset)
        .filter(|offset| offset + marker::len() <= binary.len());
    let first = found.next().ok_or(StampError::NoMarker)?;
    let others = found.count();
    if others > 0 {
        return Err(StampError::ManyMarkers(others + 1));
    }
    Ok(first)
}

/// Writes `version` (semver, `v` optional) into the marker of `binary`, in place.
pub fn stamp(binary: &mut [u8], version: &str) -> Result<(), StampError> {
    let version = crate::normalize(version)?;
    let offset = locate(binary)?;
    let payload = &mut binary[offset + marker::prefix().len()..offset + marker::len()];
    payload.fill(0);
    payload[..version.len()].copy_from_slice(version.as_bytes());
    Ok(())
}

/// The version a k0rs binary file carries (without `v`): what it will report when run.
pub fn read_stamp(binary: &[u8]) -> Result<String, StampError> {
    let offset = locate(binary)?;
    marker::payload(&binary[offset..offset + marker::len()])
        .map(str::to_owned)
        .ok_or(StampError::EmptyMarker)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_binary() -> Vec<u8> {
        let mut binary = b"\x7fELF some code".to_vec();
        binary.extend_from_slice(marker::bytes());
        binary.extend_from_slice(b"more code");
        binary
    }

    #[test]
    fn a_stamped_copy_carries_the_new_version() {
        let mut binary = fake_binary();
        assert_eq!(read_stamp(&binary).unwrap(), env!("CARGO_PKG_VERSION"));
        stamp(&mut binary, "v1.28.16+k0rs.3").unwrap();
        assert_eq!(read_stamp(&binary).unwrap(), "1.28.16+k0rs.3");
        // A shorter version leaves no tail of the longer one behind.
        stamp(&mut binary, "1.29.0+k0rs.0").unwrap();
        assert_eq!(read_stamp(&binary).unwrap(), "1.29.0+k0rs.0");
        assert!(binary.ends_with(b"more code"));
    }

    #[test]
    fn a_file_without_exactly_one_marker_is_refused() {
        assert!(matches!(read_stamp(b"not k0rs"), Err(StampError::NoMarker)));
        let mut twice = fake_binary();
        twice.extend_from_slice(&fake_binary());
        assert!(matches!(
            stamp(&mut twice, "1.0.0"),
            Err(StampError::ManyMarkers(2))
        ));
    }

    #[test]
    fn a_bad_version_is_refused_before_anything_is_written() {
        let mut binary = fake_binary();
        assert!(matches!(
            stamp(&mut binary, "latest"),
            Err(StampError::BadVersion { .. })
        ));
        assert_eq!(read_stamp(&binary).unwrap(), env!("CARGO_PKG_VERSION"));
    }
}
