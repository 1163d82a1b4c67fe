//! What a resource path designates, as Kubernetes' RequestInfo resolves it:
//! `/api/v1[/namespaces/<ns>]/<resource>[/<name>[/<subresource>]]` and the same under
//! `/apis/<group>/<version>`.

/// The parts of a resource request path.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RequestInfo {
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

/// Parses the path after `/api` (`core` true) or `/apis`. `None` if it has too few or too many
/// parts to be a Kubernetes path.
pub fn parse(core: bool, rest: &str) -> Option<RequestInfo> {
    let parts: Vec<&str> = rest.split('/').filter(|p| !p.is_empty()).collect();
    let mut info = RequestInfo::default();
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
        [resource, name, subresource] => {
            info.resource = Some((*resource).to_owned());
            info.name = Some((*name).to_owned());
            info.subresource = Some((*subresource).to_owned());
        }
        // Only proxy subresources take a path of their own.
        [resource, name, "proxy", rest @ ..] => {
            info.resource = Some((*resource).to_owned());
            info.name = Some((*name).to_owned());
            info.subresource = Some("proxy".to_owned());
            info.proxy_path = Some(format!("/{}", rest.join("/")));
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
    ) -> RequestInfo {
        RequestInfo {
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
}
