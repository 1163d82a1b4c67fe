//! Crash safety of the embedded store: a writer process is SIGKILLed at random moments, again and
//! again; after every restart each acknowledged write is present and the revision history is
//! exactly one revision per write, without gaps.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k0rs_store::{Embedded, EmbeddedOptions, KeyRange, RangeRequest, Store};
use rand::Rng;

const KILLS: u64 = 50;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_sigkill() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("db");
    let mut acknowledged = BTreeSet::new();
    let mut rng = rand::rng();
    let mut killed_mid_write = 0;
    for round in 0..KILLS {
        let first = round * 100_000_000;
        let mut child = Command::new(env!("CARGO_BIN_EXE_k0rs-store-crash-writer"))
            .arg(&dir)
            .arg(first.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let reported = Arc::new(Mutex::new(Vec::new()));
        let reader = {
            let reported = reported.clone();
            let stdout = child.stdout.take().unwrap();
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    reported.lock().unwrap().push(line.parse::<u64>().unwrap());
                }
            })
        };
        // Let it open the store and write for a random while, then kill it without warning.
        while reported.lock().unwrap().is_empty() {
            assert!(
                child.try_wait().unwrap().is_none(),
                "writer exited in round {round}"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        tokio::time::sleep(Duration::from_millis(rng.random_range(5..150))).await;
        child.kill().unwrap();
        child.wait().unwrap();
        reader.join().unwrap();
        let reported = std::mem::take(&mut *reported.lock().unwrap());
        assert!(!reported.is_empty(), "round {round}: nothing acknowledged");
        acknowledged.extend(reported);

        let survivors = verify(&dir, &acknowledged).await;
        // Writes that were in flight at the kill may or may not have landed; both are fine.
        killed_mid_write += survivors - acknowledged.len();
    }
    eprintln!(
        "{KILLS} kills, {} acknowledged writes all present, {killed_mid_write} unacknowledged writes also landed",
        acknowledged.len()
    );
}

/// Reopens the store, checks every acknowledged write and the shape of the history; returns how
/// many writes the store holds.
async fn verify(dir: &std::path::Path, acknowledged: &BTreeSet<u64>) -> usize {
    let mut options = EmbeddedOptions::new(dir);
    options.auto_compaction = None;
    let store = Embedded::open(options).await.unwrap();
    let all = store
        .range(RangeRequest::new(KeyRange::prefix(b"/crash/".to_vec())))
        .await
        .unwrap();
    let current = store.current_revision().await.unwrap();
    let mut present = BTreeSet::new();
    let mut revisions = BTreeSet::new();
    for kv in &all.kvs {
        let index: u64 = String::from_utf8(kv.value.clone())
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(
            kv.key,
            format!("/crash/{index:012}").into_bytes(),
            "value under the wrong key"
        );
        assert_eq!(
            (kv.version, kv.create_revision),
            (1, kv.mod_revision),
            "a key was written twice"
        );
        present.insert(index);
        revisions.insert(kv.mod_revision);
    }
    let missing: Vec<_> = acknowledged.difference(&present).take(5).collect();
    assert!(missing.is_empty(), "acknowledged writes lost: {missing:?}");
    // One revision per write, from 2 (the first write) to the current one, with no gaps.
    let expected: BTreeSet<i64> = (2..=current).collect();
    assert_eq!(
        revisions, expected,
        "revision history has gaps or extra revisions"
    );
    store.close().await;
    present.len()
}
