"""Reading the generated OpenAPI schema in tests that pin what it documents for the SPA."""

from __future__ import annotations

import functools
from typing import Any

from drf_spectacular.generators import SchemaGenerator


@functools.cache
def openapi_schema() -> dict[str, Any]:
    """The project's schema, generated once per test process."""
    return SchemaGenerator().get_schema(request=None, public=True)


def resolve(node: dict[str, Any]) -> dict[str, Any]:
    """`node` with `$ref`s (and a single-item `allOf` wrapper) followed to the component."""
    components = openapi_schema()["components"]["schemas"]
    while True:
        if "$ref" in node:
            node = components[node["$ref"].rsplit("/", 1)[1]]
        elif len(node.get("allOf", [])) == 1:
            node = node["allOf"][0]
        else:
            return node


def response_body(path: str, method: str, status: str = "200") -> dict[str, Any]:
    """The resolved JSON body schema of one documented response."""
    responses = openapi_schema()["paths"][path][method]["responses"]
    return resolve(responses[status]["content"]["application/json"]["schema"])


def data_of(path: str, method: str, status: str = "200") -> dict[str, Any]:
    """The resolved schema under the envelope's `data` (a list's item for list endpoints)."""
    data = resolve(response_body(path, method, status)["properties"]["data"])
    return resolve(data["items"]) if data.get("type") == "array" else data


def statuses_of(prefixes: tuple[str, ...]) -> dict[tuple[str, str], set[str]]:
    """The documented statuses of every operation whose path starts with one of `prefixes`."""
    return {
        (method, path): set(operation["responses"])
        for path, item in openapi_schema()["paths"].items()
        if path.startswith(prefixes)
        for method, operation in item.items()
    }
