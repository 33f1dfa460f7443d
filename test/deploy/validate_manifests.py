"""Checks Kubernetes manifests against the schemas of the API server that would receive them.

Usage: validate_manifests.py --kubernetes VERSION --crds DIR FILE...
  -> one JSON line per resource:
     {"file", "index", "apiVersion", "kind", "name", "validator", "ok", "errors": [...]}
Exit status 0 when every resource is valid, 1 otherwise.

Core resources (Deployment, ConfigMap, ...) go to PyPI `kubernetes-validate` (the OpenAPI
schemas of Kubernetes VERSION, strict variant: unknown fields fail). Custom resources go to the
openAPIV3Schema of their CustomResourceDefinition in DIR (vendored from Istio's and Envoy
Gateway's Go modules), checked with `jsonschema`, made strict the same way: an object schema that
lists `properties` and allows neither `additionalProperties` nor
`x-kubernetes-preserve-unknown-fields` rejects other keys, as the API server would drop them
(a misspelt field would otherwise pass here and vanish there). A resource with neither a core
schema nor a CRD fails: nothing passes unchecked. Not evaluated: CEL rules
(`x-kubernetes-validations`) and admission webhooks.
"""

import argparse
import copy
import glob
import importlib.metadata
import json
import os
import sys

import jsonschema
import kubernetes_validate
import yaml
from kubernetes_validate.utils import SchemaNotFoundError

# libyaml's parser when PyYAML has it: the vendored CRDs are megabytes of YAML.
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_crds(directory):
    """(group, kind, version) -> openAPIV3Schema for every served version in DIR/*.yaml."""
    schemas = {}
    for path in sorted(glob.glob(os.path.join(directory, "*.yaml"))):
        with open(path, encoding="utf-8") as handle:
            for doc in yaml.load_all(handle, Loader=SAFE_LOADER):
                if not doc or doc.get("kind") != "CustomResourceDefinition":
                    continue
                spec = doc["spec"]
                for version in spec["versions"]:
                    if version.get("served", False):
                        key = (spec["group"], spec["names"]["kind"], version["name"])
                        schemas[key] = version["schema"]["openAPIV3Schema"]
    return schemas


def strict(schema):
    """A copy of an OpenAPI schema in which objects with listed properties reject other keys."""
    schema = copy.deepcopy(schema)

    def visit(node):
        if isinstance(node, dict):
            if (
                "properties" in node
                and "additionalProperties" not in node
                and not node.get("x-kubernetes-preserve-unknown-fields", False)
            ):
                node["additionalProperties"] = False
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(schema)
    # The API server handles metadata itself (ObjectMeta); CRD schemas leave it open.
    schema.setdefault("properties", {}).setdefault("metadata", {"type": "object"})
    schema["properties"].setdefault("apiVersion", {"type": "string"})
    schema["properties"].setdefault("kind", {"type": "string"})
    return schema


def error_text(error):
    where = ".".join(str(part) for part in error.absolute_path) or "(root)"
    return f"{where}: {error.message}"


def check_custom(resource, crds):
    api_version = resource.get("apiVersion", "")
    group, _, version = api_version.rpartition("/")
    schema = crds.get((group, resource.get("kind"), version))
    if schema is None:
        return None, [f"no schema for {api_version} {resource.get('kind')}: neither Kubernetes nor a vendored CRD defines it"]
    # CRD schemas are OpenAPI 3.0 (close to JSON Schema draft 4: boolean exclusiveMinimum, ...).
    validator = jsonschema.Draft4Validator(strict(schema))
    errors = sorted(validator.iter_errors(resource), key=lambda e: list(e.absolute_path))
    return "crd", [error_text(error) for error in errors]


def check(resource, kubernetes_version, crds):
    try:
        kubernetes_validate.validate(resource, kubernetes_version, strict=True)
        return f"kubernetes-validate {kubernetes_validate.__version__} (Kubernetes {kubernetes_version}, strict)", []
    except SchemaNotFoundError:
        validator, errors = check_custom(resource, crds)
        return (f"CRD schema + jsonschema {importlib.metadata.version('jsonschema')} (strict)" if validator else "none"), errors
    except kubernetes_validate.ValidationError as error:
        # kubernetes-validate stops at the first error (it copies jsonschema's error into its own).
        return f"kubernetes-validate {kubernetes_validate.__version__} (Kubernetes {kubernetes_version}, strict)", [error_text(error)]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--kubernetes", required=True)
    parser.add_argument("--crds", required=True)
    parser.add_argument("files", nargs="+")
    args = parser.parse_args()
    crds = load_crds(args.crds)
    all_ok = True
    for path in args.files:
        with open(path, encoding="utf-8") as handle:
            docs = [doc for doc in yaml.load_all(handle, Loader=SAFE_LOADER) if doc]
        if not docs:
            print(json.dumps({"file": path, "ok": False, "errors": ["no resource in file"]}))
            all_ok = False
        for index, resource in enumerate(docs):
            validator, errors = check(resource, args.kubernetes, crds)
            ok = not errors
            all_ok = all_ok and ok
            print(json.dumps({
                "file": path,
                "index": index,
                "apiVersion": resource.get("apiVersion"),
                "kind": resource.get("kind"),
                "name": (resource.get("metadata") or {}).get("name"),
                "validator": validator,
                "ok": ok,
                "errors": errors,
            }))
    sys.exit(0 if all_ok else 1)


if __name__ == "__main__":
    main()
