use super::*;

fn service(json: serde_json::Value) -> Arc<Service> {
    Arc::new(serde_json::from_value(json).unwrap())
}

fn zone() -> Zone {
    let services = [
        service(serde_json::json!({
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"clusterIP": "10.96.0.20", "clusterIPs": ["10.96.0.20"],
                     "ports": [{"name": "http", "port": 80}]},
        })),
        service(serde_json::json!({
            "metadata": {"name": "db", "namespace": "data"},
            "spec": {"clusterIP": "None", "ports": [{"name": "pg", "port": 5432}]},
        })),
        service(serde_json::json!({
            "metadata": {"name": "ext", "namespace": "default"},
            "spec": {"type": "ExternalName", "externalName": "example.org"},
        })),
    ];
    let slices = [Arc::new(
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "db-x", "namespace": "data",
                         "labels": {"kubernetes.io/service-name": "db"}},
            "addressType": "IPv4",
            "ports": [{"name": "pg", "port": 5432, "protocol": "TCP"}],
            "endpoints": [
                {"addresses": ["10.244.1.5"], "hostname": "db-0"},
                {"addresses": ["10.244.2.6"]},
                {"addresses": ["10.244.2.7"], "conditions": {"ready": false}},
            ],
        }))
        .unwrap(),
    )];
    Zone::build("cluster.local", &services, &slices)
}

fn rdata(answer: &Answer) -> Vec<String> {
    match answer {
        Answer::Records { answers, .. } => answers.iter().map(|r| r.data.to_string()).collect(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn services_resolve_to_their_cluster_ip_and_headless_ones_to_ready_endpoints() {
    let zone = zone();
    assert_eq!(
        rdata(&zone.answer("web.default.svc.cluster.local", RecordType::A)),
        ["10.96.0.20"]
    );
    assert_eq!(
        rdata(&zone.answer("db.data.svc.cluster.local", RecordType::A)),
        ["10.244.2.6", "10.244.1.5"],
        "ready endpoints only, by name"
    );
    assert_eq!(
        rdata(&zone.answer("db-0.db.data.svc.cluster.local", RecordType::A)),
        ["10.244.1.5"]
    );
    assert_eq!(
        rdata(&zone.answer("10-244-2-6.db.data.svc.cluster.local", RecordType::A)),
        ["10.244.2.6"]
    );
    assert_eq!(
        rdata(&zone.answer("ext.default.svc.cluster.local", RecordType::A)),
        ["example.org."]
    );
}

#[test]
fn srv_records_name_ports_and_their_targets() {
    let zone = zone();
    let Answer::Records {
        answers,
        additionals,
    } = zone.answer("_http._tcp.web.default.svc.cluster.local", RecordType::SRV)
    else {
        panic!()
    };
    assert_eq!(
        answers[0].data.to_string(),
        "0 100 80 web.default.svc.cluster.local."
    );
    assert_eq!(additionals[0].data.to_string(), "10.96.0.20");
    let srv = rdata(&zone.answer("_pg._tcp.db.data.svc.cluster.local", RecordType::SRV));
    assert_eq!(
        srv,
        [
            "0 50 5432 10-244-2-6.db.data.svc.cluster.local.",
            "0 50 5432 db-0.db.data.svc.cluster.local."
        ]
    );
    assert_eq!(
        zone.answer("_nope._tcp.web.default.svc.cluster.local", RecordType::SRV),
        Answer::NxDomain
    );
}

#[test]
fn missing_names_are_nxdomain_and_other_types_nodata() {
    let zone = zone();
    assert_eq!(
        zone.answer("nope.default.svc.cluster.local", RecordType::A),
        Answer::NxDomain
    );
    assert_eq!(
        zone.answer("a.b.c.d.e.f.cluster.local", RecordType::A),
        Answer::NxDomain
    );
    // NODATA: the name exists, without records of that type.
    assert!(rdata(&zone.answer("web.default.svc.cluster.local", RecordType::AAAA)).is_empty());
    assert!(rdata(&zone.answer("default.svc.cluster.local", RecordType::A)).is_empty());
    assert!(rdata(&zone.answer("cluster.local", RecordType::A)).is_empty());
    assert_eq!(
        rdata(&zone.answer("cluster.local", RecordType::SOA)).len(),
        1
    );
    assert_eq!(zone.answer("example.org", RecordType::A), Answer::NotOurs);
}

#[test]
fn pods_and_reverse_lookups() {
    let zone = zone();
    assert_eq!(
        rdata(&zone.answer("10-244-3-4.default.pod.cluster.local", RecordType::A)),
        ["10.244.3.4"]
    );
    assert_eq!(
        zone.answer("not-an-ip.default.pod.cluster.local", RecordType::A),
        Answer::NxDomain
    );
    assert_eq!(
        rdata(&zone.answer("20.0.96.10.in-addr.arpa", RecordType::PTR)),
        ["web.default.svc.cluster.local."]
    );
    assert_eq!(
        rdata(&zone.answer("5.1.244.10.in-addr.arpa", RecordType::PTR)),
        ["db-0.db.data.svc.cluster.local."]
    );
    assert_eq!(
        zone.answer("9.9.9.9.in-addr.arpa", RecordType::PTR),
        Answer::NotOurs
    );
    let v6 = "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.0.0.0.0.1.2.3.4.ip6.arpa";
    assert_eq!(
        reverse_address(v6),
        Some("4321:0:1:2:3:4:567:89ab".parse().unwrap())
    );
}
