#!/usr/bin/env python3
"""Generates crates/api/src/protobuf/schema.txt: the protobuf messages of the Kubernetes API
(field numbers and wire types, from the prost code of the `k8s-pb` crate) with each field's JSON
name (from the serde code of `k8s-openapi`, feature v1_28). Run it when either crate changes:

    scripts/gen/protobuf-schema.py ~/.cargo/registry/src/*/k8s-pb-0.9.0 \
        ~/.cargo/registry/src/*/k8s-openapi-0.24.0 > crates/api/src/protobuf/schema.txt

Output, one line each:  M <package>.<Message>  /  F <tag> <json> <label> <kind> [<message>]
with label `one`, `list` or `map` (maps have string keys) and kind a protobuf scalar or `message`.

With a third argument, also writes the descriptions of messages and fields (the Go doc comments
k8s-pb carries) to that file, gzipped, for OpenAPI:  S <message> <text>  /  D <message> <json> <text>
with newlines in the text written as \\n.
"""
import gzip
import os
import re
import sys

PB, OPENAPI = sys.argv[1], sys.argv[2]

ATTR = re.compile(r'#\[prost\((.*)\)\]')
FIELD = re.compile(r'pub (r#)?(\w+):\s*(.*)', re.S)
STRUCT = re.compile(r'pub struct (\w+) \{')


CANONICAL = {}


def canonical(full):
    """A message named as Kubernetes names its type (k8s-pb lowers acronyms: CsiDriver, HttpGetAction)."""
    package, _, name = full.rpartition(".")
    return f"{package}.{CANONICAL.get((package, name.lower()), name)}"


def json_names():
    """(package, struct, snake field) -> JSON name, from k8s-openapi's Deserialize impls."""
    names = {}
    root = os.path.join(OPENAPI, "src", "v1_28")
    key = re.compile(r'"([^"]+)" => Field::Key_(\w+),')
    for directory, _, files in os.walk(root):
        package = os.path.relpath(directory, root).replace(os.sep, ".")
        for file in files:
            if not file.endswith(".rs") or file == "mod.rs":
                continue
            text = open(os.path.join(directory, file)).read()
            struct = re.search(r'pub struct (\w+)', text)
            if not struct:
                continue
            CANONICAL[(package, struct.group(1).lower())] = struct.group(1)
            for json_name, snake in key.findall(text):
                # Struct names differ in acronym case between the crates (CephFS / CephFs).
                names[(package, struct.group(1).lower(), squash(snake))] = json_name
    return names


def squash(snake):
    """A snake name without its underscores: the crates split acronyms differently
    (open_api_v3_schema / open_apiv3_schema)."""
    return snake.replace("_", "")


# Go JSON names with acronyms that camelCasing a snake name cannot recover, for the messages that
# k8s-openapi flattens away (VolumeSource into Volume, PersistentVolumeSource into its spec).
ACRONYMS = {"downwardApi": "downwardAPI", "scaleIo": "scaleIO"}


def camel(snake):
    head, *rest = snake.split("_")
    name = head + "".join(p[:1].upper() + p[1:] for p in rest)
    return ACRONYMS.get(name, name)


def resolve(package, rust_type):
    """The full message name a Rust type path names, relative to `package`."""
    path = re.sub(r'\s+', '', rust_type)
    for wrapper in ("::core::option::Option<", "::prost::alloc::vec::Vec<",
                    "::prost::alloc::boxed::Box<"):
        path = path.replace(wrapper, "")
    if path.startswith("::prost::alloc::collections::BTreeMap<"):
        path = path.split(",", 1)[1]
    path = path.rstrip(">,")
    parts = package.split(".")
    segments = path.split("::")
    while segments and segments[0] == "super":
        segments.pop(0)
        parts.pop()
    return ".".join(parts + segments)


def clean(lines):
    """A doc comment as OpenAPI describes: no `+marker` lines, URLs without prost's <brackets>."""
    kept = [re.sub(r"<(https?://[^>]+)>", r"\1", l) for l in lines if not l.startswith("+")]
    # Lines of a paragraph join with spaces; paragraphs stay apart (as Kubernetes' OpenAPI has it).
    paragraphs = "\n".join(kept).strip().split("\n\n")
    return "\n\n".join(" ".join(p.split("\n")) for p in paragraphs)


def struct_doc(text, start):
    """The doc comment above the struct starting at `start` (above its attributes)."""
    lines = text[:start].rstrip("\n").split("\n")
    doc = []
    for line in reversed(lines):
        line = line.strip()
        if line.startswith("#["):
            continue
        if not line.startswith("///"):
            break
        doc.append(line[3:].strip())
    return clean(list(reversed(doc)))


def parse_messages(names):
    """Every message of k8s-pb: full name -> [(tag, json name, label, kind, target, snake)]."""
    messages = {}
    root = os.path.join(PB, "src")
    for directory, _, files in sorted(os.walk(root)):
        if "mod.rs" not in files:
            continue
        package = os.path.relpath(directory, root).replace(os.sep, ".")
        text = open(os.path.join(directory, "mod.rs")).read()
        for struct in STRUCT.finditer(text):
            name = struct.group(1)
            body_start = struct.end()
            # rustfmt closes a struct with `}` alone on a line (doc comments may hold braces).
            body = text[body_start:text.find("\n}\n", body_start)]
            fields, pending, doc = [], None, []
            for line in body.split("\n"):
                line = line.strip()
                if line.startswith("///") and pending is None:
                    doc.append(line[3:].strip())
                    continue
                attr = ATTR.match(line)
                if attr:
                    pending = [attr.group(1), "", clean(doc)]
                    doc = []
                    continue
                if pending is None or line.startswith("///") or not line:
                    continue
                pending[1] += " " + line
                decl = pending[1].rstrip()
                if not decl.endswith(",") or decl.count("<") != decl.count(">"):
                    continue
                spec, decl, field_doc = pending
                pending = None
                field = FIELD.search(decl)
                snake = field.group(2)
                tag = re.search(r'tag = "(\d+)"', spec).group(1)
                json_name = names.get((package, name.lower(), squash(snake)))
                kind = spec.split(",")[0].strip()
                if kind.startswith("btree_map"):
                    label = "map"
                    kind = re.search(r'btree_map = "string, (\w+)"', spec).group(1)
                else:
                    label = "list" if "repeated" in spec else "one"
                kind = kind.split(" ")[0]
                target = resolve(package, field.group(3)) if kind == "message" else None
                fields.append([tag, json_name, label, kind, target, snake, field_doc])
            messages[f"{package}.{name}"] = (package, name, fields, struct_doc(text, struct.start()))
    return messages


def main():
    names = json_names()
    known = {(package, struct) for package, struct, _ in names}
    json_fields = {}
    for (package, struct, _), json_name in names.items():
        json_fields.setdefault((package, struct), set()).add(json_name)
    messages = parse_messages(names)
    out, unmatched = [], 0
    docs = []
    for full, (package, name, fields, message_doc) in messages.items():
        full = canonical(full)
        out.append(f"M {full}")
        if message_doc:
            docs.append(f"S {full} " + message_doc.replace("\n", "\\n"))
        for tag, json_name, label, kind, target, snake, field_doc in fields:
            if json_name is None:
                json_name = camel(snake)
                unmatched += 1
                # Go's embedded structs (`json:",inline"`) are a nested message in protobuf but
                # inline in JSON: a field 1.28's JSON lacks, whose message's fields (most of
                # them; newer releases add some) it has.
                parent = json_fields.get((package, name.lower()), set())
                inner = [f[1] or camel(f[5]) for f in messages.get(target, (None, None, [], ""))[2]]
                shared = [n for n in inner if n in parent]
                if kind == "message" and label == "one" and (package, name.lower()) in known \
                        and inner \
                        and 2 * len(shared) >= len(inner):
                    label = "inline"
                elif os.environ.get("VERBOSE"):
                    print(f"unmatched {full}.{snake}", file=sys.stderr)
            line = f"F {tag} {json_name} {label} {kind}"
            if target:
                line += " " + canonical(target)
            out.append(line)
            if field_doc and label != "inline":
                docs.append(f"D {full} {json_name} " + field_doc.replace("\n", "\\n"))
    print("\n".join(out))
    if len(sys.argv) > 3:
        with gzip.open(sys.argv[3], "wt", compresslevel=9) as f:
            f.write("\n".join(docs) + "\n")
    print(f"{unmatched} fields without a k8s-openapi JSON name (camelCased)", file=sys.stderr)


main()
