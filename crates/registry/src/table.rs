//! The declarations: Kubernetes 1.28's built-in resources as the issue lists them, each row
//! pointing at its kind's strategy (`.with(..)`; the others have the default one).

use crate::kinds::{self, Strategy};

/// A subresource (`pods/status`, `deployments/scale`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subresource {
    pub name: &'static str,
    /// Kind of the object the subresource takes and returns (`Scale`, `Binding`, …).
    pub kind: &'static str,
    /// Group and version of that kind when it differs from the resource's (`autoscaling/v1` for
    /// `Scale`, `policy/v1` for `Eviction`).
    pub group_version: Option<&'static str>,
    pub verbs: &'static [&'static str],
}

/// One resource of one group version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resource {
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    pub plural: &'static str,
    pub singular: &'static str,
    pub short_names: &'static [&'static str],
    pub categories: &'static [&'static str],
    pub namespaced: bool,
    pub verbs: &'static [&'static str],
    pub subresources: &'static [Subresource],
    /// The rules of the kind: defaults, validation, columns, … ([`crate::kinds`]).
    pub(crate) strategy: &'static Strategy,
}

impl Resource {
    /// `v1` for the core group, `<group>/<version>` otherwise.
    pub fn api_version(&self) -> String {
        crate::group_version(self.group, self.version)
    }

    /// Whether `self` is `other` in any version (the same group and plural, as Kubernetes'
    /// admission compares a GroupResource): `resource.is(resources::PODS)`.
    pub fn is(&self, other: &Resource) -> bool {
        self.group == other.group && self.plural == other.plural
    }

    /// The row with the rules of `strategy`.
    const fn with(self, strategy: &'static Strategy) -> Self {
        Self { strategy, ..self }
    }
}

pub(crate) const CRUD: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];
const NO_DELETECOLLECTION: &[&str] = &[
    "create", "delete", "get", "list", "patch", "update", "watch",
];
const CREATE: &[&str] = &["create"];
const GET_PATCH_UPDATE: &[&str] = &["get", "patch", "update"];
const ALL: &[&str] = &["all"];
/// What a proxy subresource passes on: every method (HEAD is a get).
const PROXY: &[&str] = &["create", "delete", "get", "patch", "update"];

pub(crate) const fn status(kind: &'static str) -> Subresource {
    Subresource {
        name: "status",
        kind,
        group_version: None,
        verbs: GET_PATCH_UPDATE,
    }
}

pub(crate) const SCALE: Subresource = Subresource {
    name: "scale",
    kind: "Scale",
    group_version: Some("autoscaling/v1"),
    verbs: GET_PATCH_UPDATE,
};

/// A resource with the full set of verbs and the given subresources.
#[allow(clippy::too_many_arguments)] // one table row; struct literals would triple the table
const fn crud(
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
    singular: &'static str,
    namespaced: bool,
    short_names: &'static [&'static str],
    categories: &'static [&'static str],
    subresources: &'static [Subresource],
) -> Resource {
    Resource {
        group,
        version,
        kind,
        plural,
        singular,
        short_names,
        categories,
        namespaced,
        verbs: CRUD,
        subresources,
        strategy: &kinds::DEFAULT,
    }
}

/// A create-only resource (reviews, bindings).
const fn review(
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
    singular: &'static str,
    namespaced: bool,
) -> Resource {
    Resource {
        group,
        version,
        kind,
        plural,
        singular,
        short_names: &[],
        categories: &[],
        namespaced,
        verbs: CREATE,
        subresources: &[],
        strategy: &kinds::DEFAULT,
    }
}

#[rustfmt::skip]
pub const RESOURCES: &[Resource] = &[
    // core/v1
    review("", "v1", "Binding", "bindings", "binding", true),
    // Read only, and never stored: the API server answers from its probes.
    Resource {
        verbs: &["get", "list"],
        ..crud("", "v1", "ComponentStatus", "componentstatuses", "componentstatus", false, &["cs"], &[], &[])
    }.with(&kinds::componentstatuses::STRATEGY),
    crud("", "v1", "ConfigMap", "configmaps", "configmap", true, &["cm"], &[], &[]).with(&kinds::configmaps::STRATEGY),
    crud("", "v1", "Endpoints", "endpoints", "endpoints", true, &["ep"], &[], &[]).with(&kinds::endpoints::STRATEGY),
    crud("", "v1", "Event", "events", "event", true, &["ev"], &[], &[]).with(&kinds::events::STRATEGY),
    crud("", "v1", "LimitRange", "limitranges", "limitrange", true, &["limits"], &[], &[]),
    // No deletecollection, as in Kubernetes: one request must not remove every namespace.
    Resource {
        verbs: NO_DELETECOLLECTION,
        ..crud("", "v1", "Namespace", "namespaces", "namespace", false, &["ns"], &[],
            &[status("Namespace"), Subresource { name: "finalize", kind: "Namespace", group_version: None, verbs: &["update"] }])
    }.with(&kinds::namespaces::STRATEGY),
    crud("", "v1", "Node", "nodes", "node", false, &["no"], &[], &[
        Subresource { name: "proxy", kind: "NodeProxyOptions", group_version: None, verbs: PROXY },
        status("Node"),
    ]).with(&kinds::nodes::STRATEGY),
    crud("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", "persistentvolumeclaim", true, &["pvc"], &[],
        &[status("PersistentVolumeClaim")]).with(&kinds::persistentvolumeclaims::STRATEGY),
    crud("", "v1", "PersistentVolume", "persistentvolumes", "persistentvolume", false, &["pv"], &[],
        &[status("PersistentVolume")]).with(&kinds::persistentvolumes::STRATEGY),
    crud("", "v1", "Pod", "pods", "pod", true, &["po"], ALL, &[
        Subresource { name: "attach", kind: "PodAttachOptions", group_version: None, verbs: &["create", "get"] },
        Subresource { name: "binding", kind: "Binding", group_version: None, verbs: CREATE },
        Subresource { name: "ephemeralcontainers", kind: "Pod", group_version: None, verbs: GET_PATCH_UPDATE },
        Subresource { name: "eviction", kind: "Eviction", group_version: Some("policy/v1"), verbs: CREATE },
        Subresource { name: "exec", kind: "PodExecOptions", group_version: None, verbs: &["create", "get"] },
        Subresource { name: "log", kind: "Pod", group_version: None, verbs: &["get"] },
        Subresource { name: "portforward", kind: "PodPortForwardOptions", group_version: None, verbs: &["create", "get"] },
        Subresource { name: "proxy", kind: "PodProxyOptions", group_version: None, verbs: PROXY },
        status("Pod"),
    ]).with(&kinds::pods::STRATEGY),
    crud("", "v1", "PodTemplate", "podtemplates", "podtemplate", true, &[], &[], &[]).with(&kinds::podtemplates::STRATEGY),
    crud("", "v1", "ReplicationController", "replicationcontrollers", "replicationcontroller", true, &["rc"], ALL,
        &[SCALE, status("ReplicationController")]).with(&kinds::replicationcontrollers::STRATEGY),
    crud("", "v1", "ResourceQuota", "resourcequotas", "resourcequota", true, &["quota"], &[], &[status("ResourceQuota")]),
    crud("", "v1", "Secret", "secrets", "secret", true, &[], &[], &[]).with(&kinds::secrets::STRATEGY),
    crud("", "v1", "ServiceAccount", "serviceaccounts", "serviceaccount", true, &["sa"], &[], &[
        Subresource { name: "token", kind: "TokenRequest", group_version: Some("authentication.k8s.io/v1"), verbs: CREATE },
    ]).with(&kinds::serviceaccounts::STRATEGY),
    crud("", "v1", "Service", "services", "service", true, &["svc"], ALL, &[
        Subresource { name: "proxy", kind: "ServiceProxyOptions", group_version: None, verbs: PROXY },
        status("Service"),
    ])
        .with(&kinds::services::STRATEGY),
    // apps/v1
    crud("apps", "v1", "ControllerRevision", "controllerrevisions", "controllerrevision", true, &[], &[], &[]),
    crud("apps", "v1", "DaemonSet", "daemonsets", "daemonset", true, &["ds"], ALL, &[status("DaemonSet")])
        .with(&kinds::daemonsets::STRATEGY),
    crud("apps", "v1", "Deployment", "deployments", "deployment", true, &["deploy"], ALL, &[SCALE, status("Deployment")])
        .with(&kinds::deployments::STRATEGY),
    crud("apps", "v1", "ReplicaSet", "replicasets", "replicaset", true, &["rs"], ALL, &[SCALE, status("ReplicaSet")])
        .with(&kinds::replicasets::STRATEGY),
    crud("apps", "v1", "StatefulSet", "statefulsets", "statefulset", true, &["sts"], ALL, &[SCALE, status("StatefulSet")])
        .with(&kinds::statefulsets::STRATEGY),
    // batch/v1
    crud("batch", "v1", "CronJob", "cronjobs", "cronjob", true, &["cj"], ALL, &[status("CronJob")]).with(&kinds::cronjobs::STRATEGY),
    crud("batch", "v1", "Job", "jobs", "job", true, &[], ALL, &[status("Job")]).with(&kinds::jobs::STRATEGY),
    // autoscaling
    crud("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", "horizontalpodautoscaler", true,
        &["hpa"], ALL, &[status("HorizontalPodAutoscaler")]),
    crud("autoscaling", "v1", "HorizontalPodAutoscaler", "horizontalpodautoscalers", "horizontalpodautoscaler", true,
        &["hpa"], ALL, &[status("HorizontalPodAutoscaler")]).with(&kinds::horizontalpodautoscalers::V1),
    // discovery, coordination, events
    crud("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", "endpointslice", true, &[], &[], &[])
        .with(&kinds::endpointslices::STRATEGY),
    crud("coordination.k8s.io", "v1", "Lease", "leases", "lease", true, &[], &[], &[]).with(&kinds::leases::STRATEGY),
    crud("events.k8s.io", "v1", "Event", "events", "event", true, &["ev"], &[], &[]).with(&kinds::events::EVENTS_API),
    // rbac.authorization.k8s.io/v1
    crud("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", "clusterrolebinding", false, &[], &[], &[])
        .with(&kinds::rolebindings::STRATEGY),
    crud("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", "clusterrole", false, &[], &[], &[]),
    crud("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", "rolebinding", true, &[], &[], &[])
        .with(&kinds::rolebindings::STRATEGY),
    crud("rbac.authorization.k8s.io", "v1", "Role", "roles", "role", true, &[], &[], &[]),
    // networking.k8s.io/v1
    crud("networking.k8s.io", "v1", "IngressClass", "ingressclasses", "ingressclass", false, &[], &[], &[]),
    crud("networking.k8s.io", "v1", "Ingress", "ingresses", "ingress", true, &["ing"], &[], &[status("Ingress")]),
    crud("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", "networkpolicy", true, &["netpol"], &[], &[]),
    // policy, scheduling, storage, node
    crud("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", "poddisruptionbudget", true, &["pdb"], &[],
        &[status("PodDisruptionBudget")]),
    crud("scheduling.k8s.io", "v1", "PriorityClass", "priorityclasses", "priorityclass", false, &["pc"], &[], &[])
        .with(&kinds::priorityclasses::STRATEGY),
    crud("storage.k8s.io", "v1", "CSIDriver", "csidrivers", "csidriver", false, &[], &[], &[]),
    crud("storage.k8s.io", "v1", "CSINode", "csinodes", "csinode", false, &[], &[], &[]),
    crud("storage.k8s.io", "v1", "StorageClass", "storageclasses", "storageclass", false, &["sc"], &[], &[])
        .with(&kinds::storageclasses::STRATEGY),
    crud("storage.k8s.io", "v1", "VolumeAttachment", "volumeattachments", "volumeattachment", false, &[], &[],
        &[status("VolumeAttachment")]),
    crud("node.k8s.io", "v1", "RuntimeClass", "runtimeclasses", "runtimeclass", false, &[], &[], &[])
        .with(&kinds::runtimeclasses::STRATEGY),
    // apiregistration
    crud("apiregistration.k8s.io", "v1", "APIService", "apiservices", "apiservice", false, &[],
        &["api-extensions"], &[status("APIService")]).with(&kinds::apiservices::STRATEGY),
    // admissionregistration.k8s.io/v1
    crud("admissionregistration.k8s.io", "v1", "MutatingWebhookConfiguration", "mutatingwebhookconfigurations",
        "mutatingwebhookconfiguration", false, &[], &["api-extensions"], &[])
        .with(&kinds::webhookconfigurations::MUTATING),
    crud("admissionregistration.k8s.io", "v1", "ValidatingWebhookConfiguration", "validatingwebhookconfigurations",
        "validatingwebhookconfiguration", false, &[], &["api-extensions"], &[])
        .with(&kinds::webhookconfigurations::VALIDATING),
    // admissionregistration: ValidatingAdmissionPolicies (v1beta1 in 1.28, behind the
    // ValidatingAdmissionPolicy feature gate there; served here without one)
    crud("admissionregistration.k8s.io", "v1beta1", "ValidatingAdmissionPolicy", "validatingadmissionpolicies",
        "validatingadmissionpolicy", false, &[], &["api-extensions"], &[status("ValidatingAdmissionPolicy")])
        .with(&kinds::validatingadmissionpolicies::STRATEGY),
    crud("admissionregistration.k8s.io", "v1beta1", "ValidatingAdmissionPolicyBinding",
        "validatingadmissionpolicybindings", "validatingadmissionpolicybinding", false, &[], &["api-extensions"], &[]),
    // apiextensions
    crud("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions",
        "customresourcedefinition", false, &["crd", "crds"], &["api-extensions"],
        &[status("CustomResourceDefinition")]).with(&kinds::customresourcedefinitions::STRATEGY),
    // certificates, authentication, authorization
    crud("certificates.k8s.io", "v1", "CertificateSigningRequest", "certificatesigningrequests", "certificatesigningrequest",
        false, &["csr"], &[], &[
            Subresource { name: "approval", kind: "CertificateSigningRequest", group_version: None, verbs: GET_PATCH_UPDATE },
            status("CertificateSigningRequest"),
        ]).with(&kinds::certificatesigningrequests::STRATEGY),
    review("authentication.k8s.io", "v1", "SelfSubjectReview", "selfsubjectreviews", "selfsubjectreview", false),
    // Still served in 1.28 (kubectl 1.27 asks for it).
    review("authentication.k8s.io", "v1beta1", "SelfSubjectReview", "selfsubjectreviews", "selfsubjectreview", false),
    review("authentication.k8s.io", "v1", "TokenReview", "tokenreviews", "tokenreview", false),
    review("authorization.k8s.io", "v1", "LocalSubjectAccessReview", "localsubjectaccessreviews", "localsubjectaccessreview", true),
    review("authorization.k8s.io", "v1", "SelfSubjectAccessReview", "selfsubjectaccessreviews", "selfsubjectaccessreview", false),
    review("authorization.k8s.io", "v1", "SelfSubjectRulesReview", "selfsubjectrulesreviews", "selfsubjectrulesreview", false),
    review("authorization.k8s.io", "v1", "SubjectAccessReview", "subjectaccessreviews", "subjectaccessreview", false),
];
