"""Cloudbeds' published OpenAPI description (API v1.3), and a request validator built on it.

The simulated Cloudbeds validates every request it receives against the operation the spec
declares for its path and method, so a connector request that the real API would read
differently fails loudly in the tests:

* query parameters: each must be one the operation declares, required ones present, values of
  the declared type and format (integer, number, boolean, date, date-time, enum);
* form bodies (``application/x-www-form-urlencoded``, Cloudbeds' PHP-style ``rooms[0][roomID]``
  nesting): parsed into objects and arrays, then validated against the request body schema with
  ``openapi-schema-validator`` (OpenAPI 3.0 schemas: ``nullable``, formats); a field the schema
  does not declare is refused too (a misspelt field would be ignored by the real API);
* the ``x-api-key`` header the security scheme names.

The spec file ships with the package (``pyapi/pms/cloudbeds-pms-v1.3-openapi.yaml``, MIT, from
cloudbeds/openapi-specs).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import yaml
from openapi_schema_validator import OAS30Validator, oas30_format_checker

SPEC_PATH = Path(__file__).with_name("cloudbeds-pms-v1.3-openapi.yaml")


class SpecViolation(Exception):
    """A request the spec does not allow; the message says where."""


@functools.cache
def spec() -> dict[str, Any]:
    with SPEC_PATH.open(encoding="utf-8") as f:
        return yaml.safe_load(f)


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    components = spec()["components"]["schemas"]
    while "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def operation(path: str, method: str) -> dict[str, Any]:
    op = spec()["paths"].get(path, {}).get(method.lower())
    if op is None:
        raise SpecViolation(f"{method.upper()} {path} is not an operation of the spec")
    return op


_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")


def parse_form(body: str) -> dict[str, Any]:
    """``a=1&rooms[0][roomID]=x&rooms[0][quantity]=1`` -> ``{"a": "1", "rooms": [{"roomID": "x", ...}]}``."""
    out: dict[str, Any] = {}
    for key, value in parse_qsl(body, keep_blank_values=True, strict_parsing=False):
        m = _KEY.match(key)
        if not m:
            raise SpecViolation(f"form field name {key!r} cannot be read")
        parts = [m.group(1)] + re.findall(r"\[([^\[\]]*)\]", m.group(2))
        node: Any = out
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            nxt_is_index = not last and (parts[i + 1].isdigit() or parts[i + 1] == "")
            if isinstance(node, list):
                idx = int(part) if part.isdigit() else len(node)
                while len(node) <= idx:
                    node.append(None)
                if last:
                    node[idx] = value
                else:
                    if node[idx] is None:
                        node[idx] = [] if nxt_is_index else {}
                    node = node[idx]
            else:
                if last:
                    node[part] = value
                else:
                    node = node.setdefault(part, [] if nxt_is_index else {})
    return out


def _coerce(value: Any, schema: dict[str, Any], where: str) -> Any:
    """Form and query values are text: read them as the schema's type before validating."""
    schema = _resolve(schema)
    kind = schema.get("type")
    if value is None:
        return None
    try:
        if kind == "integer" and isinstance(value, str):
            return int(value)
        if kind == "number" and isinstance(value, str):
            return float(value)
        if kind == "boolean" and isinstance(value, str):
            if value.lower() in ("true", "1"):
                return True
            if value.lower() in ("false", "0"):
                return False
            raise ValueError(value)
    except ValueError:
        raise SpecViolation(f"{where}: {value!r} is not a {kind}") from None
    if kind == "array" and isinstance(value, list):
        return [_coerce(v, schema.get("items", {}), f"{where}[{i}]") for i, v in enumerate(value)]
    if kind == "object" and isinstance(value, dict):
        props = schema.get("properties", {})
        for k in value:
            if props and k not in props:
                raise SpecViolation(f"{where}.{k} is not a field of the schema")
        return {k: _coerce(v, props.get(k, {}), f"{where}.{k}") for k, v in value.items()}
    return value


def _validate(value: Any, schema: dict[str, Any], where: str) -> None:
    validator = OAS30Validator(_resolve(schema), format_checker=oas30_format_checker)
    errors = sorted(validator.iter_errors(value), key=lambda e: list(e.path))
    if errors:
        e = errors[0]
        path = ".".join(str(p) for p in e.path)
        raise SpecViolation(f"{where}{'.' + path if path else ''}: {e.message}")


def validate_request(
    path: str, method: str, query: dict[str, str], headers: dict[str, str], body: bytes, content_type: str
) -> dict[str, Any]:
    """Checks one request against the spec; returns the parsed form body ({} for none)."""
    op = operation(path, method)
    declared = {p["name"]: p for p in op.get("parameters", []) if p.get("in") == "query"}
    for name in query:
        if name not in declared:
            raise SpecViolation(f"query parameter {name!r} is not declared for {path}")
    for name, p in declared.items():
        if name not in query:
            if p.get("required"):
                raise SpecViolation(f"query parameter {name!r} is required by {path}")
            continue
        value = _coerce(query[name], p.get("schema", {}), f"query {name}")
        _validate(value, p.get("schema", {}), f"query {name}")
        fmt = _resolve(p.get("schema", {})).get("format")
        if fmt == "date":
            try:
                dt.date.fromisoformat(query[name])
            except ValueError:
                raise SpecViolation(f"query {name}: {query[name]!r} is not a date") from None
        if fmt == "date-time":
            try:
                dt.datetime.fromisoformat(query[name].replace("Z", "+00:00"))
            except ValueError:
                raise SpecViolation(f"query {name}: {query[name]!r} is not a date-time") from None
    if not headers.get("x-api-key"):
        raise SpecViolation("the x-api-key header the security scheme names is missing")
    request_body = op.get("requestBody")
    if request_body is None:
        if body:
            raise SpecViolation(f"{path} takes no body")
        return {}
    content = request_body.get("content", {})
    if "application/x-www-form-urlencoded" not in content:
        raise SpecViolation(f"{path} declares no form body")
    if not content_type.startswith("application/x-www-form-urlencoded"):
        raise SpecViolation(
            f"{path} takes application/x-www-form-urlencoded, not {content_type or 'nothing'}"
        )
    schema = content["application/x-www-form-urlencoded"]["schema"]
    form = parse_form(body.decode("utf-8"))
    value = _coerce(form, schema, "body")
    _validate(value, schema, "body")
    for name in _resolve(schema).get("required", []):
        if name not in form:
            raise SpecViolation(f"body field {name!r} is required by {path}")
    return value
