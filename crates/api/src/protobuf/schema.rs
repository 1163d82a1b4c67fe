//! The generated schema (`schema.txt`), read once: for each message, its fields by number.

use std::collections::HashMap;
use std::sync::OnceLock;

const SCHEMA: &str = include_str!("schema.txt");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Label {
    One,
    List,
    /// String keys; the kind is the values'.
    Map,
    /// A Go embedded struct: its fields belong to the enclosing JSON object.
    Inline,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    String,
    Bytes,
    Bool,
    Int32,
    Int64,
    Double,
    Message,
}

#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub json: &'static str,
    pub label: Label,
    pub kind: Kind,
    /// The message a `Message` field holds.
    pub target: Option<&'static str>,
}

pub struct Schema {
    messages: HashMap<&'static str, HashMap<u32, Field>>,
}

impl Schema {
    pub fn field(&self, message: &str, tag: u32) -> Option<&Field> {
        self.messages.get(message)?.get(&tag)
    }

    /// Every field of `message`.
    pub fn fields(&self, message: &str) -> impl Iterator<Item = &Field> {
        self.messages
            .get(message)
            .into_iter()
            .flat_map(HashMap::values)
    }

    /// The schema's own name for `message`, if it has the message.
    pub fn message_key(&self, message: &str) -> Option<&'static str> {
        self.messages.get_key_value(message).map(|(k, _)| *k)
    }
}

pub fn get() -> &'static Schema {
    static SCHEMA_CELL: OnceLock<Schema> = OnceLock::new();
    SCHEMA_CELL.get_or_init(|| parse(SCHEMA))
}

fn parse(text: &'static str) -> Schema {
    let mut messages: HashMap<&'static str, HashMap<u32, Field>> = HashMap::new();
    let mut current = None;
    for line in text.lines() {
        let parts: Vec<&'static str> = line.split(' ').collect();
        match parts.as_slice() {
            ["M", name] => {
                messages.entry(name).or_default();
                current = Some(*name);
            }
            ["F", tag, json, label, kind, rest @ ..] => {
                let (Some(message), Ok(tag)) = (current, tag.parse()) else {
                    continue;
                };
                let field = Field {
                    json,
                    label: match *label {
                        "list" => Label::List,
                        "map" => Label::Map,
                        "inline" => Label::Inline,
                        _ => Label::One,
                    },
                    kind: match *kind {
                        "string" => Kind::String,
                        "bytes" => Kind::Bytes,
                        "bool" => Kind::Bool,
                        "int32" => Kind::Int32,
                        "int64" => Kind::Int64,
                        "double" => Kind::Double,
                        _ => Kind::Message,
                    },
                    target: rest.first().copied(),
                };
                messages.entry(message).or_default().insert(tag, field);
            }
            _ => {}
        }
    }
    Schema { messages }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generated_schema_knows_core_kinds_with_their_json_names() {
        let schema = get();
        let pod_ip = schema.field("api.core.v1.PodStatus", 6).unwrap();
        assert_eq!(pod_ip.json, "podIP");
        let metadata = schema.field("api.core.v1.ConfigMap", 1).unwrap();
        assert_eq!(
            metadata.target,
            Some("apimachinery.pkg.apis.meta.v1.ObjectMeta")
        );
        let volume_source = schema.field("api.core.v1.Volume", 2).unwrap();
        assert_eq!(volume_source.label, Label::Inline);
        assert!(schema.message_key("api.apps.v1.Deployment").is_some());
    }
}
