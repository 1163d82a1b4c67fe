//! The resource quota controller of `k0rs controller`: a quota's `status.used` follows what its
//! namespace holds, counted as the quota admission counts.

mod harness;

use harness::cluster::{eventually, json_of, run};
use harness::controller::Controller;

#[test]
fn a_quota_reports_what_its_namespace_uses() {
    let controller = Controller::start_control_plane();
    let admin = controller.admin();
    run(&admin, &["create", "namespace", "team"]);
    run(
        &admin,
        &[
            "create",
            "quota",
            "small",
            "-n",
            "team",
            "--hard=pods=5,requests.cpu=2,configmaps=10,count/deployments.apps=3",
        ],
    );
    run(&admin, &["create", "configmap", "one", "-n", "team"]);
    run(
        &admin,
        &[
            "create",
            "deployment",
            "web",
            "-n",
            "team",
            "--image=busybox:1.36",
        ],
    );
    for (name, cpu) in [("a", "500m"), ("b", "1")] {
        run(
            &admin,
            &[
                "run",
                name,
                "-n",
                "team",
                "--image=busybox:1.36",
                "--overrides",
                &format!(
                    r#"{{"spec":{{"containers":[{{"name":"{name}","image":"busybox:1.36","resources":{{"requests":{{"cpu":"{cpu}"}}}}}}]}}}}"#
                ),
            ],
        );
    }
    eventually(30, "the quota's usage", || {
        let status = json_of(&admin, &["get", "quota", "small", "-n", "team"])["status"].clone();
        // The namespace's kube-root-ca.crt ConfigMap counts too.
        // Two run pods and the Deployment's one (pending: no nodes) count.
        status["used"]["pods"] == "3"
            && status["used"]["requests.cpu"] == "1500m"
            && status["used"]["configmaps"] == "2"
            && status["used"]["count/deployments.apps"] == "1"
            && status["hard"]["pods"] == "5"
    });
}
