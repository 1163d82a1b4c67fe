//! What each kind adds to the generic registry, one file per kind (Kubernetes keeps a strategy per
//! resource): its defaults, what a create sets and an update keeps, its validation, its table
//! columns, the fields a field selector may name, and how its objects are stored and deleted. The
//! row of the resource table points at its kind's [`Strategy`]; kinds without rules of their own
//! (and custom resources) have [`DEFAULT`].

pub(crate) mod apiservices;
pub(crate) mod certificatesigningrequests;
pub(crate) mod componentstatuses;
pub(crate) mod configmaps;
pub(crate) mod cronjobs;
pub(crate) mod customresourcedefinitions;
pub(crate) mod daemonsets;
pub(crate) mod deployments;
pub(crate) mod endpoints;
pub(crate) mod endpointslices;
pub(crate) mod events;
pub(crate) mod horizontalpodautoscalers;
pub(crate) mod jobs;
pub(crate) mod leases;
pub(crate) mod namespaces;
pub(crate) mod nodes;
pub(crate) mod persistentvolumeclaims;
pub(crate) mod persistentvolumes;
pub(crate) mod pods;
pub(crate) mod podtemplates;
pub(crate) mod priorityclasses;
pub(crate) mod replicasets;
pub(crate) mod replicationcontrollers;
pub(crate) mod rolebindings;
pub(crate) mod runtimeclasses;
pub(crate) mod secrets;
pub(crate) mod serviceaccounts;
pub(crate) mod services;
pub(crate) mod statefulsets;
pub(crate) mod storageclasses;
pub(crate) mod validatingadmissionpolicies;
pub(crate) mod webhookconfigurations;

use k0rs_api::{SelectableField, Status};
use serde_json::Value;

use crate::columns::{AGE, Column, NAME};
use crate::deletion::DeleteOptions;
use crate::table::Resource;
use crate::validation::Errors;

/// The rules of one kind. Every field has a do-nothing value in [`Strategy::DEFAULT`], which a
/// kind's file starts from (`..Strategy::DEFAULT`).
pub struct Strategy {
    /// Defaults of the fields an author left out, applied on every create and update.
    pub defaults: fn(&mut Value),
    /// What a create sets besides the defaults (once the status is reset).
    pub prepare_for_create: fn(&mut Value),
    /// Whether a create keeps the status its author wrote: a Node's is what its kubelet
    /// registers. Other kinds with a status subresource start without one.
    pub create_keeps_status: bool,
    /// What an update of the object itself (not a subresource) keeps as `stored` has it,
    /// besides the status.
    pub keep_on_update: fn(stored: &Value, object: &mut Value),
    /// The checks beyond the metadata's; every problem goes into `errors`.
    pub validate: fn(object: &Value, errors: &mut Errors),
    /// Whether names are DNS labels (no dots) rather than DNS subdomains.
    pub label_names: bool,
    /// The fields a field selector may name besides `metadata.name` and `metadata.namespace`,
    /// and where their values are read.
    pub selectable_fields: &'static [SelectableField],
    /// The columns of table output, as kubectl shows them.
    pub columns: fn() -> Vec<Column>,
    /// How the kind is stored when it is stored as another version of itself.
    pub conversion: Option<Conversion>,
    pub deletion: Deletion,
    /// Objects go an hour after their last write (Events: kube-apiserver's `--event-ttl`).
    pub expires: bool,
    /// Objects hold ClusterIPs and NodePorts, reserved in the store (Services).
    pub holds_service_addresses: bool,
    /// Objects define resources the registry serves (CustomResourceDefinitions).
    pub defines_resources: bool,
    /// Objects with a spec count its changes in `metadata.generation` (all but Pods).
    pub counts_generation: bool,
}

/// A version stored as another version of the same kind.
pub struct Conversion {
    /// The resource whose storage the version shares.
    pub storage: fn() -> &'static Resource,
    /// An object of this version in the stored form (but for its `apiVersion`).
    pub to_storage: fn(&mut Value),
    /// A stored object in the form of this version (but for `apiVersion` and `kind`).
    pub from_storage: fn(&mut Value),
}

/// How objects of a kind are deleted.
pub struct Deletion {
    /// 403 for the delete of an object named so (the namespaces the control plane needs).
    pub refuse: fn(name: &str) -> Result<(), Status>,
    /// Whether something besides `metadata.finalizers` holds a deleted object (a namespace's
    /// `spec.finalizers`).
    pub held: fn(&Value) -> bool,
    /// What marking an object as being deleted sets besides the deletion timestamp.
    pub mark: fn(&mut Value),
    /// The grace period a delete with these options gives the object before it goes; `None`:
    /// at once (the grace a running pod gets to stop).
    pub grace_period: fn(&Value, &DeleteOptions) -> Option<i64>,
}

impl Deletion {
    /// Any object may be deleted, at once, held by its finalizers only.
    pub const IMMEDIATE: Self = Self {
        refuse: |_| Ok(()),
        held: |_| false,
        mark: |_| {},
        grace_period: |_, _| None,
    };
}

impl Strategy {
    /// No rules: NAME and AGE columns, selectable by name and namespace.
    pub const DEFAULT: Self = Self {
        defaults: |_| {},
        prepare_for_create: |_| {},
        create_keeps_status: false,
        keep_on_update: |_, _| {},
        validate: |_, _| {},
        label_names: false,
        selectable_fields: &[],
        columns: || named(Vec::new()),
        conversion: None,
        deletion: Deletion::IMMEDIATE,
        expires: false,
        holds_service_addresses: false,
        defines_resources: false,
        counts_generation: true,
    };
}

/// The strategy of the kinds without rules of their own, and of custom resources.
pub static DEFAULT: Strategy = Strategy::DEFAULT;

/// A strategy is its kind's: two are the same only if they are one.
impl PartialEq for Strategy {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other)
    }
}

impl Eq for Strategy {}

impl std::fmt::Debug for Strategy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Strategy").finish_non_exhaustive()
    }
}

/// Applies `defaults` to the object's spec, when it has one.
pub(crate) fn on_spec(object: &mut Value, defaults: impl FnOnce(&mut Value)) {
    if let Some(spec) = object.get_mut("spec") {
        defaults(spec);
    }
}

/// NAME, the columns of `middle`, AGE.
pub(crate) fn named(middle: Vec<Column>) -> Vec<Column> {
    let mut columns = vec![NAME];
    columns.extend(middle);
    columns.push(AGE);
    columns
}
