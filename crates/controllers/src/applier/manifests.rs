//! A stack's files as objects to apply: every `*.yaml`, `*.yml` and `*.json` directly in the
//! stack's directory (hidden files aside), each holding one or more YAML documents (JSON is YAML
//! too), a `kind: List` standing for its items. Each object is labelled with its stack and
//! annotated with the checksum of what its file says, as k0s does.
//!
//! A file that cannot be read or parsed, or that holds something that is not an object, is
//! *broken*: none of its objects is applied, the other files of the stack still are.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value};
use sha2::Digest as _;

use super::{CHECKSUM_ANNOTATION, STACK_LABEL};

/// The manifest files of one stack directory, by file name, as read in one scan.
pub type Files = BTreeMap<String, Vec<u8>>;

/// One object of a stack, ready to apply.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    /// The file it comes from (its name in the stack's directory).
    pub file: String,
    pub id: ObjectId,
    /// `apiVersion`'s version (`v1` of `apps/v1`).
    pub version: String,
    /// The object as its file gives it, with the stack label and the checksum annotation.
    pub object: Value,
    pub checksum: String,
}

/// What names an object across versions: group, kind, namespace as written (none when the file
/// gives none) and name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectId {
    pub group: String,
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
}

impl std::fmt::Display for ObjectId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = if self.group.is_empty() {
            self.kind.clone()
        } else {
            format!("{}.{}", self.kind, self.group)
        };
        match &self.namespace {
            Some(namespace) => write!(f, "{kind} {namespace}/{}", self.name),
            None => write!(f, "{kind} {}", self.name),
        }
    }
}

/// A file none of whose objects is applied, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broken {
    pub file: String,
    pub error: String,
}

/// A stack's objects and its broken files.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stack {
    pub manifests: Vec<Manifest>,
    pub broken: Vec<Broken>,
}

/// Whether `name` is a manifest file of a stack: the extension, and not hidden (editors keep
/// their swap and lock files hidden).
pub fn is_manifest_file(name: &str) -> bool {
    !name.starts_with('.')
        && Path::new(name)
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e, "yaml" | "yml" | "json"))
}

/// The manifest files directly in `dir`, read whole. Subdirectories are not stacks of their own
/// (k0s applies only the files of the stack's directory).
pub fn read_files(dir: &Path) -> std::io::Result<Files> {
    let mut files = Files::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        // Follows symlinks: a stack may link its files from elsewhere.
        if !is_manifest_file(&name) || !entry.path().is_file() {
            continue;
        }
        // A file removed between the listing and the read is simply not there.
        match std::fs::read(entry.path()) {
            Ok(bytes) => {
                files.insert(name, bytes);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(files)
}

/// The objects of stack `stack` from its files.
pub fn parse_stack(stack: &str, files: &Files) -> Stack {
    let mut parsed = Stack::default();
    for (file, bytes) in files {
        match parse_file(stack, file, bytes) {
            Ok(manifests) => parsed.manifests.extend(manifests),
            Err(error) => parsed.broken.push(Broken {
                file: file.clone(),
                error,
            }),
        }
    }
    parsed
}

/// Every object of one file, or why the file is broken.
fn parse_file(stack: &str, file: &str, bytes: &[u8]) -> Result<Vec<Manifest>, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| format!("not UTF-8 text: {e}"))?;
    let mut manifests = Vec::new();
    for (n, document) in serde_yaml_ng::Deserializer::from_str(text).enumerate() {
        let at = |error: String| format!("document {}: {error}", n + 1);
        let value: Value = serde::Deserialize::deserialize(document)
            .map_err(|e| at(format!("not YAML or JSON: {e}")))?;
        for object in flatten(value).map_err(at)? {
            manifests.push(manifest(stack, file, object).map_err(at)?);
        }
    }
    Ok(manifests)
}

/// The objects of one document: none for an empty one, the items of a `List`.
fn flatten(value: Value) -> Result<Vec<Value>, String> {
    match value {
        Value::Null => Ok(Vec::new()),
        Value::Object(map) if map.get("kind").and_then(Value::as_str) == Some("List") => {
            match map.get("items") {
                Some(Value::Array(items)) => Ok(items.clone()),
                None | Some(Value::Null) => Ok(Vec::new()),
                Some(_) => Err("a List's items must be a list".to_owned()),
            }
        }
        Value::Object(_) => Ok(vec![value]),
        other => Err(format!(
            "expected an object with apiVersion and kind, found {}",
            kind_of(&other)
        )),
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// One object checked for what applying it needs, labelled and annotated.
fn manifest(stack: &str, file: &str, mut object: Value) -> Result<Manifest, String> {
    let field = |name: &str| {
        object
            .get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let api_version = field("apiVersion").ok_or("the object has no apiVersion")?;
    let kind = field("kind").ok_or("the object has no kind")?;
    let metadata = object
        .get("metadata")
        .and_then(Value::as_object)
        .ok_or_else(|| format!("the {kind} has no metadata"))?;
    // Server-side apply names its object: generateName cannot be applied.
    let name = metadata
        .get("name")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| format!("the {kind} has no metadata.name"))?
        .to_owned();
    let namespace = metadata
        .get("namespace")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    let (group, version) = match api_version.split_once('/') {
        Some((group, version)) => (group.to_owned(), version.to_owned()),
        None => (String::new(), api_version.clone()),
    };
    let checksum = checksum(&object);
    let metadata = object["metadata"]
        .as_object_mut()
        .expect("checked to be an object");
    set(metadata, "labels", STACK_LABEL, stack)?;
    set(metadata, "annotations", CHECKSUM_ANNOTATION, &checksum)?;
    Ok(Manifest {
        file: file.to_owned(),
        id: ObjectId {
            group,
            kind,
            namespace,
            name,
        },
        version,
        object,
        checksum,
    })
}

/// Sets `metadata.<map>.<key>`, making the map if the file has none.
fn set(metadata: &mut Map<String, Value>, map: &str, key: &str, value: &str) -> Result<(), String> {
    let entry = metadata
        .entry(map)
        .or_insert_with(|| Value::Object(Map::new()));
    if entry.is_null() {
        *entry = Value::Object(Map::new());
    }
    let Some(entries) = entry.as_object_mut() else {
        return Err(format!("metadata.{map} must be a map"));
    };
    entries.insert(key.to_owned(), Value::String(value.to_owned()));
    Ok(())
}

/// The checksum of an object as its file gives it (SHA-256 of its JSON with sorted keys, in
/// hex). Equal content gives an equal checksum whatever the file's formatting or key order, so
/// reformatting a file re-applies nothing.
fn checksum(object: &Value) -> String {
    let mut canonical = String::new();
    write_canonical(object, &mut canonical);
    let digest = sha2::Sha256::digest(canonical.as_bytes());
    digest.iter().fold(String::with_capacity(64), |mut hex, b| {
        use std::fmt::Write as _;
        let _ = write!(hex, "{b:02x}");
        hex
    })
}

/// JSON with the keys of every map sorted (serde_json keeps a map's insertion order when a
/// crate in the build asks for `preserve_order`).
fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (n, key) in keys.into_iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(&map[key], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (n, item) in items.iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// Whether `name` can be a label value (Kubernetes: at most 63 characters, alphanumeric at both
/// ends, `-`, `_` and `.` between): the stack's name becomes one.
pub fn valid_stack_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(entries: &[(&str, &str)]) -> Files {
        entries
            .iter()
            .map(|(name, text)| ((*name).to_owned(), text.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn documents_lists_and_json_become_labelled_objects() {
        let stack = parse_stack(
            "demo",
            &files(&[
                (
                    "a.yaml",
                    "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: demo\n---\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: demo\n  labels: {app: web}\n",
                ),
                (
                    "b.json",
                    r#"{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c","annotations":null}}]}"#,
                ),
            ]),
        );
        assert_eq!(stack.broken, []);
        let ids: Vec<String> = stack.manifests.iter().map(|m| m.id.to_string()).collect();
        assert_eq!(
            ids,
            ["Namespace demo", "Deployment.apps demo/web", "ConfigMap c"]
        );
        let web = &stack.manifests[1];
        assert_eq!(web.version, "v1");
        assert_eq!(web.object["metadata"]["labels"]["app"], "web");
        assert_eq!(web.object["metadata"]["labels"][STACK_LABEL], "demo");
        assert_eq!(
            web.object["metadata"]["annotations"][CHECKSUM_ANNOTATION],
            web.checksum.as_str()
        );
        assert_eq!(web.checksum.len(), 64);
        assert_eq!(
            stack.manifests[2].object["metadata"]["annotations"][CHECKSUM_ANNOTATION],
            stack.manifests[2].checksum.as_str()
        );
    }

    #[test]
    fn the_checksum_follows_the_content_not_the_formatting() {
        let a = parse_stack(
            "s",
            &files(&[(
                "a.yaml",
                "kind: ConfigMap\napiVersion: v1\nmetadata: {name: c}\ndata: {k: v}\n",
            )]),
        );
        let b = parse_stack(
            "s",
            &files(&[(
                "a.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  k: v\n",
            )]),
        );
        let c = parse_stack(
            "s",
            &files(&[(
                "a.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  k: w\n",
            )]),
        );
        assert_eq!(a.manifests[0].checksum, b.manifests[0].checksum);
        assert_ne!(a.manifests[0].checksum, c.manifests[0].checksum);
    }

    #[test]
    fn a_broken_file_is_reported_and_the_others_still_count() {
        let stack = parse_stack(
            "s",
            &files(&[
                (
                    "bad.yaml",
                    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: [oops\n",
                ),
                (
                    "good.yaml",
                    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n",
                ),
                (
                    "nameless.yml",
                    "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n",
                ),
                (
                    "scalar.yaml",
                    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n---\n42\n",
                ),
            ]),
        );
        assert_eq!(stack.manifests.len(), 1);
        assert_eq!(stack.manifests[0].id.name, "ok");
        let broken: Vec<(&str, &str)> = stack
            .broken
            .iter()
            .map(|b| (b.file.as_str(), b.error.as_str()))
            .collect();
        assert_eq!(broken.len(), 3, "{broken:?}");
        assert_eq!(broken[0].0, "bad.yaml");
        assert!(
            broken[0].1.starts_with("document 1: not YAML or JSON"),
            "{broken:?}"
        );
        assert_eq!(
            broken[1],
            (
                "nameless.yml",
                "document 1: the ConfigMap has no metadata.name"
            )
        );
        assert_eq!(
            broken[2],
            (
                "scalar.yaml",
                "document 2: expected an object with apiVersion and kind, found a number"
            )
        );
    }

    #[test]
    fn manifest_files_are_the_three_extensions_and_not_hidden() {
        assert!(is_manifest_file("a.yaml"));
        assert!(is_manifest_file("a.yml"));
        assert!(is_manifest_file("a.json"));
        assert!(!is_manifest_file(".a.yaml"));
        assert!(!is_manifest_file("a.yaml.swp"));
        assert!(!is_manifest_file("README.md"));
    }

    #[test]
    fn stack_names_must_be_label_values() {
        assert!(valid_stack_name("my-stack_1.0"));
        assert!(!valid_stack_name("my stack"));
        assert!(!valid_stack_name("-x"));
        assert!(!valid_stack_name(&"x".repeat(64)));
    }
}
