//! Snapshots of the embedded store: the whole key space and its leases at one revision, as a file
//! from which [`restore`] makes the log of a new store.
//!
//! A snapshot is taken by the writer thread between two batches (see `Writer::run`), when every
//! change it has applied is durable and published; so it holds every write acknowledged before it
//! was asked for, and nothing half-applied. Taking it only clones reference-counted pointers to the
//! values; encoding happens afterwards, off the writer thread, while the store keeps serving.
//!
//! The format reuses the log's framing and records: `K0RSSNP1`, one `LeaseGrant` record per lease,
//! the keys in `Snapshot` records of about a megabyte each (all at the snapshot's revision), and a
//! trailer frame (revision, key count, lease count). A snapshot cut short anywhere, even at a frame
//! boundary, is therefore recognised as incomplete, and a damaged one by its checksums.

use std::fs::{self, DirBuilder, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;
use std::sync::Arc;

use super::codec::{self, Record};
use super::mvcc::Mvcc;
use super::stored::Stored;
use super::wal::{self, FRAME_HEADER};
use crate::error::{Result, StoreError};
use crate::types::{LeaseId, Revision};

const MAGIC: &[u8; 8] = b"K0RSSNP1";
/// First payload byte of the trailer; no log record starts with it.
const TRAILER: u8 = 0xff;
/// Keys go into `Snapshot` records of about this many bytes.
const CHUNK_BYTES: usize = 1 << 20;

/// What a snapshot holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotInfo {
    /// The revision the key space is at.
    pub revision: Revision,
    pub keys: u64,
    pub leases: u64,
    /// Size of the snapshot file.
    pub bytes: u64,
}

/// The key space at one revision, captured from a store.
pub struct Snapshot {
    revision: Revision,
    leases: Vec<(LeaseId, i64)>,
    kvs: Vec<(Arc<[u8]>, Arc<Stored>)>,
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot")
            .field("revision", &self.revision)
            .field("keys", &self.kvs.len())
            .field("leases", &self.leases.len())
            .finish()
    }
}

impl Snapshot {
    /// The state's current revision: the caller makes sure that is the published one.
    pub(super) fn capture(state: &Mvcc) -> Self {
        Self {
            revision: state.current,
            leases: state
                .leases
                .iter()
                .map(|(id, lease)| (*id, lease.ttl))
                .collect(),
            kvs: state.live_at(state.current),
        }
    }

    /// A snapshot of the store whose log is in `dir`, read without changing anything, for when no
    /// store has it open (fails with "in use" while one has).
    pub fn from_dir(dir: &Path) -> Result<Self> {
        let mut state = Mvcc::default();
        wal::read(dir, |record| super::replay(dir, &mut state, record))?;
        Ok(Self::capture(&state))
    }

    pub fn revision(&self) -> Revision {
        self.revision
    }

    pub fn key_count(&self) -> usize {
        self.kvs.len()
    }

    /// Writes the snapshot to `out`; returns what it holds.
    pub fn write_to(&self, out: &mut impl Write) -> std::io::Result<SnapshotInfo> {
        let mut bytes = MAGIC.len() as u64;
        out.write_all(MAGIC)?;
        let mut buf = Vec::new();
        for (id, ttl) in &self.leases {
            wal::frame(&Record::LeaseGrant { id: *id, ttl: *ttl }, &mut buf);
        }
        // At least one `Snapshot` record, even for an empty store: it carries the revision.
        let mut start = 0;
        loop {
            let (mut end, mut size) = (start, 0);
            while end < self.kvs.len() && (end == start || size < CHUNK_BYTES) {
                size += self.kvs[end].0.len() + self.kvs[end].1.value.len();
                end += 1;
            }
            let kvs = self.kvs[start..end]
                .iter()
                .map(|(key, value)| value.to_kv(key))
                .collect();
            wal::frame(
                &Record::Snapshot {
                    compacted: self.revision,
                    kvs,
                },
                &mut buf,
            );
            out.write_all(&buf)?;
            bytes += buf.len() as u64;
            buf.clear();
            start = end;
            if start == self.kvs.len() {
                break;
            }
        }
        let mut trailer = vec![TRAILER];
        for n in [
            self.revision,
            i64::try_from(self.kvs.len()).unwrap_or(i64::MAX),
            i64::try_from(self.leases.len()).unwrap_or(i64::MAX),
        ] {
            trailer.extend_from_slice(&n.to_le_bytes());
        }
        frame_raw(&trailer, &mut buf);
        out.write_all(&buf)?;
        bytes += buf.len() as u64;
        out.flush()?;
        Ok(SnapshotInfo {
            revision: self.revision,
            keys: self.kvs.len() as u64,
            leases: self.leases.len() as u64,
            bytes,
        })
    }
}

/// Checks a whole snapshot (`name` is used in errors): intact, complete, consistent.
pub fn verify(input: impl Read, name: &Path) -> Result<SnapshotInfo> {
    read(input, name, |_| Ok(()))
}

/// Makes the log of a new store in `dir` from a snapshot, at the snapshot's revision plus `bump`,
/// compacted up to there (etcd's `snapshot restore --bump-revision --mark-compacted`): a client
/// holding a resourceVersion from before the restore, even one newer than the snapshot, gets
/// "compacted" and lists again instead of waiting for revisions the restored store will not
/// replay. Refuses a `dir` that holds a log already; writes nothing unless the whole snapshot is
/// intact (the log is written under a temporary name and renamed at the end).
pub fn restore(input: impl Read, name: &Path, dir: &Path, bump: Revision) -> Result<SnapshotInfo> {
    let target = dir.join(wal::FILE_NAME);
    if target.exists() {
        return Err(StoreError::Io {
            path: target,
            action: "exists already; a snapshot is restored only into a new store",
            source: std::io::ErrorKind::AlreadyExists.into(),
        });
    }
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(wal::io(dir, "cannot create directory"))?;
    let tmp = dir.join(format!("{}.restore", wal::FILE_NAME));
    let result = write_log(input, name, &tmp, bump).and_then(|info| {
        fs::rename(&tmp, &target).map_err(wal::io(&target, "cannot rename restored log"))?;
        wal::sync_dir(dir)?;
        Ok(info)
    });
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn write_log(input: impl Read, name: &Path, path: &Path, bump: Revision) -> Result<SnapshotInfo> {
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(wal::io(path, "cannot create"))?;
    let mut out = std::io::BufWriter::new(&mut file);
    out.write_all(wal::MAGIC)
        .map_err(wal::io(path, "cannot write"))?;
    let mut buf = Vec::new();
    let info = read(input, name, |record| {
        let record = match record {
            Record::Snapshot { compacted, kvs } => Record::Snapshot {
                compacted: compacted + bump,
                kvs,
            },
            other => other,
        };
        buf.clear();
        wal::frame(&record, &mut buf);
        out.write_all(&buf).map_err(wal::io(path, "cannot write"))
    })?;
    out.flush().map_err(wal::io(path, "cannot write"))?;
    drop(out);
    file.sync_all().map_err(wal::io(path, "cannot fsync"))?;
    Ok(info)
}

/// Reads a snapshot, handing each record to `each` in order, and checks it as it goes: the
/// header, every frame's checksum, leases before keys, one revision throughout, and a trailer that
/// agrees with what came before it and ends the input.
fn read(
    input: impl Read,
    name: &Path,
    mut each: impl FnMut(Record) -> Result<()>,
) -> Result<SnapshotInfo> {
    let corrupt = |reason: String| StoreError::Corrupt {
        path: name.to_path_buf(),
        reason,
    };
    let mut input = Counting {
        inner: input,
        bytes: 0,
    };
    let mut magic = [0; 8];
    read_exact(&mut input, &mut magic)
        .map_err(|e| corrupt(format!("not a k0rs store snapshot: {e}")))?;
    if &magic != MAGIC {
        return Err(corrupt("not a k0rs store snapshot (unknown header)".into()));
    }
    let (mut revision, mut keys, mut leases) = (None::<Revision>, 0u64, 0u64);
    loop {
        let at = input.bytes;
        let payload = next_frame(&mut input)
            .map_err(|e| corrupt(format!("incomplete or damaged at byte {at}: {e}")))?
            .ok_or_else(|| corrupt(format!("incomplete: ends at byte {at} without its trailer")))?;
        if payload[0] == TRAILER {
            let info = trailer(&payload).map_err(&corrupt)?;
            let expected = (revision, keys, leases);
            if expected != (Some(info.revision), info.keys, info.leases) {
                return Err(corrupt(format!(
                    "the trailer says revision {}, {} keys, {} leases; the snapshot holds {expected:?}",
                    info.revision, info.keys, info.leases
                )));
            }
            if !matches!(next_frame(&mut input), Ok(None)) {
                return Err(corrupt(format!(
                    "data after the trailer at byte {}",
                    input.bytes
                )));
            }
            return Ok(SnapshotInfo {
                bytes: input.bytes,
                ..info
            });
        }
        let record =
            codec::decode(&payload).map_err(|e| corrupt(format!("record at byte {at}: {e}")))?;
        match &record {
            Record::LeaseGrant { .. } if revision.is_none() => leases += 1,
            Record::Snapshot { compacted, kvs } if revision.is_none_or(|r| r == *compacted) => {
                revision = Some(*compacted);
                keys += kvs.len() as u64;
            }
            other => {
                return Err(corrupt(format!(
                    "unexpected record at byte {at}: {other:?}"
                )));
            }
        }
        each(record)?;
    }
}

fn trailer(payload: &[u8]) -> Result<SnapshotInfo, String> {
    let numbers: Vec<i64> = payload[1..]
        .chunks(8)
        .map(|n| n.try_into().map(i64::from_le_bytes))
        .collect::<Result<_, _>>()
        .map_err(|_| "malformed trailer")?;
    let [revision, keys, leases] = numbers[..] else {
        return Err("malformed trailer".into());
    };
    let count = |n: i64| u64::try_from(n).map_err(|_| "malformed trailer".to_owned());
    Ok(SnapshotInfo {
        revision,
        keys: count(keys)?,
        leases: count(leases)?,
        bytes: 0,
    })
}

/// The next frame's payload; `None` at a clean end of the input.
fn next_frame(input: &mut impl Read) -> std::io::Result<Option<Vec<u8>>> {
    let mut header = [0; FRAME_HEADER];
    let mut filled = 0;
    while filled < header.len() {
        match input.read(&mut header[filled..])? {
            0 if filled == 0 => return Ok(None),
            0 => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            n => filled += n,
        }
    }
    // Read up to the announced length rather than allocating it: a damaged length could
    // announce gigabytes.
    let len = wal::frame_len(header);
    let mut payload = Vec::new();
    input.by_ref().take(len as u64).read_to_end(&mut payload)?;
    if payload.len() < len {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "cut short",
        ));
    }
    wal::check_frame(header, &payload).map_err(std::io::Error::other)?;
    Ok(Some(payload))
}

fn read_exact(input: &mut impl Read, buf: &mut [u8]) -> std::io::Result<()> {
    input.read_exact(buf).map_err(|e| match e.kind() {
        std::io::ErrorKind::UnexpectedEof => std::io::Error::new(e.kind(), "cut short"),
        _ => e,
    })
}

/// A frame around a payload that is not a log record (the trailer).
fn frame_raw(payload: &[u8], out: &mut Vec<u8>) {
    let len = u32::try_from(payload.len()).expect("the trailer is small");
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    out.extend_from_slice(payload);
}

struct Counting<R> {
    inner: R,
    bytes: u64,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embedded::stored::WalOp;

    fn state_with(keys: usize, value_size: usize) -> Mvcc {
        let mut state = Mvcc::default();
        state.grant_lease(7, 60);
        for i in 0..keys {
            let revision = state.current + 1;
            state.apply_op(
                revision,
                &WalOp::Put {
                    key: format!("/k/{i:05}").into_bytes(),
                    value: vec![b'v'; value_size],
                    lease: if i == 0 { 7 } else { 0 },
                },
            );
            state.finish_revision(revision);
        }
        state
    }

    fn bytes_of(state: &Mvcc) -> Vec<u8> {
        let mut out = Vec::new();
        Snapshot::capture(state).write_to(&mut out).unwrap();
        out
    }

    #[test]
    fn a_snapshot_verifies_and_spans_chunks() {
        let state = state_with(3000, 1000);
        let bytes = bytes_of(&state);
        let info = verify(&bytes[..], Path::new("s")).unwrap();
        assert_eq!(
            (info.revision, info.keys, info.leases, info.bytes),
            (state.current, 3000, 1, bytes.len() as u64)
        );
    }

    #[test]
    fn an_empty_store_has_a_snapshot_too() {
        let state = Mvcc::default();
        let info = verify(&bytes_of(&state)[..], Path::new("s")).unwrap();
        assert_eq!((info.revision, info.keys), (1, 0));
    }

    #[test]
    fn every_cut_and_every_flipped_byte_is_refused() {
        let state = state_with(20, 10);
        let bytes = bytes_of(&state);
        for len in 0..bytes.len() {
            let err = verify(&bytes[..len], Path::new("s")).unwrap_err();
            assert!(
                matches!(err, StoreError::Corrupt { .. }),
                "cut at {len}: {err}"
            );
        }
        for at in 0..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[at] ^= 0x40;
            assert!(
                verify(&damaged[..], Path::new("s")).is_err(),
                "flip at {at}"
            );
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(verify(&longer[..], Path::new("s")).is_err());
    }
}
