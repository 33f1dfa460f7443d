"""Checks Envoy config files against Envoy's own API definitions (PyPI xds-protos).

Usage: validate_envoy_config.py FILE...   ->  one JSON line per file:
  {"file": ..., "ok": true|false, "errors": [...], "types": [every @type resolved]}
Exit status 0 when every file is valid, 1 otherwise.

A file is valid when its YAML parses into envoy.config.bootstrap.v3.Bootstrap with protobuf's
json_format and no unknown field (a misspelt field or a wrong value type fails), every
google.protobuf.Any ("@type", e.g. each typed_config) resolves to a message xds-protos defines
and parses the same way, and no field used is marked deprecated in the API.
"""

import importlib
import json
import pkgutil
import sys

import yaml
from google.protobuf import json_format, message_factory, symbol_database
from google.protobuf.descriptor import FieldDescriptor

from envoy.config.bootstrap.v3 import bootstrap_pb2

TYPE_URL_PREFIX = "type.googleapis.com/"


def type_urls(node, path="Bootstrap"):
    """Yields (path, type_url) for every "@type" in the YAML tree."""
    if isinstance(node, dict):
        if "@type" in node:
            yield path, node["@type"]
        for key, value in node.items():
            yield from type_urls(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from type_urls(value, f"{path}[{index}]")


def load_message_type(full_name):
    """Imports the generated modules of full_name's proto package so its descriptor is known.
    Returns an error string, or None once the type is registered."""
    package = full_name.rsplit(".", 1)[0]
    try:
        module = importlib.import_module(package)
    except ImportError:
        return f"no proto package {package!r} in xds-protos"
    for info in pkgutil.iter_modules(getattr(module, "__path__", [])):
        if info.name.endswith("_pb2"):
            importlib.import_module(f"{package}.{info.name}")
    try:
        symbol_database.Default().pool.FindMessageTypeByName(full_name)
    except KeyError:
        return f"no message {full_name!r} in package {package!r}"
    return None


def deprecated_fields(message, path):
    """Yields 'path.field' for every set field the API marks deprecated, through Any payloads."""
    if message.DESCRIPTOR.full_name == "google.protobuf.Any":
        inner = unpack_any(message)
        if inner is not None:
            yield from deprecated_fields(inner, path)
        return
    for field, value in message.ListFields():
        field_path = f"{path}.{field.name}"
        if field.GetOptions().deprecated:
            yield field_path
        if field.type != FieldDescriptor.TYPE_MESSAGE:
            continue
        if field.message_type.GetOptions().map_entry:
            for key, item in value.items():
                if hasattr(item, "ListFields"):
                    yield from deprecated_fields(item, f"{field_path}[{key!r}]")
        elif field.is_repeated:
            for index, item in enumerate(value):
                yield from deprecated_fields(item, f"{field_path}[{index}]")
        else:
            yield from deprecated_fields(value, field_path)


def unpack_any(message):
    name = message.type_url.split("/")[-1]
    try:
        descriptor = symbol_database.Default().pool.FindMessageTypeByName(name)
    except KeyError:
        return None
    inner = message_factory.GetMessageClass(descriptor)()
    message.Unpack(inner)
    return inner


def validate(path):
    errors, types = [], []
    try:
        with open(path, encoding="utf-8") as handle:
            config = yaml.safe_load(handle)
    except (OSError, yaml.YAMLError) as error:
        return {"file": path, "ok": False, "errors": [f"cannot read YAML: {error}"], "types": []}
    if not isinstance(config, dict):
        return {"file": path, "ok": False, "errors": ["top level is not a mapping"], "types": []}

    for where, url in type_urls(config):
        if not isinstance(url, str) or not url.startswith(TYPE_URL_PREFIX):
            errors.append(f"{where}: @type {url!r} does not start with {TYPE_URL_PREFIX}")
            continue
        problem = load_message_type(url[len(TYPE_URL_PREFIX):])
        if problem:
            errors.append(f"{where}: @type {url}: {problem}")
        else:
            types.append(url)

    if not errors:
        bootstrap = bootstrap_pb2.Bootstrap()
        try:
            json_format.ParseDict(config, bootstrap, ignore_unknown_fields=False)
        except json_format.ParseError as error:
            errors.append(str(error))
        else:
            errors.extend(f"{field}: deprecated in Envoy's API" for field in deprecated_fields(bootstrap, "Bootstrap"))

    return {"file": path, "ok": not errors, "errors": errors, "types": sorted(set(types))}


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: validate_envoy_config.py FILE...")
    results = [validate(path) for path in sys.argv[1:]]
    for result in results:
        print(json.dumps(result))
    sys.exit(0 if all(result["ok"] for result in results) else 1)


if __name__ == "__main__":
    main()
