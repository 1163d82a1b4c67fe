//! Monitoring as a cluster admin sets it up: a real Prometheus (Debian's), in the node's network
//! namespace, scrapes the API server, the scheduler (:10259), the controller manager (:10257)
//! and the kubelet (:10250) of a `--single` node over HTTPS with a service-account token bound
//! to `system:monitoring` (and `nodes/metrics`, as the kubelet authorizes), and kube-proxy's
//! (:10249) and CoreDNS's (:9153) open endpoints over HTTP, and PromQL finds Kubernetes', etcd's
//! and CoreDNS's series with the values the workload made. Without credentials, or with a token
//! that has no grant, the authenticated `/metrics` answer 401 and 403 as Kubernetes' do.

mod harness;

use std::process::Child;
use std::time::{Duration, Instant};

use harness::single_node::SingleNode;
use harness::{path_str, stdout};

/// Configmaps the test creates, which the request and storage counters must show.
const CREATES: u32 = 5;
/// Cluster names a pod looks up, which the DNS counters must show.
const LOOKUPS: u32 = 3;
/// The API server's `--etcd-compaction-interval`, short enough that the store compacts while the
/// test runs.
const CLUSTER_CONFIG: &str = "    extraArgs:\n      etcd-compaction-interval: 2s\n";

/// Prometheus, stopped when dropped.
struct Prometheus(Child);

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn config(address: &str, ca: &str, token: &str) -> String {
    let job = |name: &str, target: &str, tls: &str| {
        format!(
            "- job_name: {name}\n  scheme: https\n  bearer_token_file: {token}\n  tls_config:\n    {tls}\n  static_configs:\n  - targets: ['{target}']\n"
        )
    };
    // kube-proxy and CoreDNS serve plain HTTP without authentication, as upstream's do.
    let open = |name: &str, target: &str| {
        format!("- job_name: {name}\n  static_configs:\n  - targets: ['{target}']\n")
    };
    let verified = format!("ca_file: {ca}");
    // The scheduler and the controller manager serve self-signed certificates, as upstream's do
    // without --tls-cert-file: scrapers skip verification for them.
    let self_signed = "insecure_skip_verify: true";
    format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n{}{}{}{}{}{}",
        job("apiserver", &format!("{address}:6443"), &verified),
        job("kube-scheduler", "127.0.0.1:10259", self_signed),
        job("kube-controller-manager", "127.0.0.1:10257", self_signed),
        job("kubelet", &format!("{address}:10250"), &verified),
        open("kube-proxy", "127.0.0.1:10249"),
        open("coredns", &format!("{address}:9153")),
    )
}

/// The value of an instant PromQL query with one result (`None`: no result yet).
fn query(cluster: &SingleNode, promql: &str) -> Option<f64> {
    let out = cluster.command(
        "curl",
        &[
            "-s",
            "http://127.0.0.1:9090/api/v1/query",
            "--data-urlencode",
            &format!("query={promql}"),
        ],
    );
    let answer: serde_json::Value = serde_json::from_str(&stdout(&out)).ok()?;
    let results = answer["data"]["result"].as_array()?;
    (results.len() == 1)
        .then(|| results[0]["value"][1].as_str()?.parse().ok())
        .flatten()
}

/// The HTTP status of `GET url` from inside the node (with `token` as bearer, if any).
fn status(cluster: &SingleNode, url: &str, token: Option<&str>) -> String {
    let header = token.map(|t| format!("Authorization: Bearer {t}"));
    let mut args = vec!["-sk", "-o", "/dev/null", "-w", "%{http_code}", url];
    if let Some(header) = &header {
        args.extend(["-H", header.as_str()]);
    }
    stdout(&cluster.command("curl", &args))
}

/// A service account bound to `system:monitoring` and to `get nodes/metrics`, and one with no
/// grant: their tokens.
fn tokens(cluster: &SingleNode) -> (String, String) {
    cluster.run(&["create", "serviceaccount", "prometheus"]);
    cluster.run(&["create", "serviceaccount", "nobody"]);
    cluster.run(&[
        "create",
        "clusterrolebinding",
        "prometheus-monitoring",
        "--clusterrole=system:monitoring",
        "--serviceaccount=default:prometheus",
    ]);
    cluster.run(&[
        "create",
        "clusterrole",
        "kubelet-metrics",
        "--verb=get",
        "--resource=nodes/metrics",
    ]);
    cluster.run(&[
        "create",
        "clusterrolebinding",
        "prometheus-kubelet",
        "--clusterrole=kubelet-metrics",
        "--serviceaccount=default:prometheus",
    ]);
    let token = cluster.run(&["create", "token", "prometheus", "--duration=1h"]);
    let nobody = cluster.run(&["create", "token", "nobody", "--duration=1h"]);
    (token.trim().to_owned(), nobody.trim().to_owned())
}

/// Prometheus in the node's namespace, scraping with `token`.
fn start_prometheus(cluster: &SingleNode, token: &str) -> Prometheus {
    let dir = cluster.node.root.path();
    let token_file = dir.join("prometheus.token");
    std::fs::write(&token_file, token).unwrap();
    let config_file = dir.join("prometheus.yml");
    let ca = cluster.node.pki("ca.crt");
    std::fs::write(
        &config_file,
        config(&cluster.net.address, path_str(&ca), path_str(&token_file)),
    )
    .unwrap();
    let tsdb = dir.join("tsdb");
    Prometheus(cluster.spawn_command(
        "prometheus",
        &[
            &format!("--config.file={}", path_str(&config_file)),
            &format!("--storage.tsdb.path={}", path_str(&tsdb)),
            "--web.listen-address=127.0.0.1:9090",
        ],
    ))
}

/// PromQL queries of one series and the least value each must have after the workload.
fn expectations() -> Vec<(&'static str, f64)> {
    let creates = f64::from(CREATES);
    vec![
        (
            "sum(apiserver_request_total{verb=\"POST\",resource=\"configmaps\",code=\"201\"})",
            creates,
        ),
        (
            "sum(apiserver_request_duration_seconds_count{verb=\"POST\",resource=\"configmaps\"})",
            creates,
        ),
        (
            "sum(etcd_request_duration_seconds_count{operation=\"create\",type=\"configmaps\"})",
            creates,
        ),
        ("sum(apiserver_current_inflight_requests)", 0.0),
        // The scheduler, the controllers and the kubelet watch.
        ("sum(apiserver_registered_watchers)", 1.0),
        ("sum(apiserver_longrunning_requests)", 1.0),
        (
            "leader_election_master_status{job=\"kube-scheduler\",name=\"kube-scheduler\"}",
            1.0,
        ),
        (
            "leader_election_master_status{job=\"kube-controller-manager\",name=\"kube-controller-manager\"}",
            1.0,
        ),
        (
            "sum(workqueue_adds_total{job=\"kube-controller-manager\"})",
            1.0,
        ),
        ("count(workqueue_work_duration_seconds_bucket)", 1.0),
        ("sum(scheduler_pending_pods)", 0.0),
        ("scheduler_preemption_attempts_total", 0.0),
        ("process_resident_memory_bytes{job=\"apiserver\"}", 1e6),
        ("process_open_fds{job=\"kubelet\"}", 3.0),
        ("process_start_time_seconds{job=\"kube-scheduler\"}", 1.6e9),
        (
            "process_cpu_seconds_total{job=\"kube-controller-manager\"}",
            0.0,
        ),
        ("etcd_mvcc_db_total_size_in_bytes", 1.0),
    ]
}

/// The store's, the proxy's and DNS's series and the least value each must reach after the
/// workload (some only after the next compaction or sync: waited for).
fn node_expectations() -> Vec<(&'static str, f64)> {
    let (creates, lookups) = (f64::from(CREATES), f64::from(LOOKUPS));
    vec![
        // Every create is a revision and, acknowledged before the next, an fsync of its own.
        ("etcd_debugging_mvcc_current_revision", creates),
        ("etcd_disk_wal_fsync_duration_seconds_count", creates),
        (
            "etcd_debugging_mvcc_db_compaction_total_duration_milliseconds_count",
            1.0,
        ),
        ("etcd_debugging_mvcc_compact_revision", 1.0),
        // A compaction never passes the current revision.
        (
            "etcd_debugging_mvcc_current_revision - etcd_debugging_mvcc_compact_revision",
            0.0,
        ),
        ("etcd_debugging_mvcc_watcher_total", 1.0),
        ("k0rs_store_watch_delay_seconds_count", 1.0),
        ("k0rs_store_watch_lag_revisions_count", 1.0),
        ("kubeproxy_sync_proxy_rules_duration_seconds_count", 1.0),
        ("kubeproxy_sync_proxy_rules_last_timestamp_seconds", 1.6e9),
        ("kubeproxy_sync_proxy_rules_service_changes_total", 1.0),
        // kubernetes, kube-dns and the test's.
        ("k0rs_proxy_programmed_services{mode=\"iptables\"}", 3.0),
        (
            "sum(coredns_dns_requests_total{zone=\".\",proto=\"udp\",family=\"1\"})",
            lookups,
        ),
        (
            "sum(coredns_dns_responses_total{rcode=\"NOERROR\"})",
            lookups,
        ),
        ("sum(coredns_dns_request_duration_seconds_count)", lookups),
        ("process_open_fds{job=\"kube-proxy\"}", 3.0),
    ]
}

/// Looks up the API's Service name from the `idle` pod, through the `kube-dns` Service.
fn lookup(cluster: &SingleNode) -> bool {
    let out = cluster.kubectl(&[
        "exec",
        "idle",
        "--",
        "nslookup",
        "kubernetes.default.svc.cluster.local",
    ]);
    out.status.success() && stdout(&out).contains("Address: 10.96.0.1")
}

#[test]
fn prometheus_scrapes_the_control_plane_and_the_kubelet_with_a_monitoring_token() {
    let cluster = SingleNode::start_with(CLUSTER_CONFIG, &["--single"]);
    let (token, nobody) = tokens(&cluster);
    for i in 0..CREATES {
        cluster.run(&["create", "configmap", &format!("scraped-{i}")]);
    }
    cluster.run(&["create", "service", "clusterip", "scraped", "--tcp=80:8080"]);
    cluster.run(&["run", "idle", "--image=busybox", "--", "sleep", "1d"]);
    cluster.eventually(90, "the pod resolving cluster names", || lookup(&cluster));
    for _ in 0..LOOKUPS {
        assert!(lookup(&cluster), "a lookup from the pod failed");
    }

    let address = cluster.net.address.clone();
    for url in [
        format!("https://{address}:6443/metrics"),
        "https://127.0.0.1:10259/metrics".to_owned(),
        "https://127.0.0.1:10257/metrics".to_owned(),
        format!("https://{address}:10250/metrics"),
    ] {
        cluster.eventually(30, &format!("{url} served"), || {
            status(&cluster, &url, None) == "401"
        });
        assert_eq!(status(&cluster, &url, Some(&nobody)), "403", "{url}");
        assert_eq!(status(&cluster, &url, Some(&token)), "200", "{url}");
    }
    for url in [
        "http://127.0.0.1:10249/metrics".to_owned(),
        format!("http://{address}:9153/metrics"),
    ] {
        cluster.eventually(30, &format!("{url} served"), || {
            status(&cluster, &url, None) == "200"
        });
    }
    // As a ServiceMonitor for CoreDNS finds them: the `kube-dns` Service's `metrics` port.
    cluster.eventually(30, "DNS metrics through the kube-dns Service", || {
        let (ok, body) = cluster.fetch("idle", "http://10.96.0.10:9153/metrics");
        ok && body.contains("coredns_dns_requests_total{")
    });

    let _prometheus = start_prometheus(&cluster, &token);
    cluster.eventually(60, "every target up", || {
        query(&cluster, "count(up == 1)") == Some(6.0)
    });
    cluster.eventually(60, "the pod scheduled and the store counted", || {
        query(
            &cluster,
            "sum(scheduler_schedule_attempts_total{result=\"scheduled\"})",
        )
        .is_some_and(|v| v >= 1.0)
            && query(
                &cluster,
                "apiserver_storage_objects{resource=\"configmaps\"}",
            )
            .is_some_and(|v| v >= f64::from(CREATES))
            && query(&cluster, "kubelet_running_pods").is_some_and(|v| v >= 1.0)
    });
    for (promql, at_least) in expectations() {
        let value = query(&cluster, promql);
        assert!(
            value.is_some_and(|v| v >= at_least),
            "{promql} = {value:?}, expected at least {at_least}"
        );
    }
    for (promql, at_least) in node_expectations() {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let value = query(&cluster, promql);
            if value.is_some_and(|v| v >= at_least) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{promql} = {value:?}, expected at least {at_least}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}
