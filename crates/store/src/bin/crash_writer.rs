//! Writes to an embedded store as fast as it can, from many tasks at once, and prints the index of
//! every write once it is acknowledged. The crash-safety test kills it at random moments and checks
//! that every printed write survived.
//!
//! Usage: `k0rs-store-crash-writer <dir> <first-index>`; writes `/crash/<index>` = `<index>`.

use std::io::Write as _;

use k0rs_store::{Embedded, EmbeddedOptions, Store};

const WRITERS: u64 = 16;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(dir), Some(first)) = (args.next(), args.next().and_then(|s| s.parse::<u64>().ok()))
    else {
        eprintln!("usage: k0rs-store-crash-writer <dir> <first-index>");
        std::process::exit(2);
    };
    let mut options = EmbeddedOptions::new(dir);
    options.auto_compaction = None;
    let store = std::sync::Arc::new(Embedded::open(options).await.expect("open store"));
    let mut tasks = Vec::new();
    for writer in 0..WRITERS {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for n in 0.. {
                let index = first + writer + n * WRITERS;
                let key = format!("/crash/{index:012}");
                store
                    .put(key.as_bytes(), index.to_string().as_bytes())
                    .await
                    .expect("put");
                let mut out = std::io::stdout().lock();
                writeln!(out, "{index}")
                    .and_then(|()| out.flush())
                    .expect("report");
            }
        }));
    }
    for task in tasks {
        task.await.expect("writer task");
    }
}
