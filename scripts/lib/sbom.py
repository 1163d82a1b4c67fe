#!/usr/bin/env python3
"""SBOMs of a k0rs release binary: SPDX 2.3 JSON and CycloneDX 1.5 JSON.

Which crates: exactly those compiled into the binary, as cargo resolves them for the release's
target and features (`cargo tree -e normal,no-proc-macro --target T -p k0rs`: build scripts,
proc-macros and dev-dependencies run at build time and are not in the binary). What of each:
name, version, declared license and description from `cargo metadata`, the SHA-256 of the
.crate from Cargo.lock, and a PURL. Besides the crates: the image embedded in the binary
(pause), the image k0rs assembles at run time (busybox, from the host's busybox-static), and the
host components k0rs drives (external dependencies, with the Debian package versions the build
was tested with).

Why our own generator: cargo-cyclonedx and cargo-sbom describe crates only; the images and host
components would need a second tool to merge in, and neither selects the no-proc-macro set of
one target in one step. This is ~250 lines over cargo's own resolution, validated in
scripts/release by independent tools (PyPI's cyclonedx-python-lib and spdx-tools).

usage: sbom.py --binary FILE --target TRIPLE --images FILE.json --host FILE.json --out DIR
"""

import argparse
import datetime
import hashlib
import json
import re
import subprocess
import sys
import tomllib
import uuid
from pathlib import Path
from urllib.parse import quote

REPO = Path(__file__).resolve().parents[2]


def run(*args):
    return subprocess.run(args, cwd=REPO, check=True, capture_output=True, text=True).stdout


def compiled_in(target):
    """(name, version) of every package linked into the k0rs binary for `target`."""
    out = run("cargo", "tree", "--locked", "-e", "normal,no-proc-macro", "--target", target,
              "-p", "k0rs", "--prefix", "none", "-f", "{p}")
    packages = set()
    for line in out.splitlines():
        match = re.match(r"^(\S+) v(\S+)", line.strip())
        if match:
            packages.add((match.group(1), match.group(2)))
    return packages


def metadata(target):
    data = json.loads(run("cargo", "metadata", "--locked", "--format-version", "1",
                          "--filter-platform", target))
    return {(p["name"], p["version"]): p for p in data["packages"]}


def lock_checksums():
    lock = tomllib.loads((REPO / "Cargo.lock").read_text())
    return {(p["name"], p["version"]): p.get("checksum") for p in lock["package"]}


def spdx_license(expression):
    """Cargo's license field as an SPDX expression (old `MIT/Apache-2.0` means OR)."""
    if not expression:
        return None
    expression = re.sub(r"\s*/\s*", " OR ", expression.strip())
    return expression


def purl(name, version):
    return f"pkg:cargo/{name}@{quote(version, safe='')}"


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def spdx_id(*parts):
    return "SPDXRef-" + re.sub(r"[^A-Za-z0-9.-]", "-", "-".join(parts))


def crates(target):
    meta, sums = metadata(target), lock_checksums()
    result = []
    for name, version in sorted(compiled_in(target)):
        package = meta[(name, version)]
        from_registry = (package.get("source") or "").startswith("registry+")
        result.append({
            "name": name,
            "version": version,
            "license": spdx_license(package.get("license")),
            "description": (package.get("description") or "").strip(),
            "checksum": sums.get((name, version)),
            "purl": purl(name, version),
            "download": (f"https://crates.io/api/v1/crates/{name}/{version}/download"
                         if from_registry else None),
            "workspace": package.get("source") is None,
        })
    return result


def cyclonedx(k0rs, crate_list, images, host, now, serial):
    def component(c):
        entry = {
            "type": "library", "bom-ref": c["purl"], "name": c["name"], "version": c["version"],
            "purl": c["purl"], "scope": "required",
        }
        if c["description"]:
            entry["description"] = c["description"]
        if c["license"]:
            entry["licenses"] = [{"expression": c["license"]}]
        if c["checksum"]:
            entry["hashes"] = [{"alg": "SHA-256", "content": c["checksum"]}]
        if c["download"]:
            entry["externalReferences"] = [{"type": "distribution", "url": c["download"]}]
        return entry

    components = [component(c) for c in crate_list]
    for image in images:
        components.append({
            "type": "container", "bom-ref": f"image:{image['name']}", "name": image["name"],
            "version": image["version"], "description": image["description"],
            "scope": "required" if image["embedded"] else "optional",
            "hashes": [{"alg": "SHA-256", "content": image["sha256"]}],
            "properties": [{"name": "k0rs:embedded", "value": str(image["embedded"]).lower()}],
        })
    for h in host:
        components.append({
            "type": "application", "bom-ref": f"host:{h['name']}", "name": h["name"],
            "version": h["version"],
            "description": f"host component k0rs runs, not contained in the binary; tested with "
                           f"Debian package {h['package']} {h['version']}",
            "scope": "required" if h["required"] else "optional",
            "purl": f"pkg:deb/debian/{h['package']}@{quote(h['version'], safe='')}?arch=amd64",
            "properties": [{"name": "k0rs:external", "value": "true"}],
        })
    return {
        "$schema": "http://cyclonedx.org/schema/bom-1.5.schema.json",
        "bomFormat": "CycloneDX", "specVersion": "1.5", "serialNumber": f"urn:uuid:{serial}",
        "version": 1,
        "metadata": {
            "timestamp": now,
            "tools": {"components": [{"type": "application", "name": "k0rs scripts/lib/sbom.py",
                                      "version": k0rs["version"]}]},
            "component": {
                "type": "application", "bom-ref": "k0rs", "name": "k0rs",
                "version": k0rs["version"], "licenses": [{"expression": "Apache-2.0"}],
                "hashes": [{"alg": "SHA-256", "content": k0rs["sha256"]}],
                "purl": f"pkg:generic/k0rs@{quote(k0rs['version'], safe='')}",
                "properties": [{"name": "k0rs:target", "value": k0rs["target"]}],
            },
        },
        "components": components,
        "dependencies": [{"ref": "k0rs", "dependsOn": [c["bom-ref"] for c in components]}]
                        + [{"ref": c["bom-ref"], "dependsOn": []} for c in components],
    }


def spdx(k0rs, crate_list, images, host, now, serial):
    root = "SPDXRef-k0rs"
    packages = [{
        "SPDXID": root, "name": "k0rs", "versionInfo": k0rs["version"],
        "downloadLocation": "NOASSERTION", "filesAnalyzed": False,
        "checksums": [{"algorithm": "SHA256", "checksumValue": k0rs["sha256"]}],
        "licenseConcluded": "NOASSERTION", "licenseDeclared": "Apache-2.0",
        "copyrightText": "NOASSERTION", "primaryPackagePurpose": "APPLICATION",
        "comment": f"static executable for {k0rs['target']}",
    }]
    relationships = [{"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES",
                      "relatedSpdxElement": root}]
    for c in crate_list:
        ident = spdx_id("crate", c["name"], c["version"])
        package = {
            "SPDXID": ident, "name": c["name"], "versionInfo": c["version"],
            "downloadLocation": c["download"] or "NOASSERTION", "filesAnalyzed": False,
            "licenseConcluded": "NOASSERTION",
            "licenseDeclared": c["license"] or "NOASSERTION",
            "copyrightText": "NOASSERTION", "primaryPackagePurpose": "LIBRARY",
            "externalRefs": [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl",
                              "referenceLocator": c["purl"]}],
        }
        if c["checksum"]:
            package["checksums"] = [{"algorithm": "SHA256", "checksumValue": c["checksum"]}]
        if c["description"]:
            package["summary"] = c["description"]
        packages.append(package)
        relationships.append({"spdxElementId": root, "relationshipType": "STATIC_LINK",
                              "relatedSpdxElement": ident})
    for image in images:
        ident = spdx_id("image", image["name"], image["version"])
        packages.append({
            "SPDXID": ident, "name": image["name"], "versionInfo": image["version"],
            "downloadLocation": "NOASSERTION", "filesAnalyzed": False,
            "checksums": [{"algorithm": "SHA256", "checksumValue": image["sha256"]}],
            "licenseConcluded": "NOASSERTION", "licenseDeclared": "NOASSERTION",
            "copyrightText": "NOASSERTION", "primaryPackagePurpose": "CONTAINER",
            "comment": image["description"],
        })
        relationships.append({"spdxElementId": root,
                              "relationshipType": "CONTAINS" if image["embedded"] else "GENERATES",
                              "relatedSpdxElement": ident})
    for h in host:
        ident = spdx_id("host", h["name"])
        packages.append({
            "SPDXID": ident, "name": h["package"], "versionInfo": h["version"],
            "downloadLocation": "NOASSERTION", "filesAnalyzed": False,
            "licenseConcluded": "NOASSERTION", "licenseDeclared": "NOASSERTION",
            "copyrightText": "NOASSERTION", "primaryPackagePurpose": "APPLICATION",
            "comment": f"host component ({h['name']}) k0rs runs, not contained in the binary; "
                       f"the version the build was tested with",
            "externalRefs": [{
                "referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl",
                "referenceLocator":
                    f"pkg:deb/debian/{h['package']}@{quote(h['version'], safe='')}?arch=amd64"}],
        })
        if h["required"]:
            relationships.append({"spdxElementId": root, "relationshipType": "DEPENDS_ON",
                                  "relatedSpdxElement": ident})
        else:
            relationships.append({"spdxElementId": ident,
                                  "relationshipType": "OPTIONAL_DEPENDENCY_OF",
                                  "relatedSpdxElement": root})
    return {
        "spdxVersion": "SPDX-2.3", "dataLicense": "CC0-1.0", "SPDXID": "SPDXRef-DOCUMENT",
        "name": f"k0rs-{k0rs['version']}",
        "documentNamespace": f"https://k0rs.invalid/spdx/k0rs-{quote(k0rs['version'], safe='')}"
                             f"-{serial}",
        "creationInfo": {"created": now, "creators": ["Tool: k0rs-scripts-lib-sbom.py"]},
        "documentDescribes": [root],
        "packages": packages, "relationships": relationships,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", required=True)
    parser.add_argument("--version", required=True)
    parser.add_argument("--target", required=True)
    parser.add_argument("--images", required=True, help="JSON list of the images")
    parser.add_argument("--host", required=True, help="JSON list of the host components")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    k0rs = {"version": args.version, "target": args.target, "sha256": sha256_file(args.binary)}
    crate_list = crates(args.target)
    images = json.loads(Path(args.images).read_text())
    host = json.loads(Path(args.host).read_text())
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    serial = str(uuid.uuid4())
    out = Path(args.out)
    (out / "k0rs.spdx.json").write_text(
        json.dumps(spdx(k0rs, crate_list, images, host, now, serial), indent=2) + "\n")
    (out / "k0rs.cdx.json").write_text(
        json.dumps(cyclonedx(k0rs, crate_list, images, host, now, serial), indent=2) + "\n")
    print(f"SBOM: {len(crate_list)} crates, {len(images)} images, {len(host)} host components",
          file=sys.stderr)


if __name__ == "__main__":
    main()
