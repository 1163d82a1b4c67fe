//! Controllers on an etcd k0rs manages (`spec.storage.type: etcd`, no `externalCluster`): one
//! alone, three joined into one cluster through the join API, and joins that must be refused
//! without leaving anything half-done in etcd. Each controller is a host of its own: a network
//! namespace on a private LAN (etcd's ports 2379/2380 are free there) and a UTS namespace with
//! its own host name (etcd names members after the host).

mod harness;

use base64::Engine as _;
use std::time::Duration;

use harness::cluster::eventually;
use harness::ha_host::{Host, alive};
use harness::lan::Lan;
use harness::{path_str, stderr, stdout};

/// One controller on its own etcd: writes survive a SIGKILL of k0rs, whose etcd keeps running
/// and is adopted (same process) by the next k0rs.
#[test]
fn a_single_controller_runs_its_own_etcd() {
    let lan = Lan::new();
    let mut c0 = Host::new(&lan, "solo");
    c0.start(None);
    for file in [
        "etcd/ca.crt",
        "etcd/server.crt",
        "etcd/peer.crt",
        "apiserver-etcd-client.crt",
    ] {
        assert!(c0.node.pki(file).is_file(), "{file} missing");
    }
    assert!(c0.node.data_dir().join("etcd/member").is_dir());
    let members = c0.members();
    assert_eq!(members.len(), 1, "{members:?}");
    assert_eq!(
        members["solo"],
        format!("https://{}:2380", c0.net.address),
        "{members:?}"
    );
    c0.kubectl_ok(&["create", "configmap", "before-kill", "--from-literal=a=1"]);

    let etcd = c0.etcd_pid().expect("etcd.pid");
    c0.kill();
    std::thread::sleep(Duration::from_secs(2));
    assert!(alive(etcd), "etcd died with k0rs");
    c0.start(None);
    assert_eq!(c0.etcd_pid(), Some(etcd), "etcd was not adopted");
    assert!(alive(etcd));
    let log = std::fs::read_to_string(&c0.log).unwrap();
    assert!(log.contains("adopted"), "{}", c0.log_tail());
    c0.kubectl_ok(&["get", "configmap", "before-kill"]);
    c0.kubectl_ok(&["create", "configmap", "after-kill", "--from-literal=a=2"]);
    // etcd's own output (zap's JSON lines) reaches k0rs's log.
    assert!(log.contains("\"level\":\"info\""), "{}", c0.log_tail());
    c0.stop();
    assert!(!alive(etcd), "etcd outlived a stopped k0rs");
}

/// Three controllers, the second and third joined with controller tokens: one etcd cluster of
/// three, writes through each, a SIGKILLed k0rs whose etcd keeps serving, and a member that
/// leaves.
#[test]
fn three_controllers_share_one_etcd_cluster() {
    let lan = Lan::new();
    let mut hosts = vec![
        Host::new(&lan, "ctrl-0"),
        Host::new(&lan, "ctrl-1"),
        Host::new(&lan, "ctrl-2"),
    ];
    hosts[0].start(None);
    for n in 1..3 {
        let token = hosts[0].token("controller");
        hosts[n].start(Some(&token));
    }
    for host in &hosts {
        let members = host.members();
        assert_eq!(members.len(), 3, "{}: {members:?}", host.name);
        for other in &hosts {
            assert_eq!(
                members[&other.name],
                format!("https://{}:2380", other.net.address)
            );
        }
    }
    // The joined controllers share the cluster CA: the first one's admin reaches them all.
    for (n, host) in hosts.iter().enumerate() {
        host.kubectl_ok(&[
            "create",
            "configmap",
            &format!("via-{n}"),
            "--from-literal=n=1",
        ]);
    }
    for host in &hosts {
        for n in 0..3 {
            host.kubectl_ok(&["get", "configmap", &format!("via-{n}")]);
        }
    }
    assert_eq!(
        std::fs::read(hosts[0].node.pki("sa.pub")).unwrap(),
        std::fs::read(hosts[2].node.pki("sa.pub")).unwrap()
    );

    // SIGKILL one k0rs: its etcd keeps the cluster at three, and the next k0rs adopts it.
    let etcd = hosts[1].etcd_pid().expect("etcd.pid");
    hosts[1].kill();
    std::thread::sleep(Duration::from_secs(2));
    assert!(alive(etcd), "etcd died with k0rs");
    hosts[0].kubectl_ok(&["create", "configmap", "while-down", "--from-literal=n=1"]);
    hosts[1].start(None);
    assert_eq!(hosts[1].etcd_pid(), Some(etcd), "etcd was not adopted");
    hosts[1].kubectl_ok(&["get", "configmap", "while-down"]);

    // The third leaves and is reset: two members remain and take writes.
    let out = hosts[2].k0rs(&["etcd", "leave", "--config", path_str(&hosts[2].config)]);
    assert!(out.status.success(), "leave: {}", stderr(&out));
    hosts[2].stop();
    let out = hosts[2].k0rs(&["reset", "--config", path_str(&hosts[2].config)]);
    assert!(out.status.success(), "reset: {}", stderr(&out));
    eventually(30, "two members", || hosts[0].members().len() == 2);
    assert!(!hosts[0].members().contains_key("ctrl-2"));
    for (n, host) in hosts.iter().take(2).enumerate() {
        host.kubectl_ok(&[
            "create",
            "configmap",
            &format!("after-leave-{n}"),
            "--from-literal=n=1",
        ]);
    }
}

/// Joins that must fail leave etcd as it was: a worker token, an invalidated or expired
/// controller token, a cluster without quorum, a controller whose etcd data was lost. A join the
/// joiner did not finish is retried without a second member.
#[test]
fn refused_joins_leave_nothing_behind() {
    let lan = Lan::new();
    let mut c0 = Host::new(&lan, "first");
    c0.start(None);
    let c1 = Host::new(&lan, "second");

    // A worker token: refused before anything is asked, and by the join API with 403.
    let worker = c0.token("worker");
    let out = c1.run_controller(&worker);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("not a controller token"),
        "{}",
        stderr(&out)
    );
    let bootstrap = worker_bootstrap_token(&c0);
    let (code, body) = join_api(&c1, &c0, &bootstrap, "stranger", "10.123.0.99");
    assert_eq!(code, 403, "{body}");
    assert!(body.contains("not a controller join token"), "{body}");

    // An invalidated controller token: 401, with the reason.
    let token = c0.token("controller");
    let id = token_id(&c0, "controller");
    let out = c0.k0rs(&["token", "invalidate", &id]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = c1.run_controller(&token);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("401"), "{}", stderr(&out));
    assert_eq!(c0.etcd_member_count(), 1, "a refused join added a member");

    // An expired controller token: 401, with the reason.
    let expired = c0.token_with("controller", &["--expiry", "1s"]);
    std::thread::sleep(Duration::from_secs(2));
    let out = c1.run_controller(&expired);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("401") && stderr(&out).contains("has expired"),
        "{}",
        stderr(&out)
    );
    assert_eq!(c0.etcd_member_count(), 1, "a refused join added a member");

    let mut c1 = c1;
    c1.start(Some(&c0.token("controller")));
    assert_eq!(c0.etcd_member_count(), 2);

    // A join while the etcd cluster has no quorum (one of two members' machine is down): 503,
    // nothing added once the member is back.
    let mut c2 = Host::new(&lan, "third");
    let token = c0.token("controller");
    c1.kill_machine();
    let out = c2.run_controller(&token);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("503") && stderr(&out).contains("not healthy"),
        "{}",
        stderr(&out)
    );
    c1.start(None);
    assert_eq!(c0.etcd_member_count(), 2, "a refused join added a member");

    // A joiner that got its member but never started (with two members running, the cluster
    // keeps its quorum meanwhile): the retry takes the same member.
    let token = c0.token("controller");
    let bearer = bootstrap_of(&c0, &newest_controller_token(&c0));
    let (code, body) = join_api(&c2, &c0, &bearer, "third", &c2.net.address);
    assert_eq!(code, 200, "{body}");
    assert_eq!(c0.etcd_member_count(), 3);
    c2.start(Some(&token));
    assert_eq!(
        c0.etcd_member_count(),
        3,
        "the retried join added another member"
    );
    assert_eq!(c0.members().len(), 3);

    // Its etcd data lost: it is still a member, so it may neither start a cluster of its own
    // nor join again as it.
    c2.stop();
    std::fs::remove_dir_all(c2.node.data_dir().join("etcd")).unwrap();
    let out = c2.k0rs(&["controller", "--config", path_str(&c2.config)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("still lists it"), "{}", stderr(&out));
    let out = c2.run_controller(&c0.token("controller"));
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("has run"), "{}", stderr(&out));
    assert_eq!(c0.etcd_member_count(), 3);
    drop(c1);
}

/// `POST /v1beta1/etcd/members` from `from` to `to`'s join API with bootstrap token `bearer`.
fn join_api(from: &Host, to: &Host, bearer: &str, node: &str, address: &str) -> (u16, String) {
    let body = serde_json::json!({"node": node, "peerAddress": format!("https://{address}:2380")});
    let out = from
        .net
        .command("curl")
        .args(["-s", "-w", "\n%{http_code}", "--cacert"])
        .arg(to.node.pki("ca.crt"))
        .args(["-H", &format!("Authorization: Bearer {bearer}")])
        .args([
            "-H",
            "Content-Type: application/json",
            "-d",
            &body.to_string(),
        ])
        .arg(format!(
            "https://{}:9443/v1beta1/etcd/members",
            to.net.address
        ))
        .output()
        .unwrap();
    let text = stdout(&out);
    let (body, code) = text.rsplit_once('\n').unwrap();
    (code.trim().parse().unwrap_or(0), body.to_owned())
}

/// The ids of the tokens of `role`, from `token list`.
fn token_ids(host: &Host, role: &str) -> Vec<String> {
    let out = host.k0rs(&["token", "list", "--role", role]);
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out)
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect()
}

fn token_id(host: &Host, role: &str) -> String {
    let ids = token_ids(host, role);
    assert_eq!(ids.len(), 1, "{ids:?}");
    ids[0].clone()
}

/// The id of the controller token created last.
fn newest_controller_token(host: &Host) -> String {
    // `token list` has no order; the Secrets' creation times have.
    let names = host.kubectl_ok(&[
        "get",
        "secrets",
        "-n",
        "kube-system",
        "--field-selector=type=bootstrap.kubernetes.io/token",
        "--sort-by=.metadata.creationTimestamp",
        "-o",
        "jsonpath={.items[*].metadata.name}",
    ]);
    let ids = token_ids(host, "controller");
    names
        .split_whitespace()
        .filter_map(|n| n.strip_prefix("bootstrap-token-"))
        .rfind(|id| ids.iter().any(|i| i == id))
        .expect("a controller token")
        .to_owned()
}

/// `<id>.<secret>` of token `id`, from its Secret.
fn bootstrap_of(host: &Host, id: &str) -> String {
    let secret = host.kubectl_ok(&[
        "get",
        "secret",
        "-n",
        "kube-system",
        &format!("bootstrap-token-{id}"),
        "-o",
        "jsonpath={.data.token-secret}",
    ]);
    let secret = base64::engine::general_purpose::STANDARD
        .decode(secret.trim())
        .unwrap();
    format!("{id}.{}", String::from_utf8(secret).unwrap())
}

fn worker_bootstrap_token(host: &Host) -> String {
    bootstrap_of(host, &token_id(host, "worker"))
}
