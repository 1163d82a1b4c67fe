//! API aggregation against `k0rs controller`: an APIService hands `things.k0rs.io/v1` to a small
//! HTTPS server (Python, trusting only the front-proxy CA); kubectl discovers and lists its
//! resources through k0rs, which authorizes first and passes the user in `X-Remote-*` headers.

mod harness;

use std::process::Command;

use harness::aggregated;
use harness::controller::{Controller, kubectl, kubectl_ok};
use harness::stderr;

#[test]
fn an_api_service_proxies_its_group_to_another_server() {
    let controller = Controller::start();
    let admin = controller.admin();
    let run = |args: &[&str]| kubectl_ok(&admin, args);
    let (cert, key) = aggregated::certificate(controller.node.root.path());
    let ca = controller.node.pki("front-proxy-ca.crt");
    let (server, port) = aggregated::start(Command::new(aggregated::python()), &cert, &key, &ca);
    let objects = aggregated::objects(&cert, "127.0.0.1", port, None);
    let out = controller.create_json(&admin, "aggregation", &objects);
    assert!(out.status.success(), "{}", stderr(&out));

    run(&[
        "wait",
        "--for=condition=Available",
        "apiservice/v1.things.k0rs.io",
        "--timeout=30s",
    ]);
    assert!(run(&["api-resources", "--api-group=things.k0rs.io"]).contains("things"));
    let list: serde_json::Value =
        serde_json::from_str(&run(&["get", "things", "-o", "json"])).unwrap();
    let seen = &list["items"][0]["spec"];
    assert_eq!(seen["user"], "kubernetes-admin");
    assert!(
        seen["groups"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("system:masters")),
        "{seen}"
    );
    assert_eq!(seen["peer"], "front-proxy-client");
    assert_eq!(seen["authorization"], serde_json::Value::Null);

    // k0rs authorizes before proxying: a user without a role is refused here.
    let eve = controller.kubeconfig_for("eve", &[]);
    let out = kubectl(
        &eve,
        &[
            "get",
            "--raw",
            "/apis/things.k0rs.io/v1/namespaces/default/things",
        ],
    );
    assert!(
        stderr(&out).contains(
            r#"things.things.k0rs.io is forbidden: User "eve" cannot list resource "things""#
        ),
        "{}",
        stderr(&out)
    );

    // Without its server, the group version answers 503 and the APIService becomes unavailable.
    drop(server);
    let out = kubectl(
        &admin,
        &[
            "get",
            "--raw",
            "/apis/things.k0rs.io/v1/namespaces/default/things",
        ],
    );
    assert!(
        stderr(&out).contains("ServiceUnavailable") || stderr(&out).contains("503"),
        "{}",
        stderr(&out)
    );
    run(&[
        "wait",
        "--for=condition=Available=False",
        "apiservice/v1.things.k0rs.io",
        "--timeout=30s",
    ]);
}
