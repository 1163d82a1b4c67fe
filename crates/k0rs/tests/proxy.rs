//! `pods/proxy`, `services/proxy` and `nodes/proxy` through `kubectl proxy` and `kubectl get
//! --raw`, on a real busybox httpd pod (`k0rs controller --single`): every method reaches the
//! pod with its path, query and body; services resolve `[scheme:]name[:port]` to an endpoint.

mod harness;

use std::io::{BufRead, BufReader};

use harness::single_node::SingleNode;
use harness::stdout;

/// busybox httpd on port 8080 (named `http`) with a CGI script that echoes the request, behind
/// Service `web` (port 80, named `http`).
const WEB: &str = r#"
apiVersion: v1
kind: Pod
metadata:
  name: web
  labels: {app: web}
spec:
  containers:
  - name: httpd
    image: busybox
    ports: [{name: http, containerPort: 8080}]
    command: [sh, -c, "mkdir -p /www/cgi-bin && echo index-page > /www/index.html && printf '#!/bin/sh\\necho Content-Type: text/plain\\necho\\necho \"$REQUEST_METHOD $PATH_INFO $QUERY_STRING\"\\ncat\\n' > /www/cgi-bin/echo && chmod +x /www/cgi-bin/echo && trap 'exit 0' TERM; httpd -f -p 8080 -h /www & wait"]
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
"#;

#[test]
fn proxies_reach_pods_services_and_nodes_with_every_method() {
    let cluster = SingleNode::start();
    cluster.apply(WEB);
    cluster.eventually(60, "pod web Running", || {
        cluster.pod_field("web", ".status.phase") == "Running"
    });
    cluster.eventually(30, "endpoints of web", || {
        !cluster
            .field_of("endpoints", "web", ".subsets[0].addresses[0].ip")
            .is_empty()
    });

    let mut proxy = cluster.spawn_command(
        "kubectl",
        &[
            "--kubeconfig",
            harness::path_str(&cluster.admin()),
            "proxy",
            "--port=0",
        ],
    );
    let mut first = String::new();
    BufReader::new(proxy.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // "Starting to serve on 127.0.0.1:<port>"
    let address = first.trim().rsplit(' ').next().unwrap().to_owned();
    let curl = |method: &str, path: &str| {
        let url = format!("http://{address}{path}");
        let mut args = vec![
            "-sS",
            "-X",
            method,
            "--data-binary",
            "sent-body",
            url.as_str(),
        ];
        if method == "HEAD" {
            args = vec!["-sS", "-I", url.as_str()];
        }
        stdout(&cluster.command("curl", &args))
    };

    let pod = "/api/v1/namespaces/default/pods/web:8080/proxy/cgi-bin/echo/sub?x=1";
    for method in ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] {
        assert_eq!(
            curl(method, pod),
            format!("{method} /sub x=1\nsent-body"),
            "{method} through pods/proxy"
        );
    }
    let head = curl(
        "HEAD",
        "/api/v1/namespaces/default/pods/web/proxy/index.html",
    );
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");

    for service in ["http:web:80", "web:http", "web"] {
        let path = format!("/api/v1/namespaces/default/services/{service}/proxy/cgi-bin/echo/s");
        assert_eq!(curl("POST", &path), "POST /s \nsent-body", "{service}");
    }
    assert_eq!(
        cluster.run(&[
            "get",
            "--raw",
            "/api/v1/namespaces/default/services/http:web:80/proxy/"
        ]),
        "index-page\n"
    );
    let unknown = cluster.kubectl(&[
        "get",
        "--raw",
        "/api/v1/namespaces/default/services/web:81/proxy/",
    ]);
    assert!(
        harness::stderr(&unknown).contains("no service port 81 found for service \"web\""),
        "{}",
        harness::stderr(&unknown)
    );

    let nodes = cluster.json(&["get", "nodes"]);
    let node = nodes["items"][0]["metadata"]["name"].as_str().unwrap();
    assert_eq!(
        curl("GET", &format!("/api/v1/nodes/{node}/proxy/healthz")),
        "ok"
    );
    let _ = proxy.kill();
    let _ = proxy.wait();
}
