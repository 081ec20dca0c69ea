"""Which disk image an install writes: the host's own, else its NodeRole's, else the operator's default.

Chosen when an install job starts and kept in status.provisioning.image for it: the boot server hands
that one to the deploy ramdisk, and once the host is provisioned it says what is on the disk."""

from __future__ import annotations

from ..api.v1alpha1 import BareMetalHost
from ..api.v1alpha1.baremetalhost import ChosenImage, Image, ImageSource
from ..api.v1alpha1.noderole import NodeRole
from .desired_state import RoleLookup


def _chosen(image: Image, source: ImageSource) -> ChosenImage:
    return ChosenImage(url=image.url, checksum=image.checksum, format=image.format, source=source)


def choose_image(host: BareMetalHost, role: RoleLookup, default: Image | None) -> ChosenImage | None:
    """The image for the host's install, or None: the Debian installer. A NodeRole that is missing or
    invalid names no image (its own condition says why)."""
    if host.spec.image is not None:
        return _chosen(host.spec.image, ImageSource.HOST)
    if isinstance(role, NodeRole) and role.spec.image is not None:
        return _chosen(role.spec.image, ImageSource.NODE_ROLE)
    if default is not None:
        return _chosen(default, ImageSource.OPERATOR)
    return None


def missing_image_message(host: BareMetalHost) -> str:
    return (
        f"no image to install role {host.spec.role}: the operator requires an image install (--require-image)"
        f" and neither the host's spec.image, nor the spec.image of NodeRole {host.spec.role!r}, nor the"
        " operator's --default-image-url names one"
    )
