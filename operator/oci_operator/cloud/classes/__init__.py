"""One typed model per puppet-module-oci class the operator feeds, and which class each role gets."""

from __future__ import annotations

from ...api.v1alpha1.openstackcluster import CloudRole
from .base import OciClass, SecretKind, known_parameters, secret_name
from .ceph import CephMon, CephOsd
from .compute import Compute
from .controller import Controller
from .generic import Filebeat, Generic
from .messaging import Messaging
from .network import NetworkNode
from .sql import Sql
from .swift import SwiftProxy, SwiftStore
from .tempest import Tempest
from .volume import Volume

ROLE_CLASS: dict[CloudRole, type[OciClass]] = {
    CloudRole.CONTROLLER: Controller,
    CloudRole.COMPUTE: Compute,
    CloudRole.NETWORK: NetworkNode,
    CloudRole.MESSAGING: Messaging,
    CloudRole.SQL: Sql,
    CloudRole.VOLUME: Volume,
    CloudRole.CEPHMON: CephMon,
    CloudRole.CEPHOSD: CephOsd,
    CloudRole.SWIFTPROXY: SwiftProxy,
    CloudRole.SWIFTSTORE: SwiftStore,
    CloudRole.TEMPEST: Tempest,
}
"""The role's class; every host also gets oci::generic and oci::filebeat."""

BASE_CLASSES: tuple[type[OciClass], ...] = (Generic, Filebeat)


def all_secret_kinds() -> dict[str, SecretKind]:
    """Every cluster secret any class needs, keyed by its name in the secrets store."""
    kinds: dict[str, SecretKind] = {}
    for model in (*BASE_CLASSES, *ROLE_CLASS.values()):
        for parameter, kind in model.secret_fields().items():
            kinds[secret_name(parameter)] = kind
    return kinds


__all__ = ["BASE_CLASSES", "ROLE_CLASS", "OciClass", "SecretKind", "all_secret_kinds", "known_parameters"]
