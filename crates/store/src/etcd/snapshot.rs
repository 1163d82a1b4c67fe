//! etcd snapshots: saving one through etcd's maintenance API (the file `etcdctl snapshot save`
//! writes: etcd's bbolt database followed by its SHA-256), and reading the key space out of one
//! without etcd, so that k0rs can load it into an etcd it does not manage (see [`crate::load`]).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use sha2::{Digest as _, Sha256};

use super::EtcdStore;
use super::bbolt::Db;
use super::convert::map_error;
use crate::error::{Result, StoreError};
use crate::types::{KeyValue, LeaseId, Revision};

/// Length of the SHA-256 etcd appends to a snapshot.
const CHECKSUM: usize = 32;

/// The key space an etcd snapshot holds, as of its last revision.
#[derive(Debug, Clone, Default)]
pub struct EtcdSnapshot {
    /// The last revision the snapshot knows of.
    pub revision: Revision,
    /// The live keys (under the prefix asked for, which is taken off), with their leases.
    pub kvs: Vec<KeyValue>,
    /// The leases (id, TTL in seconds) those keys are attached to.
    pub leases: Vec<(LeaseId, i64)>,
    /// Live keys in the whole snapshot, under any prefix.
    pub total_keys: usize,
}

impl EtcdStore {
    /// Streams a snapshot of the whole etcd to `out`; returns its size. The stream must end with
    /// nothing left to send, or it was cut short.
    pub async fn snapshot_to(&self, out: &mut impl Write) -> Result<u64> {
        let mut client = self.client.maintenance_client();
        let mut stream = client.snapshot().await.map_err(|e| map_error(&e))?;
        let (mut bytes, mut remaining) = (0u64, None);
        while let Some(message) = stream.message().await.map_err(|e| map_error(&e))? {
            out.write_all(message.blob())
                .map_err(|e| StoreError::Etcd(format!("cannot write the snapshot: {e}")))?;
            bytes += message.blob().len() as u64;
            remaining = Some(message.remaining_bytes());
        }
        if remaining != Some(0) {
            return Err(StoreError::Etcd(format!(
                "the snapshot stream ended early after {bytes} bytes"
            )));
        }
        out.flush()
            .map_err(|e| StoreError::Etcd(format!("cannot write the snapshot: {e}")))?;
        Ok(bytes)
    }
}

/// Reads an etcd snapshot (`name` is used in errors): checks its SHA-256 and its database, and
/// returns the live keys under `prefix` (e.g. `/k0rs`; keys must continue with `/`), the prefix
/// taken off. `None`: every key, as it is.
pub fn read(data: &[u8], name: &Path, prefix: Option<&[u8]>) -> Result<EtcdSnapshot> {
    let corrupt = |reason: String| StoreError::Corrupt {
        path: name.to_path_buf(),
        reason,
    };
    let db = checked(data).map_err(&corrupt)?;
    let db = Db::open(db).map_err(|e| corrupt(format!("not an etcd snapshot: {e}")))?;
    let mut live = BTreeMap::new();
    let mut revision = 0;
    let found = db
        .for_each(b"key", |rev, value| {
            revision = revision.max(main_revision(rev)?);
            let kv = key_value(value)?;
            if rev.len() == 18 && rev[17] == b't' {
                live.remove(&kv.key);
            } else {
                live.insert(kv.key.clone(), kv);
            }
            Ok(())
        })
        .map_err(|e| corrupt(format!("damaged key bucket: {e}")))?;
    if !found {
        return Err(corrupt("not an etcd snapshot: no key bucket".into()));
    }
    // Compaction removes deletions' tombstones: the revision may be past the last key's.
    db.for_each(b"meta", |key, value| {
        if key == b"finishedCompactRev" || key == b"scheduledCompactRev" {
            revision = revision.max(main_revision(value)?);
        }
        Ok(())
    })
    .map_err(|e| corrupt(format!("damaged meta bucket: {e}")))?;
    let mut ttls = BTreeMap::new();
    db.for_each(b"lease", |_, value| {
        let (id, ttl) = lease(value)?;
        ttls.insert(id, ttl);
        Ok(())
    })
    .map_err(|e| corrupt(format!("damaged lease bucket: {e}")))?;

    let total_keys = live.len();
    let kvs: Vec<KeyValue> = live
        .into_values()
        .filter_map(|mut kv| {
            if let Some(prefix) = prefix {
                if !(kv.key.starts_with(prefix) && kv.key.get(prefix.len()) == Some(&b'/')) {
                    return None;
                }
                kv.key.drain(..prefix.len());
            }
            Some(kv)
        })
        .collect();
    let leases = kvs
        .iter()
        .filter(|kv| kv.lease != 0)
        .filter_map(|kv| ttls.get(&kv.lease).map(|ttl| (kv.lease, *ttl)))
        .collect::<BTreeMap<_, _>>()
        .into_iter()
        .collect();
    Ok(EtcdSnapshot {
        revision,
        kvs,
        leases,
        total_keys,
    })
}

/// The database part of a snapshot, once its SHA-256 trailer matches.
fn checked(data: &[u8]) -> Result<&[u8], String> {
    // bbolt files are whole pages (multiples of 512 bytes); etcd adds the checksum after them.
    if data.len() < CHECKSUM || !(data.len() - CHECKSUM).is_multiple_of(512) {
        return Err(format!(
            "not an etcd snapshot, or cut short: {} bytes is not whole pages and a SHA-256",
            data.len()
        ));
    }
    let (db, sum) = data.split_at(data.len() - CHECKSUM);
    if Sha256::digest(db).as_slice() != sum {
        return Err("SHA-256 mismatch: the snapshot is damaged or cut short".into());
    }
    Ok(db)
}

/// The main revision of an etcd revision key (8 bytes big-endian, `_`, 8 bytes sub-revision).
fn main_revision(key: &[u8]) -> Result<Revision, String> {
    key.get(..8)
        .and_then(|b| b.try_into().ok())
        .map(i64::from_be_bytes)
        .ok_or_else(|| format!("malformed revision key {key:?}"))
}

/// mvccpb.KeyValue: key 1, create_revision 2, mod_revision 3, version 4, value 5, lease 6.
fn key_value(mut data: &[u8]) -> Result<KeyValue, String> {
    let mut kv = KeyValue::default();
    while !data.is_empty() {
        match field(&mut data)? {
            (1, Field::Bytes(b)) => kv.key = b.to_vec(),
            (2, Field::Varint(n)) => kv.create_revision = n,
            (3, Field::Varint(n)) => kv.mod_revision = n,
            (4, Field::Varint(n)) => kv.version = n,
            (5, Field::Bytes(b)) => kv.value = b.to_vec(),
            (6, Field::Varint(n)) => kv.lease = n,
            _ => {}
        }
    }
    Ok(kv)
}

/// leasepb.Lease: ID 1, TTL 2.
fn lease(mut data: &[u8]) -> Result<(LeaseId, i64), String> {
    let (mut id, mut ttl) = (0, 0);
    while !data.is_empty() {
        match field(&mut data)? {
            (1, Field::Varint(n)) => id = n,
            (2, Field::Varint(n)) => ttl = n,
            _ => {}
        }
    }
    Ok((id, ttl))
}

enum Field<'a> {
    Varint(i64),
    Bytes(&'a [u8]),
    Other,
}

/// One protobuf field: its number and value.
fn field<'a>(data: &mut &'a [u8]) -> Result<(u64, Field<'a>), String> {
    let tag = varint(data)?;
    let value = match tag & 7 {
        0 => Field::Varint(i64::from_ne_bytes(varint(data)?.to_ne_bytes())),
        2 => {
            let len = usize::try_from(varint(data)?).map_err(|_| "bad length")?;
            if len > data.len() {
                return Err("truncated protobuf field".into());
            }
            let (bytes, rest) = data.split_at(len);
            *data = rest;
            Field::Bytes(bytes)
        }
        1 => skip(data, 8)?,
        5 => skip(data, 4)?,
        wire => return Err(format!("unexpected protobuf wire type {wire}")),
    };
    Ok((tag >> 3, value))
}

fn skip<'a>(data: &mut &'a [u8], n: usize) -> Result<Field<'a>, String> {
    *data = data.get(n..).ok_or("truncated protobuf field")?;
    Ok(Field::Other)
}

fn varint(data: &mut &[u8]) -> Result<u64, String> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let (&b, rest) = data.split_first().ok_or("truncated varint")?;
        *data = rest;
        value |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err("varint too long".into())
}
