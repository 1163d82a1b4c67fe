//! The updater on a real controller: an UpdateConfig following a channel of a `k0rs
//! update-server` that offers a newer version gets no Plan while its window is closed, and the
//! `autopilot` Plan — that version, the channel's URLs, checksum and signature — once it opens.

mod harness;

use std::path::Path;

use harness::autopilot::{self, Keys, Server, newer_version, update_config};
use harness::controller::{Backend, Controller, kubectl, kubectl_ok};
use harness::{free_port, k0rs, path_str, stderr};
use k0rs_autopilot::api::Plan;

/// The plan's commands: a controller that does not exist (so that this test's controller, which
/// runs the build's binary, is not updated).
const COMMANDS: &str = "      - k0supdate:
          targets:
            controllers:
              discovery:
                static:
                  nodes: [elsewhere]
";

/// A channel `stable` offering `version` (this binary stamped), signed with a key made by k0rs,
/// served on `port`.
fn publish_and_serve(dir: &Path, channels: &Path, version: &str, port: u16) -> Server {
    let keys = Keys::generate(dir, "k0rs");
    let url = format!("http://127.0.0.1:{port}");
    let binary = autopilot::stamped(dir, version);
    autopilot::publish(channels, "stable", &binary, version, &keys, &url, None);
    Server::start(
        k0rs(&[]),
        channels,
        &format!("127.0.0.1:{port}"),
        &dir.join("update-server.log"),
    )
}

#[test]
fn a_newer_version_on_the_channel_becomes_the_autopilot_plan_when_the_window_opens() {
    let controller = Controller::start_with(
        Backend::Embedded,
        "",
        &["--disable-components=kube-controller-manager,kube-scheduler"],
    );
    let admin = controller.admin();
    let dir = controller.node.root.path();

    let port = free_port();
    let channels = dir.join("channels");
    let newer = newer_version(1);
    let _server = publish_and_serve(dir, &channels, &newer, port);

    harness::cluster::eventually(60, "the autopilot CRDs established", || {
        ["plans", "updateconfigs"].iter().all(|plural| {
            kubectl(
                &admin,
                &[
                    "wait",
                    "--for=condition=Established",
                    &format!("crd/{plural}.autopilot.k0sproject.io"),
                    "--timeout=1s",
                ],
            )
            .status
            .success()
        })
    });

    // Closed: a cron expression for a day that never comes.
    let file = dir.join("updateconfig.yaml");
    let url = format!("http://127.0.0.1:{port}");
    std::fs::write(
        &file,
        update_config(&url, "    cron: \"0 0 30 2 *\"", COMMANDS),
    )
    .unwrap();
    kubectl_ok(&admin, &["apply", "-f", path_str(&file)]);
    harness::cluster::eventually(60, "the closed window logged", || {
        std::fs::read_to_string(&controller.log)
            .unwrap()
            .contains("new version available but not within update window")
    });
    let out = kubectl(&admin, &["get", "plan", "autopilot"]);
    assert!(!out.status.success(), "a plan outside the window");
    assert!(stderr(&out).contains("NotFound"), "{}", stderr(&out));

    // Open: every day, all day.
    std::fs::write(
        &file,
        update_config(
            &url,
            "    type: periodic\n    periodic:\n      startTime: \"00:00\"\n      length: 24h",
            COMMANDS,
        ),
    )
    .unwrap();
    kubectl_ok(&admin, &["apply", "-f", path_str(&file)]);
    harness::cluster::eventually(60, "the autopilot plan created", || {
        kubectl(&admin, &["get", "plan", "autopilot"])
            .status
            .success()
    });
    let plan: Plan = serde_json::from_str(&kubectl_ok(
        &admin,
        &["get", "plan", "autopilot", "-o", "json"],
    ))
    .unwrap();
    let update = plan.spec.commands[0].k0s_update.as_ref().unwrap();
    assert_eq!(update.version, newer);
    let platform = &update.platforms["linux-amd64"];
    assert_eq!(
        platform.url,
        format!("http://127.0.0.1:{port}/stable/k0rs-{newer}-amd64")
    );
    assert_eq!(platform.signature, format!("{}.minisig", platform.url));
    let published =
        std::fs::read(channels.join("stable").join(format!("k0rs-{newer}-amd64"))).unwrap();
    assert_eq!(
        platform.sha256,
        k0rs_autopilot::server::sha256_hex(published.as_slice()).unwrap()
    );
    let discovery = &update.targets.controllers.as_ref().unwrap().discovery;
    assert_eq!(
        discovery.static_nodes.as_ref().unwrap().nodes,
        ["elsewhere"]
    );
    assert!(update.targets.workers.is_none());
    // The plan names a controller that does not exist (so that this test's controller, which
    // runs the build's binary, is not updated): the runner stops it as k0s does.
    harness::cluster::eventually(60, "the plan stopped for its missing node", || {
        kubectl(
            &admin,
            &["get", "plan", "autopilot", "-o", "jsonpath={.status.state}"],
        )
        .stdout
            == b"IncompleteTargets"
    });
}
