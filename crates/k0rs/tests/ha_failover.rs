//! An HA cluster loses a controller machine: three controllers on the etcd k0rs manages (the
//! second and third joined with controller tokens) and two workers reaching them through their
//! node-local balancers, each host in a network namespace of its own on one LAN. The controller
//! that leads the scheduler and the controller manager dies (SIGKILL for its k0rs and its etcd);
//! the other two go on, and the dead one comes back as the same etcd member.
//!
//! The controller killed is the holder of the `kube-scheduler` and `kube-controller-manager`
//! Leases, the first controller, which started alone and so is also the etcd leader (the test
//! prints whether it was): the worst case, where the control loops fail over and etcd elects a
//! new leader at once.

mod harness;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use harness::cluster::eventually;
use harness::ha_host::Host;
use harness::lan::Lan;
use harness::worker_node::WorkerNode;
use harness::{Admin, run_with_stdin, stdout, web};

/// Workers balance over every controller (k0s's node-local load balancing).
const NLLB: &str = "  network:\n    nodeLocalLoadBalancing:\n      enabled: true\n      envoyProxy:\n        apiServerBindPort: 7444\n";

/// The `web` Service.
const WEB_SERVICE: &str = r"
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
";

const WEB_NAME: &str = "web.default.svc.cluster.local";
/// The cluster DNS Service's address (the default service CIDR's tenth).
const DNS_IP: &str = "10.96.0.10";
/// kubectl calls while a controller is dying must not hang on it.
const TIMEOUT: &str = "--request-timeout=5s";

#[test]
fn the_cluster_survives_the_loss_of_the_leading_controller() {
    let lan = Lan::new();
    let mut hosts = start_controllers(&lan);
    // Worker tokens from two controllers; worker-0's names ctrl-0, the one expected to die.
    let workers = [
        WorkerNode::join(&lan, "worker-0", &hosts[0].token("worker")),
        WorkerNode::join(&lan, "worker-1", &hosts[2].token("worker")),
    ];
    for worker in &workers {
        worker.wait_ready(&hosts[1]);
        let saved = worker.node.data_dir().join("api-servers");
        hosts[1].eventually(60, "each worker's balancer knows three API servers", || {
            std::fs::read_to_string(&saved).is_ok_and(|s| s.lines().count() == 3)
        });
    }
    let cluster_ip = deploy_web(&hosts[1], &workers);

    let victim = lease_holder(&hosts);
    let (member_id, leader_id) = hosts[victim].etcd_status();
    let (report, probes) = observe_failover(&mut hosts, victim, &workers, &cluster_ip);
    println!(
        "failover: killed {} (scheduler and controller-manager leader; etcd leader: {}); web 6/6 ready {:.1}s after the scale; default/kubernetes down to two addresses after {:.1}s",
        hosts[victim].name,
        member_id == leader_id,
        report.scaled.as_secs_f64(),
        report.endpoints.as_secs_f64(),
    );
    judge(&report, &probes);

    // The dead machine comes back: the same etcd member, three again.
    hosts[victim].start(None);
    let (again, _) = hosts[victim].etcd_status();
    assert_eq!(
        again, member_id,
        "the controller came back as another member"
    );
    for host in &hosts {
        let members = host.etcd_members();
        assert_eq!(members.len(), 3, "{}: {members:?}", host.name);
        assert_eq!(host.members().len(), 3, "{}", host.name);
    }
    let all: BTreeSet<String> = hosts.iter().map(|h| h.net.address.clone()).collect();
    hosts[victim].eventually(30, "three addresses in default/kubernetes again", || {
        api_endpoints(&hosts[victim]).as_ref() == Some(&all)
    });
    hosts[victim].kubectl_ok(&["create", "configmap", "after-return", "--from-literal=a=1"]);

    // Gone while the kubelets run, so that they remove the containers.
    hosts[1].kubectl_ok(&["delete", "deploy", "web", "--wait", "--timeout=60s"]);
    hosts[1].eventually(60, "the web pods gone", || {
        hosts[1]
            .kubectl_ok(&["get", "pods", "-l", "app=web", "-o", "name"])
            .is_empty()
    });
    drop(workers);
}

/// Three controllers, the second and third joined with the first's controller tokens, each
/// listing three etcd members and published in `default/kubernetes`.
fn start_controllers(lan: &Lan) -> Vec<Host> {
    let mut hosts: Vec<Host> = (0..3)
        .map(|n| Host::with_spec(lan, &format!("ctrl-{n}"), NLLB))
        .collect();
    hosts[0].start(None);
    for n in 1..3 {
        let token = hosts[0].token("controller");
        hosts[n].start(Some(&token));
    }
    for host in &hosts {
        assert_eq!(host.members().len(), 3, "{}", host.name);
    }
    let all: BTreeSet<String> = hosts.iter().map(|h| h.net.address.clone()).collect();
    hosts[1].eventually(30, "three addresses in default/kubernetes", || {
        api_endpoints(&hosts[1]).as_ref() == Some(&all)
    });
    hosts
}

/// `web` with three ready pods, its Service answering on each worker; its cluster IP.
fn deploy_web(host: &Host, workers: &[WorkerNode]) -> String {
    let mut apply = host.net.command("kubectl");
    apply
        .arg("--kubeconfig")
        .arg(host.node.pki("admin.conf"))
        .args(["apply", "-f", "-"]);
    let document = format!("{}---{WEB_SERVICE}", web::deployment(3));
    let out = run_with_stdin(&mut apply, document.as_bytes());
    assert!(out.status.success(), "apply: {}", harness::stderr(&out));
    host.eventually(90, "web 3/3 ready", || ready_replicas(host) == Some(3));
    let cluster_ip = host.kubectl_ok(&["get", "svc", "web", "-o", "jsonpath={.spec.clusterIP}"]);
    for worker in workers {
        host.eventually(60, "the Service answering on every worker", || {
            answers_http(worker, &cluster_ip) && resolves(worker, &cluster_ip)
        });
    }
    cluster_ip
}

/// Kills `hosts[victim]`'s machine while writes go through the other two controllers and each
/// worker probes the Service by cluster IP and by name.
fn observe_failover(
    hosts: &mut [Host],
    victim: usize,
    workers: &[WorkerNode],
    cluster_ip: &str,
) -> (Failover, Vec<Probe>) {
    let mut victim_host = None;
    let mut live: Vec<&Host> = Vec::new();
    for (n, host) in hosts.iter_mut().enumerate() {
        if n == victim {
            victim_host = Some(host);
        } else {
            live.push(host);
        }
    }
    let victim_host = victim_host.unwrap();
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        let _stop = StopOnDrop(&stop);
        let stop = &stop;
        let mut threads = Vec::new();
        for host in &live {
            let written = AtomicU64::new(0);
            threads.push(s.spawn(move || {
                Probe::run(stop, format!("writes via {}", host.name), || {
                    let n = written.fetch_add(1, Ordering::Relaxed);
                    write_configmap(host, &format!("w-{}-{n}", host.name))
                })
            }));
        }
        for worker in workers {
            threads.push(s.spawn(move || {
                Probe::run(stop, format!("{} cluster IP", worker.name), || {
                    answers_http(worker, cluster_ip)
                })
            }));
            threads.push(s.spawn(move || {
                Probe::run(stop, format!("{} DNS name", worker.name), || {
                    resolves(worker, cluster_ip)
                })
            }));
        }
        std::thread::sleep(Duration::from_secs(3));
        let report = fail_over(victim_host, &live, workers);
        // The probes see the cluster settle a while longer.
        std::thread::sleep(Duration::from_secs(3));
        stop.store(true, Ordering::Relaxed);
        let probes = threads.into_iter().map(|t| t.join().unwrap()).collect();
        (report, probes)
    })
}

/// Prints each probe's longest gap after the kill and holds it to a generous bound (the figures
/// are what counts; the bounds catch a cluster that stopped serving); no worker went NotReady.
fn judge(report: &Failover, probes: &[Probe]) {
    for probe in probes {
        let gap = probe.longest_gap(report.killed, report.ended);
        println!(
            "failover: {}: longest gap {:.2}s ({} passed, {} failed)",
            probe.what,
            gap.as_secs_f64(),
            probe.passes.len(),
            probe.failures
        );
        let bound = if probe.what.starts_with("writes") {
            30
        } else {
            20
        };
        assert!(
            gap < Duration::from_secs(bound),
            "{}: no pass for {gap:?}",
            probe.what
        );
    }
    assert!(
        report.not_ready.is_empty(),
        "workers seen NotReady: {:?}",
        report.not_ready
    );
}

/// What happened between the kill and the end of the observation.
struct Failover {
    killed: Instant,
    ended: Instant,
    /// From the scale to 6 to 6 ready replicas.
    scaled: Duration,
    /// From the kill to `default/kubernetes` listing the two live addresses.
    endpoints: Duration,
    /// Readiness samples that found a worker not Ready.
    not_ready: Vec<String>,
}

/// Kills the victim's machine and checks what the live controllers do meanwhile.
fn fail_over(victim: &mut Host, live: &[&Host], workers: &[WorkerNode]) -> Failover {
    let api = live[0];
    let live_addresses: BTreeSet<String> = live.iter().map(|h| h.net.address.clone()).collect();
    let mut not_ready = Vec::new();
    let check_workers = |not_ready: &mut Vec<String>| {
        if let Some(states) = node_readiness(api) {
            for worker in workers {
                let state = states.get(&worker.name).map_or("missing", String::as_str);
                if state != "True" {
                    not_ready.push(format!("{}: {state}", worker.name));
                }
            }
        }
    };

    let killed = Instant::now();
    victim.kill_machine();
    // Through a live controller; a request that meets etcd's election is tried again.
    eventually(30, "the scale to 6 accepted", || {
        api.kubectl(&["scale", "deploy/web", "--replicas=6", TIMEOUT])
            .status
            .success()
    });
    let scale = Instant::now();
    api.eventually(30, "web 6/6 ready within 30 s of the scale", || {
        check_workers(&mut not_ready);
        ready_replicas(api) == Some(6)
    });
    let scaled = scale.elapsed();
    api.eventually(
        40,
        "default/kubernetes listing the two live controllers",
        || {
            check_workers(&mut not_ready);
            api_endpoints(api).as_ref() == Some(&live_addresses)
        },
    );
    let endpoints = killed.elapsed();
    check_workers(&mut not_ready);
    Failover {
        killed,
        ended: Instant::now(),
        scaled,
        endpoints,
        not_ready,
    }
}

/// The controller holding both the scheduler's and the controller manager's Lease.
fn lease_holder(hosts: &[Host]) -> usize {
    let holder = |lease: &str| {
        let identity = hosts[1].kubectl_ok(&[
            "get",
            "lease",
            "-n",
            "kube-system",
            lease,
            "-o",
            "jsonpath={.spec.holderIdentity}",
        ]);
        // client-go's identity: `<host name>_<unique>`.
        let name = identity.split('_').next().unwrap_or_default().to_owned();
        hosts.iter().position(|h| h.name == name)
    };
    let mut found = None;
    hosts[1].eventually(60, "one controller leading both control loops", || {
        let (scheduler, manager) = (holder("kube-scheduler"), holder("kube-controller-manager"));
        found = scheduler.filter(|_| scheduler == manager);
        found.is_some()
    });
    found.unwrap()
}

/// The addresses `default/kubernetes` lists (`None` when the API does not answer).
fn api_endpoints(host: &Host) -> Option<BTreeSet<String>> {
    let out = host.kubectl(&[
        "get",
        "endpoints",
        "kubernetes",
        TIMEOUT,
        "-o",
        "jsonpath={.subsets[*].addresses[*].ip}",
    ]);
    out.status
        .success()
        .then(|| stdout(&out).split_whitespace().map(str::to_owned).collect())
}

fn ready_replicas(host: &Host) -> Option<u32> {
    let out = host.kubectl(&[
        "get",
        "deploy",
        "web",
        TIMEOUT,
        "-o",
        "jsonpath={.status.readyReplicas}",
    ]);
    stdout(&out).trim().parse().ok()
}

/// Each node's Ready condition (`None` when the API does not answer).
fn node_readiness(host: &Host) -> Option<std::collections::BTreeMap<String, String>> {
    let out = host.kubectl(&[
        "get",
        "nodes",
        TIMEOUT,
        "-o",
        "jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type==\"Ready\")].status} {end}",
    ]);
    out.status.success().then(|| {
        stdout(&out)
            .split_whitespace()
            .filter_map(|pair| pair.split_once('='))
            .map(|(n, s)| (n.to_owned(), s.to_owned()))
            .collect()
    })
}

/// A ConfigMap created through `host`'s API server (curl: cheaper than kubectl in a loop).
fn write_configmap(host: &Host, name: &str) -> bool {
    let pki = |f: &str| host.node.pki(f).display().to_string();
    let body = serde_json::json!({"metadata": {"name": name}, "data": {"k": "v"}});
    let out = host
        .net
        .command("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--max-time",
            "5",
        ])
        .args(["--cacert", &pki("ca.crt")])
        .args(["--cert", &pki("admin.crt"), "--key", &pki("admin.key")])
        .args([
            "-H",
            "Content-Type: application/json",
            "-d",
            &body.to_string(),
        ])
        .arg(format!(
            "https://{}:6443/api/v1/namespaces/default/configmaps",
            host.net.address
        ))
        .output()
        .unwrap();
    stdout(&out) == "201"
}

/// The Service's cluster IP answers from `worker`'s host network.
fn answers_http(worker: &WorkerNode, cluster_ip: &str) -> bool {
    let out = worker
        .net
        .command("curl")
        .args(["-s", "--max-time", "2", &format!("http://{cluster_ip}/")])
        .output()
        .unwrap();
    out.status.success() && !stdout(&out).trim().is_empty()
}

/// The Service's name resolves to its cluster IP through the cluster DNS, from `worker`.
fn resolves(worker: &WorkerNode, cluster_ip: &str) -> bool {
    let out = worker
        .net
        .command("timeout")
        .args(["2", "busybox", "nslookup", WEB_NAME, DNS_IP])
        .output()
        .unwrap();
    out.status.success() && stdout(&out).contains(cluster_ip)
}

/// One probe loop's record: when each check passed.
struct Probe {
    what: String,
    passes: Vec<Instant>,
    failures: usize,
}

impl Probe {
    /// Runs `check` every 200 ms until `stop`.
    fn run(stop: &AtomicBool, what: String, mut check: impl FnMut() -> bool) -> Self {
        let mut probe = Self {
            what,
            passes: Vec::new(),
            failures: 0,
        };
        while !stop.load(Ordering::Relaxed) {
            if check() {
                probe.passes.push(Instant::now());
            } else {
                probe.failures += 1;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        probe
    }

    /// The longest time between `from` and `to` without a pass.
    fn longest_gap(&self, from: Instant, to: Instant) -> Duration {
        let mut last = from;
        let mut longest = Duration::ZERO;
        for &pass in self.passes.iter().filter(|p| **p > from && **p <= to) {
            longest = longest.max(pass - last);
            last = pass;
        }
        longest.max(to.saturating_duration_since(last))
    }
}

/// Stops the probes however the scope ends (a failed assertion too), so that it can join them.
struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}
