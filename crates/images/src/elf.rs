//! Is an executable statically linked? Read from its ELF program headers.
//!
//! An image built here holds a single binary and no shared libraries, so a dynamically linked one
//! would fail only when a container starts ("no such file or directory" for its interpreter). A
//! dynamic executable names its loader in a PT_INTERP program header; a static one (static-pie
//! included) has none.

use std::path::Path;

use crate::error::{ImageError, Result};

const PT_INTERP: u32 = 3;

/// Refuses an ELF file that names a program interpreter; `path` is only for the message.
pub(crate) fn ensure_static(path: &Path, bytes: &[u8]) -> Result<()> {
    let not_elf = |reason| ImageError::NotElf {
        path: path.to_owned(),
        reason,
    };
    let elf = Elf::parse(bytes).map_err(not_elf)?;
    for index in 0..elf.phnum {
        let at = index
            .checked_mul(elf.phentsize)
            .and_then(|off| off.checked_add(elf.phoff))
            .ok_or_else(|| not_elf("program header table out of range"))?;
        if elf
            .word(at, 4)
            .ok_or_else(|| not_elf("truncated program header"))?
            != u64::from(PT_INTERP)
        {
            continue;
        }
        // p_offset and p_filesz: after p_type (and p_flags on 64-bit).
        let (offset_at, size_at, width) = if elf.wide { (8, 32, 8) } else { (4, 16, 4) };
        let interpreter = elf
            .word(at + offset_at, width)
            .zip(elf.word(at + size_at, width))
            .and_then(|(offset, size)| {
                let start = usize::try_from(offset).ok()?;
                bytes.get(start..start.checked_add(usize::try_from(size).ok()?)?)
            })
            .map_or_else(
                || "unreadable".to_owned(),
                |raw| {
                    String::from_utf8_lossy(raw)
                        .trim_end_matches('\0')
                        .to_owned()
                },
            );
        return Err(ImageError::DynamicallyLinked {
            path: path.to_owned(),
            interpreter,
        });
    }
    Ok(())
}

/// The parts of an ELF header that locate the program headers.
struct Elf<'a> {
    bytes: &'a [u8],
    wide: bool,
    little: bool,
    phoff: usize,
    phentsize: usize,
    phnum: usize,
}

impl<'a> Elf<'a> {
    fn parse(bytes: &'a [u8]) -> Result<Self, &'static str> {
        if bytes.get(..4) != Some(b"\x7fELF".as_slice()) {
            return Err("no ELF magic");
        }
        let wide = match bytes.get(4) {
            Some(1) => false,
            Some(2) => true,
            _ => return Err("unknown ELF class"),
        };
        let little = match bytes.get(5) {
            Some(1) => true,
            Some(2) => false,
            _ => return Err("unknown ELF byte order"),
        };
        let mut elf = Self {
            bytes,
            wide,
            little,
            phoff: 0,
            phentsize: 0,
            phnum: 0,
        };
        let (phoff, phentsize, phnum) = if wide {
            (elf.word(0x20, 8), elf.word(0x36, 2), elf.word(0x38, 2))
        } else {
            (elf.word(0x1c, 4), elf.word(0x2a, 2), elf.word(0x2c, 2))
        };
        let field = |value: Option<u64>| {
            value
                .and_then(|v| usize::try_from(v).ok())
                .ok_or("truncated ELF header")
        };
        elf.phoff = field(phoff)?;
        elf.phentsize = field(phentsize)?;
        elf.phnum = field(phnum)?;
        Ok(elf)
    }

    /// The unsigned integer of `width` bytes at `at`, in the file's byte order.
    fn word(&self, at: usize, width: usize) -> Option<u64> {
        let raw = self.bytes.get(at..at.checked_add(width)?)?;
        let mut value = 0u64;
        for (i, byte) in raw.iter().enumerate() {
            let shift = if self.little { i } else { width - 1 - i };
            value |= u64::from(*byte) << (8 * shift);
        }
        Some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dynamic_executable_is_refused_with_its_name_and_interpreter() {
        let path = Path::new("/bin/ls");
        let bytes = std::fs::read(path).unwrap();
        let err = ensure_static(path, &bytes).unwrap_err().to_string();
        assert!(err.starts_with("/bin/ls: dynamically linked"), "{err}");
        assert!(err.contains("ld-"), "{err}");
    }

    #[test]
    fn the_pause_program_is_static() {
        ensure_static(Path::new("pause"), crate::pause::PAUSE_BINARY).unwrap();
    }

    #[test]
    fn non_elf_and_truncated_files_are_refused() {
        for bytes in [&b"#!/bin/sh\n"[..], b"\x7fELF\x02\x01", b""] {
            let err = ensure_static(Path::new("x"), bytes).unwrap_err();
            assert!(matches!(err, ImageError::NotElf { .. }), "{err}");
        }
    }

    #[test]
    fn a_program_header_table_past_the_end_is_refused() {
        let mut bytes = std::fs::read("/bin/ls").unwrap();
        bytes.truncate(0x40);
        let err = ensure_static(Path::new("x"), &bytes).unwrap_err();
        assert!(matches!(err, ImageError::NotElf { .. }), "{err}");
    }
}
