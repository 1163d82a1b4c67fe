//! RBAC against `k0rs controller`, judged by kubectl: a user outside `system:masters` may do
//! exactly what Roles and ClusterRoles bound to them allow, aggregation included, and
//! `kubectl auth can-i` gives the same answers.

mod harness;

use harness::controller::{Controller, kubectl};
use harness::{stderr, stdout};

#[test]
#[allow(clippy::too_many_lines)] // one user's permissions, granted step by step
fn users_may_do_what_their_roles_allow_and_nothing_else() {
    let controller = Controller::start();
    let admin = controller.admin();
    let alice = controller.kubeconfig_for("alice", &["dev"]);
    let as_admin = |args: &[&str]| {
        let out = kubectl(&admin, args);
        assert!(out.status.success(), "kubectl {args:?}: {}", stderr(&out));
        stdout(&out)
    };
    let can = |args: &[&str]| {
        let mut all = vec!["auth", "can-i"];
        all.extend_from_slice(args);
        stdout(&kubectl(&alice, &all)).trim().to_owned()
    };

    // The bootstrap policy: discovery and whoami, nothing else.
    assert!(kubectl(&alice, &["api-versions"]).status.success());
    let out = kubectl(&alice, &["get", "pods"]);
    assert!(
        stderr(&out).contains(r#"pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "default""#),
        "{}",
        stderr(&out)
    );
    assert_eq!(can(&["list", "pods"]), "no");

    // A Role in default, bound to alice: pods there, not elsewhere, not secrets.
    as_admin(&["create", "namespace", "team"]);
    as_admin(&[
        "create",
        "role",
        "pod-reader",
        "--verb=get,list,watch",
        "--resource=pods",
    ]);
    as_admin(&[
        "create",
        "rolebinding",
        "alice-reads",
        "--role=pod-reader",
        "--user=alice",
    ]);
    let out = kubectl(&alice, &["get", "pods"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(can(&["list", "pods"]), "yes");
    assert_eq!(can(&["list", "pods", "-n", "team"]), "no");
    assert_eq!(can(&["delete", "pods"]), "no");
    assert_eq!(can(&["get", "secrets"]), "no");
    assert!(
        !kubectl(&alice, &["get", "pods", "-n", "team"])
            .status
            .success()
    );

    // The aggregated `view` ClusterRole bound in team through alice's group: workloads, not secrets.
    as_admin(&[
        "create",
        "rolebinding",
        "dev-view",
        "--clusterrole=view",
        "--group=dev",
        "-n",
        "team",
    ]);
    assert_eq!(can(&["list", "deployments.apps", "-n", "team"]), "yes");
    assert_eq!(can(&["list", "secrets", "-n", "team"]), "no");
    assert_eq!(can(&["create", "deployments.apps", "-n", "team"]), "no");
    assert!(
        kubectl(&alice, &["get", "deployments", "-n", "team"])
            .status
            .success()
    );
    // `edit` aggregates view and adds writes and secrets.
    as_admin(&[
        "create",
        "rolebinding",
        "dev-edit",
        "--clusterrole=edit",
        "--group=dev",
        "-n",
        "team",
    ]);
    assert_eq!(can(&["create", "deployments.apps", "-n", "team"]), "yes");
    assert_eq!(can(&["get", "secrets", "-n", "team"]), "yes");
    let out = kubectl(&alice, &["create", "configmap", "mine", "-n", "team"]);
    assert!(out.status.success(), "{}", stderr(&out));

    // A ClusterRole with resourceNames, bound cluster-wide.
    as_admin(&[
        "create",
        "clusterrole",
        "one-node",
        "--verb=get",
        "--resource=nodes",
        "--resource-name=n1",
    ]);
    as_admin(&[
        "create",
        "clusterrolebinding",
        "alice-node",
        "--clusterrole=one-node",
        "--user=alice",
    ]);
    assert_eq!(can(&["get", "nodes/n1"]), "yes");
    assert_eq!(can(&["get", "nodes/n2"]), "no");
    assert_eq!(can(&["list", "nodes"]), "no");

    // The admin answers for alice the same way (SubjectAccessReview through impersonation).
    let out = kubectl(&admin, &["auth", "can-i", "list", "pods", "--as", "alice"]);
    assert_eq!(stdout(&out).trim(), "yes");
    let out = kubectl(
        &admin,
        &[
            "auth", "can-i", "list", "pods", "-n", "team", "--as", "alice",
        ],
    );
    assert_eq!(stdout(&out).trim(), "no");
    // can-i --list shows what alice may do in team.
    let list = stdout(&kubectl(&alice, &["auth", "can-i", "--list", "-n", "team"]));
    assert!(list.contains("deployments.apps"), "{list}");
}

#[test]
#[allow(clippy::too_many_lines)] // one user's grants, tried step by step
fn users_cannot_grant_what_they_do_not_hold() {
    let controller = Controller::start();
    let admin = controller.admin();
    let alice = controller.kubeconfig_for("alice", &["dev"]);
    let as_admin = |args: &[&str]| {
        let out = kubectl(&admin, args);
        assert!(out.status.success(), "kubectl {args:?}: {}", stderr(&out));
    };
    as_admin(&["create", "namespace", "team"]);
    // `admin` in team: roles and bindings there, and every workload permission.
    as_admin(&[
        "create",
        "rolebinding",
        "dev-admin",
        "--clusterrole=admin",
        "--group=dev",
        "-n",
        "team",
    ]);

    let out = kubectl(
        &alice,
        &[
            "create",
            "role",
            "pods",
            "--verb=get",
            "--resource=pods",
            "-n",
            "team",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = kubectl(
        &alice,
        &[
            "create",
            "rolebinding",
            "bob-pods",
            "--role=pods",
            "--user=bob",
            "-n",
            "team",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));

    // Nodes are not hers to give, nor is cluster-admin.
    let out = kubectl(
        &alice,
        &[
            "create",
            "role",
            "nodes",
            "--verb=get",
            "--resource=nodes",
            "-n",
            "team",
        ],
    );
    assert!(
        stderr(&out).contains("is attempting to grant RBAC permissions not currently held"),
        "{}",
        stderr(&out)
    );
    let out = kubectl(
        &alice,
        &[
            "create",
            "rolebinding",
            "bob-root",
            "--clusterrole=cluster-admin",
            "--user=bob",
            "-n",
            "team",
        ],
    );
    assert!(
        stderr(&out).contains("is attempting to grant RBAC permissions not currently held"),
        "{}",
        stderr(&out)
    );
    // With `bind` on cluster-admin, she may bind it (here, in her namespace).
    as_admin(&[
        "create",
        "clusterrole",
        "bind-root",
        "--verb=bind",
        "--resource=clusterroles",
        "--resource-name=cluster-admin",
    ]);
    as_admin(&[
        "create",
        "clusterrolebinding",
        "alice-binds",
        "--clusterrole=bind-root",
        "--user=alice",
    ]);
    let out = kubectl(
        &alice,
        &[
            "create",
            "rolebinding",
            "bob-root",
            "--clusterrole=cluster-admin",
            "--user=bob",
            "-n",
            "team",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn the_bootstrap_policy_gives_system_components_their_roles() {
    let controller = Controller::start();
    let admin = controller.admin();
    let can = |user: &str, args: &[&str]| {
        let mut all = vec!["auth", "can-i"];
        all.extend_from_slice(args);
        all.extend(["--as", user]);
        stdout(&kubectl(&admin, &all)).trim().to_owned()
    };
    assert_eq!(
        can(
            "system:kube-scheduler",
            &["create", "pods", "--subresource=binding"]
        ),
        "yes"
    );
    assert_eq!(can("system:kube-scheduler", &["list", "nodes"]), "yes");
    assert_eq!(can("system:kube-scheduler", &["get", "secrets"]), "no");
    assert_eq!(
        can(
            "system:kube-controller-manager",
            &["create", "replicasets.apps"]
        ),
        "yes"
    );
    assert_eq!(
        can(
            "system:kube-controller-manager",
            &["create", "clusterroles"]
        ),
        "no"
    );
    let roles = stdout(&kubectl(&admin, &["get", "clusterroles", "-o", "name"]));
    for role in [
        "system:node",
        "system:kube-scheduler",
        "view",
        "edit",
        "admin",
        "cluster-admin",
    ] {
        assert!(
            roles
                .lines()
                .any(|l| l == format!("clusterrole.rbac.authorization.k8s.io/{role}")),
            "{role} missing"
        );
    }
}

#[test]
fn each_controller_loop_has_its_own_role_bound_to_its_service_account() {
    let controller = Controller::start();
    let admin = controller.admin();
    let can = |account: &str, args: &[&str]| {
        let user = format!("system:serviceaccount:kube-system:{account}");
        let mut all = vec!["auth", "can-i"];
        all.extend_from_slice(args);
        all.extend(["--as", &user]);
        stdout(&kubectl(&admin, &all)).trim().to_owned()
    };
    // The deployment controller manages its ReplicaSets and its Deployments' status, no secrets.
    let deployments = "deployment-controller";
    assert_eq!(can(deployments, &["update", "replicasets.apps"]), "yes");
    assert_eq!(
        can(
            deployments,
            &["update", "deployments.apps", "--subresource=status"]
        ),
        "yes"
    );
    assert_eq!(can(deployments, &["delete", "deployments.apps"]), "no");
    assert_eq!(can(deployments, &["get", "secrets"]), "no");
    // The namespace controller empties a terminating namespace of anything in it.
    assert_eq!(
        can("namespace-controller", &["delete", "pods", "-n", "team"]),
        "yes"
    );
    assert_eq!(
        can("namespace-controller", &["create", "pods", "-n", "team"]),
        "no"
    );
    // Another account gets nothing from these bindings.
    assert_eq!(can("default", &["update", "replicasets.apps"]), "no");

    let out = kubectl(
        &admin,
        &[
            "get",
            "clusterrolebinding",
            "system:controller:deployment-controller",
            "-o",
            "jsonpath={.roleRef.name} {.subjects[0].kind} {.subjects[0].namespace}/{.subjects[0].name}",
        ],
    );
    assert_eq!(
        stdout(&out).trim(),
        "system:controller:deployment-controller ServiceAccount kube-system/deployment-controller",
        "{}",
        stderr(&out)
    );
    let roles = stdout(&kubectl(&admin, &["get", "clusterroles", "-o", "name"]));
    let controllers = roles
        .lines()
        .filter(|l| l.starts_with("clusterrole.rbac.authorization.k8s.io/system:controller:"))
        .count();
    assert_eq!(controllers, 31, "{roles}");
}
