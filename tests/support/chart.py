"""charts/oci-operator rendered like `helm template`: values merged and checked against
values.schema.json (as helm does, with jsonschema), then hack/chart-render (Helm 3's engine: Go
text/template + sprig + Helm's functions, built from Debian's Go packages)."""

from __future__ import annotations

import copy
import json
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from .kube import REPO

CHART = REPO / "charts" / "oci-operator"


def renderer() -> str:
    out = subprocess.run([str(REPO / "hack" / "ensure-chart-render")], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.strip()


def merged_values(overrides: dict[str, Any] | None) -> dict[str, Any]:
    def merge(dst: dict[str, Any], src: dict[str, Any]) -> dict[str, Any]:
        for key, value in src.items():
            if isinstance(value, dict) and isinstance(dst.get(key), dict):
                merge(dst[key], value)
            else:
                dst[key] = copy.deepcopy(value)
        return dst

    values = yaml.safe_load((CHART / "values.yaml").read_text())
    return merge(values, overrides or {})


def check_values(overrides: dict[str, Any] | None = None) -> None:
    """Raise jsonschema.ValidationError when the values break the chart's schema."""
    schema = json.loads((CHART / "values.schema.json").read_text())
    jsonschema.validate(merged_values(overrides), schema)


def render(workdir: Path, overrides: dict[str, Any] | None = None, namespace: str = "default",
           name: str = "oci-operator") -> list[dict[str, Any]]:  # fmt: skip
    check_values(overrides)
    args = [renderer(), "-name", name, "-namespace", namespace]
    if overrides:
        values = workdir / "values.yaml"
        values.write_text(yaml.safe_dump(overrides))
        args += ["-f", str(values)]
    out = subprocess.run([*args, str(CHART)], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    (workdir / "rendered.yaml").write_text(out.stdout)
    return [doc for doc in yaml.safe_load_all(out.stdout) if doc]
