"""crds/ is generated from the models and must not drift from them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from oci_operator.api.crdgen import render_all

REPO = Path(__file__).resolve().parents[2]


def test_committed_crds_match_the_models() -> None:
    generated = render_all()
    committed = {p.name: p.read_text() for p in (REPO / "crds").glob("*.yaml")}
    assert set(committed) == set(generated), "run hack/update-crds"
    for name, text in generated.items():
        assert committed[name] == text, f"{name} is out of date: run hack/update-crds"


def walk(node: Any, path: str = "") -> list[tuple[str, dict[str, Any]]]:
    found = []
    if isinstance(node, dict):
        found.append((path, node))
        for key, value in node.items():
            found.extend(walk(value, f"{path}.{key}"))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found.extend(walk(value, f"{path}[{i}]"))
    return found


def test_schemas_are_structural_and_conditions_are_list_maps() -> None:
    for name, text in render_all().items():
        crd = yaml.safe_load(text)
        version = crd["spec"]["versions"][0]
        schema = version["schema"]["openAPIV3Schema"]
        for path, node in walk(schema):
            assert "$ref" not in node, f"{name}{path} is not structural"
            assert "anyOf" not in node, f"{name}{path} is not structural"
            if "properties" in node or "items" in node:
                assert node.get("type") in ("object", "array"), f"{name}{path} has no type"
        conditions = schema["properties"]["status"]["properties"]["conditions"]
        assert conditions["x-kubernetes-list-type"] == "map"
        assert conditions["x-kubernetes-list-map-keys"] == ["type"]
        assert "observedGeneration" in schema["properties"]["status"]["properties"]
        assert crd["spec"]["names"]["categories"] == ["oci"]
        assert crd["spec"]["names"]["shortNames"]
        assert version["subresources"] == {"status": {}}
        for column in version["additionalPrinterColumns"]:
            assert "conditions[0]" not in column["jsonPath"]
