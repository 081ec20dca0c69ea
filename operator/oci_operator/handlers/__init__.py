"""Thin kopf registrations: body → model → one reconciler → status patch and Events."""

from __future__ import annotations

import kopf

from ..config import OperatorConfig
from . import baremetalhost, openstackcluster, settings, simple


def register(registry: kopf.OperatorRegistry, config: OperatorConfig) -> None:
    settings.register(registry, config)
    baremetalhost.register(registry, config)
    simple.register(registry, config)
    openstackcluster.register(registry, config)
