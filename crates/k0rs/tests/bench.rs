//! `k0rs bench store --json` end to end, at a small scale: it starts its own etcd, runs every
//! workload on both stores and prints one JSON object. Only the shape is asserted: timings belong in
//! BENCHMARKS.md, not in tests.

mod harness;

use harness::{Node, k0rs, path_str, stderr, stdout, tool};

#[test]
fn bench_store_json_reports_every_figure_for_both_stores() {
    let node = Node::new();
    let output = k0rs(&[
        "bench",
        "store",
        "--json",
        "--keys",
        "3000",
        "--seconds",
        "0.2",
        "--watchers",
        "20",
        "--dir",
        path_str(node.root.path()),
    ])
    .output()
    .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let report: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("one JSON object");
    let metrics = [
        "get_p50_us_3000_keys",
        "get_p99_us_3000_keys",
        "memory_overhead_mb_3000_keys",
        "range_1000_keys_p99_ms",
        "watch_delivery_p99_ms_20_watchers",
        "put_ops_per_sec_1_clients",
        "put_ops_per_sec_16_clients",
        "put_ops_per_sec_64_clients",
        "put_p99_ms_64_clients",
    ];
    for backend in ["embedded", "etcd", "ratio"] {
        let figures = report[backend]
            .as_object()
            .unwrap_or_else(|| panic!("no {backend} object"));
        for metric in metrics {
            let value = figures.get(metric).and_then(serde_json::Value::as_f64);
            assert!(
                value.is_some_and(f64::is_finite),
                "{backend}.{metric} missing: {figures:?}"
            );
        }
        if backend != "ratio" {
            assert!(figures["put_ops_per_sec_64_clients"].as_f64().unwrap() > 0.0);
            assert!(figures["get_p99_us_3000_keys"].as_f64().unwrap() > 0.0);
        }
    }
    // The stores' data went into the directory given, not elsewhere.
    assert!(node.root.path().join("embedded").join("store.wal").exists());
}

/// `k0rs bench pods --json` at a small scale: a controller and a joined worker in the bench's
/// own network namespace, a few pods each way; every figure is there.
#[test]
fn bench_pods_json_reports_start_up_and_memory() {
    let output = k0rs(&[
        "bench",
        "pods",
        "--json",
        "--pods",
        "3",
        "--interval-ms",
        "100",
    ])
    .output()
    .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let report: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("one JSON object");
    for metric in [
        "paced_startup_p50_ms",
        "paced_startup_p99_ms",
        "burst_startup_p99_ms",
        "burst_all_running_s",
        "worker_idle_rss_mb",
        "containerd_idle_rss_mb",
        "burst_cpu_s_host",
    ] {
        let value = report["pods"][metric].as_f64();
        assert!(
            value.is_some_and(|v| v.is_finite() && v > 0.0),
            "{metric}: {report}"
        );
    }
    assert!(
        report["ratio"]["worker_idle_rss_to_containerd"]
            .as_f64()
            .is_some()
    );
}

#[test]
fn bench_proxy_json_reports_syncs_for_both_back_ends_and_nftables_mode() {
    let output = k0rs(&[
        "bench",
        "proxy",
        "--json",
        "--services",
        "20",
        "--endpoints",
        "3",
    ])
    .output()
    .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let figures = &json["proxy"];
    for backend in ["nft", "legacy"] {
        // 20 service chains and 60 endpoint chains were written, and their rules are in the kernel.
        assert_eq!(figures[format!("{backend}_chains")], 80.0, "{json}");
        assert!(
            figures[format!("{backend}_nat_rules")].as_f64().unwrap() >= 200.0,
            "{json}"
        );
        assert!(
            figures[format!("{backend}_one_endpoint_changed_ms")]
                .as_f64()
                .unwrap()
                > 0.0
        );
    }
    // nftables mode: one chain per service (no per-endpoint chains without affinity).
    assert_eq!(figures["nftables_chains"], 20.0, "{json}");
    assert!(
        figures["ratio_nftables_to_iptables_nft_full_sync_ms"]
            .as_f64()
            .unwrap()
            > 0.0,
        "{json}"
    );
}

#[test]
fn bench_dns_json_reports_answered_queries() {
    let output = k0rs(&[
        "bench",
        "dns",
        "--json",
        "--services",
        "50",
        "--clients",
        "2",
        "--seconds",
        "0.5",
    ])
    .output()
    .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    // Every answer is checked by the bench itself (one A record for the asked service).
    assert!(
        json["dns"]["queries_per_s"].as_f64().unwrap() > 0.0,
        "{json}"
    );
    assert!(json["dns"]["p99_ms"].as_f64().unwrap() >= json["dns"]["p50_ms"].as_f64().unwrap());
}

/// `k0rs bench ha --json` at a small scale: both clusters' throughput and the write outage, and
/// nothing left behind (the hosts' network namespaces, etcd).
#[test]
fn bench_ha_json_reports_throughput_and_the_write_outage() {
    let output = k0rs(&[
        "bench",
        "ha",
        "--json",
        "--seconds",
        "0.5",
        "--clients",
        "2",
    ])
    .output()
    .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let report: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("one JSON object");
    for (run, metric) in [
        ("embedded", "get_per_sec"),
        ("embedded", "create_per_sec"),
        ("etcd_x3", "get_per_sec"),
        ("etcd_x3", "create_per_sec"),
        ("etcd_x3", "write_outage_s"),
        ("etcd_x3", "write_stall_max_s"),
        ("ratio", "create_per_sec"),
    ] {
        let value = report[run][metric].as_f64();
        assert!(
            value.is_some_and(|v| v.is_finite() && v > 0.0),
            "{run}.{metric}: {report}"
        );
    }
    let figure = |metric: &str| report["etcd_x3"][metric].as_f64().unwrap();
    assert!(figure("write_stall_max_s") >= figure("write_outage_s"));
    // The bench names its namespaces on stderr; none is left.
    let log = stderr(&output);
    let prefix = log
        .lines()
        .find_map(|l| l.strip_prefix("[ha] hosts in network namespaces "))
        .and_then(|rest| rest.strip_suffix('*'))
        .expect("the namespaces' names")
        .to_owned();
    let namespaces = stdout(&tool("ip", &["netns", "list"]));
    assert!(!namespaces.contains(&prefix), "{namespaces}");
    // Nor a process on the bench's directories (its etcds): `k0rs-bench-<pid>-` names the dirs too.
    let pid = prefix
        .trim_start_matches("k0rs-bench-")
        .trim_end_matches('-');
    let dirs = format!("k0rs-bench-ha-{pid}/");
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline);
        assert!(!cmdline.contains(&dirs), "left running: {cmdline}");
    }
}
