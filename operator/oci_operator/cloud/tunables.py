"""OCI's variables.json: the tunables OCI appends to a role's class, typed, with OCI's defaults. The
cluster's spec.tunables sets the ones it models; the others keep OCI's default."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from ..api.v1alpha1.openstackcluster import CloudRole, Tunables


@cache
def variables() -> dict[str, dict[str, Any]]:
    """name -> {type, default, description, roles}, as hack/update-oci-parameters read them."""
    text = resources.files("oci_operator.cloud.classes").joinpath("oci_variables.json").read_text()
    loaded: dict[str, dict[str, Any]] = json.loads(text)
    return loaded


def _typed(kind: str, raw: str) -> Any:
    if kind == "int":
        return int(raw)
    if kind == "float":
        return float(raw)
    if kind == "boolean":
        return raw == "yes"
    return raw


def _wire(name: str, value: Any) -> Any:
    if name == "api_rate_limit_whitelist":  # oci::controller splits it on spaces
        return " ".join(value)
    return value


def for_role(role: CloudRole, tunables: Tunables) -> dict[str, Any]:
    """The tunables OCI gives a host of `role`: spec.tunables where set, else OCI's default."""
    chosen = tunables.model_dump()
    out = {}
    for name, var in variables().items():
        if role in var["roles"] or "all" in var["roles"]:
            value = chosen[name] if name in chosen else _typed(var["type"], var["default"])
            out[name] = _wire(name, value)
    return out
