//! The `web` test workload: a Deployment of busybox httpd answering with its pod's name, spread
//! evenly over the nodes, ready once its port answers.

/// The Deployment `web` with `replicas` pods, as a YAML document.
pub fn deployment(replicas: u32) -> String {
    format!(
        r#"
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      terminationGracePeriodSeconds: 1
      topologySpreadConstraints:
      - {{maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: DoNotSchedule, labelSelector: {{matchLabels: {{app: web}}}}}}
      containers:
      - name: httpd
        image: busybox
        command: [sh, -c, "mkdir /www && hostname > /www/index.html && trap 'exit 0' TERM; httpd -f -p 8080 -h /www & wait"]
        ports: [{{name: http, containerPort: 8080}}]
        readinessProbe: {{tcpSocket: {{port: http}}, periodSeconds: 1}}
"#
    )
}
