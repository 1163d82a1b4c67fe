//! The `kubernetes` Service's endpoints: every API server on the store keeps its address there
//! through a Lease; one that stops renewing drops out, one that stops cleanly withdraws.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use k0rs_apiserver::EndpointTiming;
use k0rs_registry::ApiEndpoint;
use serde_json::Value;
use tokio::sync::watch;

use crate::harness::{Api, admin, embedded_store};

const FAST: EndpointTiming = EndpointTiming {
    renew: Duration::from_millis(200),
    ttl: Duration::from_secs(1),
};

fn endpoint(address: &str) -> ApiEndpoint {
    ApiEndpoint {
        service_ip: "10.96.0.1".parse().unwrap(),
        address: address.parse().unwrap(),
        port: 6443,
    }
}

/// The addresses in `default/kubernetes`'s Endpoints and in its EndpointSlice.
async fn published(api: &Api) -> (Vec<String>, Vec<String>) {
    let endpoints = api
        .get(
            Some(&admin()),
            "/api/v1/namespaces/default/endpoints/kubernetes",
        )
        .await
        .body;
    let slice = api
        .get(
            Some(&admin()),
            "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/kubernetes",
        )
        .await
        .body;
    let of = |list: &Value, pointer: &str| -> Vec<String> {
        list.as_array()
            .into_iter()
            .flatten()
            .filter_map(|item| item.pointer(pointer)?.as_str().map(str::to_owned))
            .collect()
    };
    let subsets = &endpoints["subsets"];
    let addresses = subsets[0]["addresses"].clone();
    (
        of(&addresses, "/ip"),
        of(&slice["endpoints"], "/addresses/0"),
    )
}

async fn lease_exists(api: &Api, address: &str) -> bool {
    let path = format!(
        "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/k0rs-apiserver-{address}"
    );
    api.get(Some(&admin()), &path).await.code == 200
}

async fn wait_for(api: &Api, want: &[&str]) {
    let deadline = Instant::now() + Duration::from_secs(10);
    let want: Vec<String> = want.iter().map(|s| (*s).to_owned()).collect();
    loop {
        let (endpoints, slice) = published(api).await;
        if endpoints == want && slice == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "kubernetes endpoints {endpoints:?} / slice {slice:?}, want {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn every_live_api_server_is_an_endpoint_and_a_dead_one_drops_out() {
    let dir = tempfile::tempdir().unwrap();
    let store = embedded_store(dir.path()).await;
    let first = Api::on(store.clone(), Some(endpoint("10.0.0.1")), FAST).await;
    assert_eq!(
        published(&first).await,
        (vec!["10.0.0.1".to_owned()], vec!["10.0.0.1".to_owned()]),
        "the first API server publishes itself before serving"
    );
    let second = Api::on(store.clone(), Some(endpoint("10.0.0.2")), FAST).await;
    assert_eq!(published(&second).await.0, ["10.0.0.1", "10.0.0.2"]);

    // Only the first keeps renewing: the second is a controller that died.
    let (stop_first, stopped) = watch::channel(false);
    let first_task = first.app().keep_endpoints(stopped).unwrap();
    drop(second);
    wait_for(&first, &["10.0.0.1"]).await;
    assert!(
        !lease_exists(&first, "10.0.0.2").await,
        "the dead API server's lease is deleted"
    );
    assert!(lease_exists(&first, "10.0.0.1").await);

    // It comes back.
    let second = Api::on(store.clone(), Some(endpoint("10.0.0.2")), FAST).await;
    let (stop_second, stopped) = watch::channel(false);
    let second_task = second.app().keep_endpoints(stopped).unwrap();
    wait_for(&first, &["10.0.0.1", "10.0.0.2"]).await;
    // Both keep renewing: nobody drops out across several lease durations.
    tokio::time::sleep(Duration::from_secs(3)).await;
    wait_for(&first, &["10.0.0.1", "10.0.0.2"]).await;

    // A clean stop withdraws at once, without waiting for the lease to run out.
    stop_first.send(true).unwrap();
    first_task.await.unwrap();
    assert_eq!(published(&second).await.0, ["10.0.0.2"]);
    assert!(!lease_exists(&second, "10.0.0.1").await);

    stop_second.send(true).unwrap();
    second_task.await.unwrap();
    let (endpoints, slice) = published(&second).await;
    assert!(
        endpoints.is_empty() && slice.is_empty(),
        "{endpoints:?} {slice:?}"
    );
}

#[tokio::test]
async fn an_ipv6_api_server_gets_a_valid_lease_name_and_an_ipv6_slice() {
    let dir = tempfile::tempdir().unwrap();
    let api = Api::on(
        embedded_store(dir.path()).await,
        Some(endpoint("fd00::10")),
        FAST,
    )
    .await;
    assert!(lease_exists(&api, "fd00--10").await);
    let slice = api
        .get(
            Some(&admin()),
            "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/kubernetes",
        )
        .await
        .body;
    assert_eq!(slice["addressType"], "IPv6");
    let address: IpAddr = slice["endpoints"][0]["addresses"][0]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(address, "fd00::10".parse::<IpAddr>().unwrap());
}
