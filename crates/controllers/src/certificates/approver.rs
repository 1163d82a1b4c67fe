//! Which requests are approved without a human: a kubelet's client certificate for
//! `system:node:<name>` in `system:nodes`, asked by a bootstrap token (permission `create` on
//! `certificatesigningrequests/nodeclient`) or by that node itself renewing (`selfnodeclient`);
//! and a node's serving certificate for its own names, asked by that node.

use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec,
};
use k8s_openapi::api::certificates::v1::CertificateSigningRequest;
use kube::api::PostParams;
use kube::{Api, Client};

use super::request::{self, Request};

const CLIENT_USAGES: [&str; 3] = ["digital signature", "key encipherment", "client auth"];
const SERVING_USAGES: [&str; 3] = ["digital signature", "key encipherment", "server auth"];

fn usages_within(csr: &CertificateSigningRequest, allowed: &[&str], needed: &str) -> bool {
    let usages = csr.spec.usages.clone().unwrap_or_default();
    usages.iter().all(|u| allowed.contains(&u.as_str())) && usages.iter().any(|u| u == needed)
}

fn node_subject(request: &Request) -> bool {
    request.common_name.starts_with("system:node:")
        && request.common_name.len() > "system:node:".len()
        && request.organizations == ["system:nodes"]
}

/// Whether the requester may create `certificatesigningrequests/<subresource>`.
async fn allowed(
    client: &Client,
    csr: &CertificateSigningRequest,
    subresource: &str,
) -> kube::Result<bool> {
    let spec = &csr.spec;
    let review = SubjectAccessReview {
        spec: SubjectAccessReviewSpec {
            user: spec.username.clone(),
            groups: spec.groups.clone(),
            uid: spec.uid.clone(),
            extra: spec.extra.clone(),
            resource_attributes: Some(ResourceAttributes {
                group: Some("certificates.k8s.io".to_owned()),
                resource: Some("certificatesigningrequests".to_owned()),
                subresource: Some(subresource.to_owned()),
                verb: Some("create".to_owned()),
                ..ResourceAttributes::default()
            }),
            ..SubjectAccessReviewSpec::default()
        },
        ..SubjectAccessReview::default()
    };
    let answer = Api::<SubjectAccessReview>::all(client.clone())
        .create(&PostParams::default(), &review)
        .await?;
    Ok(answer.status.is_some_and(|s| s.allowed))
}

/// The approval message if `csr` is approved automatically.
pub async fn approves(
    client: &Client,
    csr: &CertificateSigningRequest,
) -> kube::Result<Option<String>> {
    let Some(request) = request::parse(&csr.spec.request.0) else {
        return Ok(None);
    };
    if !node_subject(&request) {
        return Ok(None);
    }
    let requester = csr.spec.username.as_deref().unwrap_or_default();
    match csr.spec.signer_name.as_str() {
        "kubernetes.io/kube-apiserver-client-kubelet" => {
            if request.dns_names.len() + request.ip_addresses + request.other_names > 0
                || !usages_within(csr, &CLIENT_USAGES, "client auth")
            {
                return Ok(None);
            }
            let subresource = if requester == request.common_name {
                "selfnodeclient"
            } else {
                "nodeclient"
            };
            Ok(allowed(client, csr, subresource).await?.then(|| {
                "Auto approving kubelet client certificate after SubjectAccessReview.".to_owned()
            }))
        }
        "kubernetes.io/kubelet-serving" => {
            let own = requester == request.common_name;
            let names_only =
                request.other_names == 0 && request.dns_names.len() + request.ip_addresses > 0;
            Ok(
                (own && names_only && usages_within(csr, &SERVING_USAGES, "server auth")).then(
                    || "Auto approving kubelet serving certificate of the node itself.".to_owned(),
                ),
            )
        }
        _ => Ok(None),
    }
}
