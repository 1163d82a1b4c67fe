//! The write-ahead log file: `<dir>/store.wal`. A header, then framed records
//! (`u32 length, u32 crc32, payload`), appended in batches and fsynced before any write is
//! acknowledged. A torn final batch (crash mid-write) is cut off at start; damage anywhere else is an
//! error naming the file, and nothing is overwritten.

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};

use super::codec::{self, Record};
use crate::error::{Result, StoreError};

pub const MAGIC: &[u8; 8] = b"K0RSWAL1";
pub const FRAME_HEADER: usize = 8;
pub const FILE_NAME: &str = "store.wal";

pub struct Wal {
    path: PathBuf,
    file: Flock<File>,
    size: u64,
}

pub fn io(path: &Path, action: &'static str) -> impl FnOnce(std::io::Error) -> StoreError {
    let path = path.to_path_buf();
    move |source| StoreError::Io {
        path,
        action,
        source,
    }
}

impl Wal {
    /// Opens (or creates) the log in `dir`, handing every record it holds to `apply`, in order.
    pub fn open(dir: &Path, apply: impl FnMut(Record) -> Result<()>) -> Result<Self> {
        // The store will hold Secrets: the directory and the log are private.
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io(dir, "cannot create directory"))?;
        let path = dir.join(FILE_NAME);
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(io(&path, "cannot open"))?;
        let mut file = lock(file, &path)?;
        restrict(dir, 0o700)?;
        restrict(&path, 0o600)?;
        let mut data = Vec::new();
        file.read_to_end(&mut data)
            .map_err(io(&path, "cannot read"))?;
        if data.is_empty() {
            file.write_all(MAGIC)
                .map_err(io(&path, "cannot write header"))?;
            file.sync_all().map_err(io(&path, "cannot fsync"))?;
            sync_dir(dir)?;
            return Ok(Self {
                path,
                file,
                size: MAGIC.len() as u64,
            });
        }
        if !data.starts_with(MAGIC) {
            return Err(StoreError::Corrupt {
                path,
                reason: "not a k0rs store (unknown header); refusing to touch it".into(),
            });
        }
        let good = read_records(&path, &data, apply)?;
        if good < data.len() {
            tracing::warn!(component = "store", file = %path.display(), bytes = data.len() - good, "cutting off a torn final write");
            file.set_len(good as u64)
                .map_err(io(&path, "cannot truncate torn tail"))?;
            file.sync_all().map_err(io(&path, "cannot fsync"))?;
        }
        Ok(Self {
            path,
            file,
            size: good as u64,
        })
    }

    /// Appends framed records and waits until they are on disk.
    pub fn append(&mut self, framed: &[u8]) -> Result<()> {
        self.file
            .write_all(framed)
            .map_err(io(&self.path, "cannot append"))?;
        let started = std::time::Instant::now();
        self.file
            .sync_data()
            .map_err(io(&self.path, "cannot fsync"))?;
        crate::metrics::wal_fsynced(started.elapsed());
        self.size += framed.len() as u64;
        Ok(())
    }

    /// Replaces the whole log with `records`, atomically (write a new file, fsync, rename).
    pub fn rewrite(&mut self, records: &[Record]) -> Result<()> {
        let tmp = self.path.with_extension("wal.rewrite");
        let mut data = MAGIC.to_vec();
        for record in records {
            frame(record, &mut data);
        }
        // Written from the start; later appends continue at the cursor, which stays at the end.
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(io(&tmp, "cannot create"))?;
        file.write_all(&data).map_err(io(&tmp, "cannot write"))?;
        file.sync_all().map_err(io(&tmp, "cannot fsync"))?;
        let file = lock(file, &tmp)?;
        fs::rename(&tmp, &self.path)
            .map_err(io(&self.path, "cannot replace with rewritten log"))?;
        sync_dir(self.path.parent().unwrap_or(Path::new(".")))?;
        self.file = file;
        self.size = data.len() as u64;
        Ok(())
    }

    pub fn size(&self) -> u64 {
        self.size
    }
}

/// Hands every record of the log in `dir` to `apply`, changing nothing: no file is created, a
/// torn tail is left as it is. A shared lock keeps a store from opening the log meanwhile, and
/// fails while a store has it open.
pub fn read(dir: &Path, apply: impl FnMut(Record) -> Result<()>) -> Result<()> {
    let path = dir.join(FILE_NAME);
    let file = File::open(&path).map_err(io(&path, "cannot open"))?;
    let mut file =
        Flock::lock(file, FlockArg::LockSharedNonblock).map_err(|(_, errno)| StoreError::Io {
            path: path.clone(),
            action: "is in use by another process",
            source: std::io::Error::from(errno),
        })?;
    let mut data = Vec::new();
    file.read_to_end(&mut data)
        .map_err(io(&path, "cannot read"))?;
    if !data.starts_with(MAGIC) {
        return Err(StoreError::Corrupt {
            path,
            reason: "not a k0rs store (unknown header)".into(),
        });
    }
    read_records(&path, &data, apply)?;
    Ok(())
}

/// Appends `record` to `out` with its frame header.
pub fn frame(record: &Record, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(&[0; FRAME_HEADER]);
    codec::encode(record, out);
    let payload = &out[start + FRAME_HEADER..];
    let len = u32::try_from(payload.len()).expect("records are bounded by the request size limit");
    let crc = crc32fast::hash(payload);
    out[start..start + 4].copy_from_slice(&len.to_le_bytes());
    out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
}

/// Decodes every record and applies it; returns the length of the intact prefix of `data`.
fn read_records(
    path: &Path,
    data: &[u8],
    mut apply: impl FnMut(Record) -> Result<()>,
) -> Result<usize> {
    let mut at = MAGIC.len();
    while at < data.len() {
        match read_frame(&data[at..]) {
            Ok((record, len)) => {
                apply(record)?;
                at += len;
            }
            Err(reason) if is_torn_tail(&data[at..]) => {
                tracing::debug!(component = "store", %reason, "torn tail");
                break;
            }
            Err(reason) => {
                return Err(StoreError::Corrupt {
                    path: path.to_path_buf(),
                    reason: format!("damaged record at byte {at}: {reason}; refusing to start"),
                });
            }
        }
    }
    Ok(at)
}

fn read_frame(data: &[u8]) -> Result<(Record, usize), String> {
    if data.len() < FRAME_HEADER {
        return Err("truncated frame header".into());
    }
    let header: [u8; FRAME_HEADER] = data[..FRAME_HEADER].try_into().expect("8 bytes");
    let len = frame_len(header);
    let payload = data
        .get(FRAME_HEADER..FRAME_HEADER + len)
        .ok_or("truncated record")?;
    check_frame(header, payload)?;
    Ok((codec::decode(payload)?, FRAME_HEADER + len))
}

/// The payload length a frame header announces.
pub fn frame_len(header: [u8; FRAME_HEADER]) -> usize {
    u32::from_le_bytes(header[0..4].try_into().expect("4 bytes")) as usize
}

/// Whether `payload` is what the frame header announced (length and checksum).
pub fn check_frame(header: [u8; FRAME_HEADER], payload: &[u8]) -> Result<(), String> {
    let crc = u32::from_le_bytes(header[4..8].try_into().expect("4 bytes"));
    if payload.is_empty() || payload.len() != frame_len(header) || crc32fast::hash(payload) != crc {
        return Err("checksum mismatch".into());
    }
    Ok(())
}

/// A crash mid-append leaves a prefix of the last batch: damage with no intact frame after it.
/// Damage followed by intact frames (a flipped bit, a corrupt length) is corruption instead.
fn is_torn_tail(rest: &[u8]) -> bool {
    rest.iter().all(|&b| b == 0)
        || !(1..rest.len()).any(|offset| read_frame(&rest[offset..]).is_ok())
}

/// Brings an existing directory or file (made by an older k0rs) down to `mode`.
fn restrict(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let current = fs::metadata(path)
        .map_err(io(path, "cannot stat"))?
        .permissions()
        .mode()
        & 0o777;
    if current != mode {
        tracing::info!(component = "store", path = %path.display(), mode = format!("{mode:o}"), "restricting permissions");
        fs::set_permissions(path, fs::Permissions::from_mode(mode))
            .map_err(io(path, "cannot set permissions"))?;
    }
    Ok(())
}

fn lock(file: File, path: &Path) -> Result<Flock<File>> {
    Flock::lock(file, FlockArg::LockExclusiveNonblock).map_err(|(_, errno)| StoreError::Io {
        path: path.to_path_buf(),
        action: "is in use by another process",
        source: std::io::Error::from(errno),
    })
}

pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io(dir, "cannot fsync directory"))
}
