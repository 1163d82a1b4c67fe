//! The etcd backend over TLS with client certificates from the k0rs PKI: etcd's serving certificate
//! and the API server's client certificate, both issued by the etcd CA.

use std::fs;
use std::path::Path;

use k0rs_pki::{ETCD_CLIENT, ETCD_SERVER, ensure_etcd_certificates};
use k0rs_store::etcd::{EtcdServer, EtcdTls, ServerTls};
use k0rs_store::{EtcdStore, KeyRange, Store, WatchRequest};

fn read(pki: &Path, file: &str) -> String {
    fs::read_to_string(pki.join(file)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etcd_with_pki_client_certificates() {
    let tmp = tempfile::tempdir().unwrap();
    let pki = tmp.path().join("pki");
    ensure_etcd_certificates(&pki, None).unwrap();
    let client = EtcdTls {
        ca: read(&pki, "etcd/ca.crt"),
        cert: read(&pki, &format!("{ETCD_CLIENT}.crt")),
        key: read(&pki, &format!("{ETCD_CLIENT}.key")),
    };
    let tls = ServerTls {
        cert_file: pki.join(format!("{ETCD_SERVER}.crt")),
        key_file: pki.join(format!("{ETCD_SERVER}.key")),
        trusted_ca_file: pki.join("etcd/ca.crt"),
        client: client.clone(),
    };
    let server = EtcdServer::start_tls(&tmp.path().join("etcd"), &tls)
        .await
        .unwrap();
    assert!(server.endpoint.starts_with("https://"));

    let store = EtcdStore::connect(&server.client_options(Some(&client)))
        .await
        .unwrap();
    let mut watch = store
        .watch(WatchRequest {
            range: KeyRange::prefix(b"/tls/".to_vec()),
            ..WatchRequest::default()
        })
        .await
        .unwrap();
    let revision = store.put(b"/tls/a", b"secret").await.unwrap();
    assert_eq!(
        store.get(b"/tls/a").await.unwrap().unwrap().mod_revision,
        revision
    );
    let events = watch.next().await.unwrap().unwrap().events;
    assert_eq!(events[0].kv.value, b"secret");

    // A certificate from another authority is refused too.
    let other = tmp.path().join("other");
    ensure_etcd_certificates(&other, None).unwrap();
    let stranger = EtcdTls {
        cert: read(&other, &format!("{ETCD_CLIENT}.crt")),
        key: read(&other, &format!("{ETCD_CLIENT}.key")),
        ..client
    };
    let refused = match EtcdStore::connect(&server.client_options(Some(&stranger))).await {
        Ok(store) => store.current_revision().await.is_err(),
        Err(_) => true,
    };
    assert!(
        refused,
        "etcd served a client whose certificate another CA signed"
    );
}
