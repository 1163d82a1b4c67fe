//! Between the store's types and etcd-client's.

use etcd_client::{
    Compare as EtcdCompare, CompareOp as EtcdCompareOp, DeleteOptions, GetOptions, PutOptions, Txn,
    TxnOp, TxnOpResponse,
};

use crate::error::StoreError;
use crate::types::{
    Compare, CompareOp, CompareTarget, KeyValue, MAX_REQUEST_BYTES, Op, OpResponse, RangeRequest,
    RangeResponse, TxnRequest,
};

pub fn kv(kv: &etcd_client::KeyValue) -> KeyValue {
    KeyValue {
        key: kv.key().to_vec(),
        value: kv.value().to_vec(),
        create_revision: kv.create_revision(),
        mod_revision: kv.mod_revision(),
        version: kv.version(),
        lease: kv.lease(),
    }
}

pub fn range(response: &etcd_client::GetResponse) -> RangeResponse {
    RangeResponse {
        revision: response
            .header()
            .map_or(0, etcd_client::ResponseHeader::revision),
        kvs: response.kvs().iter().map(kv).collect(),
        count: response.count(),
        more: response.more(),
    }
}

pub fn get_options(request: &RangeRequest) -> GetOptions {
    let mut options = GetOptions::new()
        .with_limit(request.limit)
        .with_revision(request.revision);
    if let Some(end) = &request.range.range_end {
        options = options.with_range(end.clone());
    }
    if request.count_only {
        options = options.with_count_only();
    }
    if request.keys_only {
        options = options.with_keys_only();
    }
    options
}

fn compare(compare: &Compare) -> EtcdCompare {
    let op = match compare.op {
        CompareOp::Equal => EtcdCompareOp::Equal,
        CompareOp::NotEqual => EtcdCompareOp::NotEqual,
        CompareOp::Less => EtcdCompareOp::Less,
        CompareOp::Greater => EtcdCompareOp::Greater,
    };
    let key = compare.key.clone();
    match &compare.target {
        CompareTarget::Version(v) => EtcdCompare::version(key, op, *v),
        CompareTarget::CreateRevision(r) => EtcdCompare::create_revision(key, op, *r),
        CompareTarget::ModRevision(r) => EtcdCompare::mod_revision(key, op, *r),
        CompareTarget::Value(v) => EtcdCompare::value(key, op, v.clone()),
        CompareTarget::Lease(l) => EtcdCompare::lease(key, op, *l),
    }
}

fn op(op: &Op) -> TxnOp {
    match op {
        Op::Range(request) => TxnOp::get(request.range.key.clone(), Some(get_options(request))),
        Op::Put {
            key,
            value,
            lease,
            prev_kv,
        } => {
            let mut options = PutOptions::new().with_lease(*lease);
            if *prev_kv {
                options = options.with_prev_key();
            }
            TxnOp::put(key.clone(), value.clone(), Some(options))
        }
        Op::Delete { range, prev_kv } => {
            let mut options = DeleteOptions::new();
            if let Some(end) = &range.range_end {
                options = options.with_range(end.clone());
            }
            if *prev_kv {
                options = options.with_prev_key();
            }
            TxnOp::delete(range.key.clone(), Some(options))
        }
    }
}

pub fn txn(request: &TxnRequest) -> Txn {
    Txn::new()
        .when(request.compares.iter().map(compare).collect::<Vec<_>>())
        .and_then(request.success.iter().map(op).collect::<Vec<_>>())
        .or_else(request.failure.iter().map(op).collect::<Vec<_>>())
}

pub fn op_responses(response: &etcd_client::TxnResponse) -> Vec<OpResponse> {
    response
        .op_responses()
        .into_iter()
        .filter_map(|r| match r {
            TxnOpResponse::Get(get) => Some(OpResponse::Range(range(&get))),
            TxnOpResponse::Put(put) => Some(OpResponse::Put {
                prev_kv: put.prev_key().map(kv),
            }),
            TxnOpResponse::Delete(delete) => Some(OpResponse::Delete {
                deleted: delete.deleted(),
                prev_kvs: delete.prev_kvs().iter().map(kv).collect(),
            }),
            TxnOpResponse::Txn(_) => None,
        })
        .collect()
}

/// Maps etcd's error messages (stable strings of its API) to the store's errors. Revisions etcd does
/// not report are 0 here; the backend fills them in.
pub fn map_error(error: &etcd_client::Error) -> StoreError {
    let message = match error {
        etcd_client::Error::GRpcStatus(status) => status.message().to_owned(),
        other => other.to_string(),
    };
    if message.contains("required revision has been compacted") {
        StoreError::Compacted {
            requested: 0,
            compact_revision: 0,
        }
    } else if message.contains("required revision is a future revision") {
        StoreError::FutureRevision {
            requested: 0,
            current: 0,
        }
    } else if message.contains("request is too large") {
        StoreError::RequestTooLarge {
            size: 0,
            limit: MAX_REQUEST_BYTES,
        }
    } else if message.contains("lease not found") {
        StoreError::LeaseNotFound(0)
    } else if message.contains("duplicate key given in txn request") {
        StoreError::DuplicateKey(Vec::new())
    } else {
        StoreError::Etcd(message)
    }
}
