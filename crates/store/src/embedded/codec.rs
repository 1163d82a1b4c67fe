//! The binary encoding of WAL records: a tag byte, then varints and length-prefixed bytes.

use super::stored::WalOp;
use crate::types::{KeyValue, LeaseId, Revision};

/// One durable change of the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// The writes of one revision.
    Txn {
        revision: Revision,
        ops: Vec<WalOp>,
    },
    LeaseGrant {
        id: LeaseId,
        ttl: i64,
    },
    LeaseRevoke {
        id: LeaseId,
    },
    Compact {
        revision: Revision,
    },
    /// The state at `compacted` after a rewrite: later revisions follow as `Txn` records.
    Snapshot {
        compacted: Revision,
        kvs: Vec<KeyValue>,
    },
}

const TXN: u8 = 1;
const LEASE_GRANT: u8 = 2;
const LEASE_REVOKE: u8 = 3;
const COMPACT: u8 = 4;
const SNAPSHOT: u8 = 5;
const OP_PUT: u8 = 1;
const OP_DELETE: u8 = 2;

pub fn encode(record: &Record, out: &mut Vec<u8>) {
    match record {
        Record::Txn { revision, ops } => {
            out.push(TXN);
            varint(out, *revision);
            length(out, ops.len());
            for op in ops {
                match op {
                    WalOp::Put { key, value, lease } => {
                        out.push(OP_PUT);
                        bytes(out, key);
                        bytes(out, value);
                        varint(out, *lease);
                    }
                    WalOp::Delete { key } => {
                        out.push(OP_DELETE);
                        bytes(out, key);
                    }
                }
            }
        }
        Record::LeaseGrant { id, ttl } => {
            out.push(LEASE_GRANT);
            varint(out, *id);
            varint(out, *ttl);
        }
        Record::LeaseRevoke { id } => {
            out.push(LEASE_REVOKE);
            varint(out, *id);
        }
        Record::Compact { revision } => {
            out.push(COMPACT);
            varint(out, *revision);
        }
        Record::Snapshot { compacted, kvs } => {
            out.push(SNAPSHOT);
            varint(out, *compacted);
            length(out, kvs.len());
            for kv in kvs {
                bytes(out, &kv.key);
                bytes(out, &kv.value);
                varint(out, kv.create_revision);
                varint(out, kv.mod_revision);
                varint(out, kv.version);
                varint(out, kv.lease);
            }
        }
    }
}

pub fn decode(mut input: &[u8]) -> Result<Record, String> {
    let r = &mut input;
    let record = match byte(r)? {
        TXN => {
            let revision = read_varint(r)?;
            let n = read_len(r)?;
            let mut ops = Vec::with_capacity(n.min(1024));
            for _ in 0..n {
                ops.push(match byte(r)? {
                    OP_PUT => WalOp::Put {
                        key: read_bytes(r)?,
                        value: read_bytes(r)?,
                        lease: read_varint(r)?,
                    },
                    OP_DELETE => WalOp::Delete {
                        key: read_bytes(r)?,
                    },
                    other => return Err(format!("unknown op tag {other}")),
                });
            }
            Record::Txn { revision, ops }
        }
        LEASE_GRANT => Record::LeaseGrant {
            id: read_varint(r)?,
            ttl: read_varint(r)?,
        },
        LEASE_REVOKE => Record::LeaseRevoke {
            id: read_varint(r)?,
        },
        COMPACT => Record::Compact {
            revision: read_varint(r)?,
        },
        SNAPSHOT => {
            let compacted = read_varint(r)?;
            let n = read_len(r)?;
            let mut kvs = Vec::with_capacity(n.min(1024));
            for _ in 0..n {
                kvs.push(KeyValue {
                    key: read_bytes(r)?,
                    value: read_bytes(r)?,
                    create_revision: read_varint(r)?,
                    mod_revision: read_varint(r)?,
                    version: read_varint(r)?,
                    lease: read_varint(r)?,
                });
            }
            Record::Snapshot { compacted, kvs }
        }
        other => return Err(format!("unknown record tag {other}")),
    };
    if input.is_empty() {
        Ok(record)
    } else {
        Err(format!("{} trailing bytes", input.len()))
    }
}

/// LEB128 of the value's bits (revisions, ids and TTLs are never negative in practice, but any
/// i64 round-trips).
#[allow(clippy::cast_sign_loss)]
fn varint(out: &mut Vec<u8>, value: i64) {
    leb128(out, value as u64);
}

fn length(out: &mut Vec<u8>, n: usize) {
    leb128(out, u64::try_from(n).expect("lengths fit in 64 bits"));
}

#[allow(clippy::cast_possible_truncation)] // each byte takes the low seven bits on purpose
fn leb128(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn bytes(out: &mut Vec<u8>, data: &[u8]) {
    length(out, data.len());
    out.extend_from_slice(data);
}

fn byte(r: &mut &[u8]) -> Result<u8, String> {
    let (&first, rest) = r.split_first().ok_or("truncated record")?;
    *r = rest;
    Ok(first)
}

#[allow(clippy::cast_possible_wrap)]
fn read_varint(r: &mut &[u8]) -> Result<i64, String> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let b = byte(r)?;
        value |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Ok(value as i64);
        }
    }
    Err("varint too long".into())
}

fn read_len(r: &mut &[u8]) -> Result<usize, String> {
    let n = read_varint(r)?;
    usize::try_from(n)
        .ok()
        .filter(|&n| n <= r.len() * 8 + 8)
        .ok_or_else(|| format!("bad length {n}"))
}

fn read_bytes(r: &mut &[u8]) -> Result<Vec<u8>, String> {
    let n = read_len(r)?;
    if n > r.len() {
        return Err("truncated bytes".into());
    }
    let (data, rest) = r.split_at(n);
    *r = rest;
    Ok(data.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip() {
        let records = [
            Record::Txn {
                revision: 300,
                ops: vec![
                    WalOp::Put {
                        key: b"/a".to_vec(),
                        value: vec![0; 200],
                        lease: 7,
                    },
                    WalOp::Delete {
                        key: b"/b".to_vec(),
                    },
                ],
            },
            Record::LeaseGrant {
                id: i64::MAX,
                ttl: 60,
            },
            Record::LeaseRevoke { id: 1 },
            Record::Compact { revision: 1 << 40 },
            Record::Snapshot {
                compacted: 9,
                kvs: vec![KeyValue {
                    key: b"k".to_vec(),
                    value: b"v".to_vec(),
                    create_revision: 2,
                    mod_revision: 9,
                    version: 3,
                    lease: 0,
                }],
            },
        ];
        for record in records {
            let mut buf = Vec::new();
            encode(&record, &mut buf);
            assert_eq!(decode(&buf).unwrap(), record);
            assert!(decode(&buf[..buf.len() - 1]).is_err());
        }
    }
}
