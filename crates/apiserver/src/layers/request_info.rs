//! The first layer: what a request asks for, as Kubernetes' RequestInfo resolves it, for the
//! layers after it (authorization) and the handlers. A resource path is
//! `/api/v1[/namespaces/<ns>]/<resource>[/<name>[/<subresource>]]` or the same under
//! `/apis/<group>/<version>`; every other path (discovery, OpenAPI, health) is a non-resource
//! request.

use axum::extract::Request;
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;

use crate::http::query::is_watch;

/// What a request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestInfo {
    pub path: String,
    /// Kubernetes' verb: for a resource request get, list, watch, create, update, patch, delete or
    /// deletecollection; else the method in lower case.
    pub verb: String,
    /// The parts of an `/api` or `/apis` path; `None` for any other path, or one with too few or
    /// too many parts to be a Kubernetes path.
    pub api: Option<ApiPath>,
}

impl RequestInfo {
    /// Whether the path names resources (not discovery, not any other path).
    pub fn is_resource_request(&self) -> bool {
        self.api.as_ref().is_some_and(|api| api.resource.is_some())
    }
}

/// Puts the request's [`RequestInfo`] in its extensions.
pub async fn layer(mut request: Request, next: Next) -> Response {
    let info = resolve(request.method(), request.uri());
    request.extensions_mut().insert(info);
    next.run(request).await
}

pub(crate) fn resolve(method: &Method, uri: &axum::http::Uri) -> RequestInfo {
    let path = uri.path();
    let api = match path.strip_prefix("/api/") {
        Some(rest) => parse(true, rest),
        None => path
            .strip_prefix("/apis/")
            .and_then(|rest| parse(false, rest)),
    };
    let verb = match &api {
        Some(ApiPath {
            resource: Some(_),
            name,
            ..
        }) => resource_verb(method, name.is_some(), is_watch(uri)).to_owned(),
        // axum answers HEAD with the GET handler, so it is authorized as the GET it is.
        _ if method == Method::HEAD => "get".to_owned(),
        _ => method.as_str().to_lowercase(),
    };
    RequestInfo {
        path: path.to_owned(),
        verb,
        api,
    }
}

/// Kubernetes' verb for a resource request.
fn resource_verb(method: &Method, named: bool, watch: bool) -> &'static str {
    match (method.as_str(), named) {
        ("GET", _) if watch => "watch",
        ("GET" | "HEAD", true) => "get",
        ("GET" | "HEAD", false) => "list",
        ("POST", _) => "create",
        ("PUT", _) => "update",
        ("PATCH", _) => "patch",
        ("DELETE", true) => "delete",
        ("DELETE", false) => "deletecollection",
        _ => "unknown",
    }
}

/// The parts of an `/api` or `/apis` path.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ApiPath {
    /// Under `/api` (the core group) rather than `/apis`.
    pub core: bool,
    pub group: String,
    pub version: String,
    pub namespace: Option<String>,
    pub resource: Option<String>,
    pub name: Option<String>,
    pub subresource: Option<String>,
    /// The path after `/proxy` of a proxy subresource (`/nodes/<name>/proxy/<path>`), with its
    /// leading `/`.
    pub proxy_path: Option<String>,
}

/// Subresources of a namespace, which `/namespaces/<name>/<x>` means instead of a resource `<x>`.
const NAMESPACE_SUBRESOURCES: [&str; 2] = ["status", "finalize"];

/// The path a proxy subresource passes on: its segments after `/proxy`, with the trailing slash
/// the request had (`…/proxy/dir/` asks for a directory, and relative links in the answer depend
/// on it).
fn proxy_path(segments: &[&str], trailing_slash: bool) -> String {
    let mut path = format!("/{}", segments.join("/"));
    if trailing_slash && !segments.is_empty() {
        path.push('/');
    }
    path
}

/// Parses the path after `/api` (`core` true) or `/apis`. `None` if it has too few or too many
/// parts to be a Kubernetes path.
fn parse(core: bool, rest: &str) -> Option<ApiPath> {
    let trailing_slash = rest.ends_with('/');
    let parts: Vec<&str> = rest.split('/').filter(|p| !p.is_empty()).collect();
    let mut info = ApiPath {
        core,
        ..ApiPath::default()
    };
    let mut parts = parts.as_slice();
    if !core {
        let (group, rest) = parts.split_first()?;
        (*group).clone_into(&mut info.group);
        parts = rest;
    }
    let Some((version, rest)) = parts.split_first() else {
        // `/apis/<group>`: the group itself.
        return (!core).then_some(info);
    };
    (*version).clone_into(&mut info.version);
    parts = rest;
    if parts.first() == Some(&"namespaces")
        && parts.len() >= 3
        && !(parts.len() == 3 && NAMESPACE_SUBRESOURCES.contains(&parts[2]))
    {
        info.namespace = Some(parts[1].to_owned());
        parts = &parts[2..];
    }
    match parts {
        [] => {}
        [resource] => info.resource = Some((*resource).to_owned()),
        [resource, name] => {
            info.resource = Some((*resource).to_owned());
            info.name = Some((*name).to_owned());
        }
        // Only proxy subresources take a path of their own.
        [resource, name, "proxy", tail @ ..] => {
            info.resource = Some((*resource).to_owned());
            info.name = Some((*name).to_owned());
            info.subresource = Some("proxy".to_owned());
            info.proxy_path = Some(proxy_path(tail, trailing_slash));
        }
        [resource, name, subresource] => {
            info.resource = Some((*resource).to_owned());
            info.name = Some((*name).to_owned());
            info.subresource = Some((*subresource).to_owned());
        }
        _ => return None,
    }
    Some(info)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(
        group: &str,
        ns: Option<&str>,
        resource: Option<&str>,
        name: Option<&str>,
        sub: Option<&str>,
    ) -> ApiPath {
        ApiPath {
            core: group.is_empty(),
            group: group.into(),
            version: "v1".into(),
            namespace: ns.map(Into::into),
            resource: resource.map(Into::into),
            name: name.map(Into::into),
            subresource: sub.map(Into::into),
            proxy_path: None,
        }
    }

    #[test]
    fn proxy_subresources_keep_their_path() {
        let mut expected = info("", None, Some("nodes"), Some("n1"), Some("proxy"));
        expected.proxy_path = Some("/stats/summary".into());
        assert_eq!(
            parse(true, "/v1/nodes/n1/proxy/stats/summary"),
            Some(expected)
        );
        assert_eq!(parse(true, "/v1/nodes/n1/status/x"), None);
        let proxied = |path| parse(true, path).and_then(|i| i.proxy_path);
        assert_eq!(
            proxied("/v1/namespaces/d/services/http:web:80/proxy/"),
            Some("/".into())
        );
        assert_eq!(
            proxied("/v1/namespaces/d/pods/p/proxy/dir/"),
            Some("/dir/".into())
        );
        assert_eq!(proxied("/v1/namespaces/d/pods/p/proxy"), Some("/".into()));
    }

    #[test]
    fn paths_resolve_as_in_kubernetes() {
        assert_eq!(
            parse(true, "/v1/pods"),
            Some(info("", None, Some("pods"), None, None))
        );
        assert_eq!(
            parse(true, "/v1/namespaces/default/pods/p/log"),
            Some(info(
                "",
                Some("default"),
                Some("pods"),
                Some("p"),
                Some("log")
            ))
        );
        assert_eq!(
            parse(true, "/v1/namespaces/default"),
            Some(info("", None, Some("namespaces"), Some("default"), None))
        );
        assert_eq!(
            parse(true, "/v1/namespaces/default/status"),
            Some(info(
                "",
                None,
                Some("namespaces"),
                Some("default"),
                Some("status")
            ))
        );
        assert_eq!(
            parse(true, "/v1/namespaces/default/configmaps"),
            Some(info("", Some("default"), Some("configmaps"), None, None))
        );
        assert_eq!(
            parse(false, "/apps/v1/namespaces/x/deployments/d/scale"),
            Some(info(
                "apps",
                Some("x"),
                Some("deployments"),
                Some("d"),
                Some("scale")
            ))
        );
        assert_eq!(
            parse(false, "/apps").map(|i| i.version),
            Some(String::new())
        );
        assert_eq!(parse(true, "/v1/a/b/c/d"), None);
    }

    #[test]
    fn verbs_follow_method_name_and_watch() {
        let get = |uri: &str| resolve(&Method::GET, &uri.parse().unwrap());
        assert_eq!(get("/api/v1/namespaces/d/pods").verb, "list");
        assert_eq!(get("/api/v1/namespaces/d/pods/p").verb, "get");
        assert_eq!(get("/api/v1/pods?watch=true").verb, "watch");
        assert!(get("/api/v1/pods").is_resource_request());
        let delete = resolve(
            &Method::DELETE,
            &"/apis/apps/v1/deployments".parse().unwrap(),
        );
        assert_eq!(delete.verb, "deletecollection");
        // Discovery and every other path are non-resource requests: the method is the verb.
        let discovery = get("/apis/apps/v1");
        assert!(!discovery.is_resource_request());
        assert_eq!(discovery.verb, "get");
        let post = resolve(&Method::POST, &"/logs".parse().unwrap());
        assert_eq!((post.verb.as_str(), post.api), ("post", None));
    }
}
