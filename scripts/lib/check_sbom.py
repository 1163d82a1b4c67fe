#!/usr/bin/env python3
"""Checks a release's SBOMs with tools that are not ours, and against the binary itself.

1. The CycloneDX document against the CycloneDX 1.5 JSON schema (PyPI's cyclonedx-python-lib,
   strict validator).
2. The SPDX document with PyPI's spdx-tools (parse, then validate against SPDX 2.3).
3. Completeness, from the binary rather than from cargo: every crate whose sources the binary
   names (the registry paths its panic locations carry) is listed in both SBOMs with that
   version; and every listed crate is in Cargo.lock with the same SHA-256.

usage: check_sbom.py --binary FILE --cdx FILE --spdx FILE --lock Cargo.lock
Exits non-zero, naming each problem, when any check fails.
"""

import argparse
import json
import re
import sys
import tomllib
from pathlib import Path


def fail(problems, what):
    problems.append(what)
    print(f"  FAIL {what}", file=sys.stderr)


def check_cyclonedx(path, problems):
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    error = JsonStrictValidator(SchemaVersion.V1_5).validate_str(Path(path).read_text())
    if error is not None:
        fail(problems, f"{path}: CycloneDX 1.5 schema: {error}")
    else:
        print(f"  ok   {path}: valid CycloneDX 1.5 (cyclonedx-python-lib)", file=sys.stderr)


def check_spdx(path, problems):
    from spdx_tools.spdx.parser.parse_anything import parse_file
    from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

    document = parse_file(str(path))
    messages = validate_full_spdx_document(document, "SPDX-2.3")
    for message in messages[:20]:
        fail(problems, f"{path}: SPDX 2.3: {message.validation_message}")
    if not messages:
        print(f"  ok   {path}: valid SPDX 2.3 (spdx-tools)", file=sys.stderr)


def crates_named_by(binary):
    """(name, version) of each crate whose registry source path is in the binary."""
    data = Path(binary).read_bytes()
    pattern = re.compile(rb"registry/src/[^/\x00]+/([A-Za-z0-9_-]+?)-(\d+\.\d+\.\d+[A-Za-z0-9.+-]*)/")
    return {(m.group(1).decode(), m.group(2).decode()) for m in pattern.finditer(data)}


def listed(cdx_path, spdx_path):
    cdx = json.loads(Path(cdx_path).read_text())
    spdx = json.loads(Path(spdx_path).read_text())
    in_cdx = {(c["name"], c["version"]) for c in cdx["components"]
              if c.get("purl", "").startswith("pkg:cargo/")}
    in_spdx = {(p["name"], p["versionInfo"]) for p in spdx["packages"]
               if any(r["referenceLocator"].startswith("pkg:cargo/")
                      for r in p.get("externalRefs", []))}
    return in_cdx, in_spdx, cdx


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--cdx", required=True)
    parser.add_argument("--spdx", required=True)
    parser.add_argument("--lock", required=True)
    args = parser.parse_args()
    problems = []
    check_cyclonedx(args.cdx, problems)
    check_spdx(args.spdx, problems)

    in_cdx, in_spdx, cdx = listed(args.cdx, args.spdx)
    if in_cdx != in_spdx:
        fail(problems, f"the SBOMs list different crates: {sorted(in_cdx ^ in_spdx)[:10]}")
    seen = crates_named_by(args.binary)
    missing = sorted(seen - in_cdx)
    if missing:
        fail(problems, f"crates in the binary but not in the SBOM: {missing[:20]}")
    else:
        print(f"  ok   all {len(seen)} crates the binary names are listed "
              f"({len(in_cdx)} listed in all)", file=sys.stderr)
    if len(seen) < 50:
        fail(problems, f"the binary names only {len(seen)} crates: is it stripped of its "
                       "panic locations? The completeness check needs them")

    lock = tomllib.loads(Path(args.lock).read_text())
    sums = {(p["name"], p["version"]): p.get("checksum") for p in lock["package"]}
    for component in cdx["components"]:
        if not component.get("purl", "").startswith("pkg:cargo/"):
            continue
        key = (component["name"], component["version"])
        if key not in sums:
            fail(problems, f"{key} is not in Cargo.lock")
            continue
        hashes = [h["content"] for h in component.get("hashes", [])]
        if sums[key] and hashes != [sums[key]]:
            fail(problems, f"{key}: SHA-256 {hashes} is not Cargo.lock's {sums[key]}")
    if not problems:
        print("  ok   every listed crate is in Cargo.lock with its SHA-256", file=sys.stderr)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
