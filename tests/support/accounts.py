"""Kubeconfigs that authenticate as the chart's ServiceAccounts (their token Secrets), so a process runs
under exactly the RBAC the chart grants."""

from __future__ import annotations

import base64
from pathlib import Path

import yaml

from .kube import Kube
from .waiting import wait_for


def token_kubeconfig(kube: Kube, namespace: str, secret: str, target: Path) -> Path:
    """A kubeconfig for the token in `secret` once the token controller has filled it in."""

    def token() -> str | None:
        data = kube.core.read_namespaced_secret(secret, namespace).data or {}
        return base64.b64decode(data["token"]).decode() if "token" in data else None

    value = wait_for(token, 60, f"the token of {secret}")
    admin = yaml.safe_load(Path(kube.kubeconfig).read_text())
    cluster = admin["clusters"][0]
    target.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [cluster],
                "users": [{"name": secret, "user": {"token": value}}],
                "contexts": [{"name": secret, "context": {"cluster": cluster["name"], "user": secret}}],
                "current-context": secret,
            }
        )
    )
    return target
