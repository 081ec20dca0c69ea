"""NodeRole: what a host becomes once Debian is installed: an ordered list of resources the node agent
converges the host to."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, ClassVar, Literal

from pydantic import Field, model_validator

from .baremetalhost import Image
from .meta import AGE, KindInfo, PrinterColumn, Resource, StatusBase, WireModel, condition_column, reason_column

# Debian package and systemd unit names, and our own resource names.
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9.+_@:-]{0,127}$"
ABSOLUTE_PATH_PATTERN = r"^/.*$"
# One template's limit: with the rest of the object it fits the 256 KiB the API server allows for all
# annotations together, which `kubectl apply` (client-side) fills with a copy of the object.
TEMPLATE_MAX = 192 * 1024


class ResourceType(StrEnum):
    PACKAGE = "package"  # an apt package, present (optionally at a version) or absent
    FILE = "file"  # a file rendered from a jinja2 template with host, role and cluster context
    SERVICE = "service"  # a systemd unit: enabled, running, restarted when its files change
    COMMAND = "command"  # a shell command, guarded by creates/unless
    PUPPET = "puppet"  # `puppet apply` of classes and a manifest, with hiera data (OCI's own way)


class RoleResource(WireModel):
    """One thing on the node. `name` identifies it in reports; for packages and services it is also the
    package or unit name."""

    type: Annotated[ResourceType, Field(description="package, file, service, command or puppet.")]
    name: Annotated[str, Field(description="Package or unit name, or a label for files and commands.",
                               pattern=NAME_PATTERN)]  # fmt: skip
    state: Annotated[Literal["present", "absent"], Field(description="package and file: present or absent.")] = (
        "present"
    )
    version: Annotated[str | None, Field(description="package: exact version to install.", max_length=128)] = None
    path: Annotated[
        str | None, Field(description="file: absolute path.", pattern=ABSOLUTE_PATH_PATTERN, max_length=4096)
    ] = None
    template: Annotated[
        str | None,
        Field(
            description="file: content, a jinja2 template ({{ host.name }}, {{ role.name }}, ...).",
            max_length=TEMPLATE_MAX,
        ),
    ] = None
    owner: Annotated[str, Field(description="file: owner user.", max_length=64)] = "root"
    group: Annotated[str, Field(description="file: owner group.", max_length=64)] = "root"
    mode: Annotated[str, Field(description="file: octal mode.", pattern=r"^0?[0-7]{3,4}$")] = "0644"
    enabled: Annotated[bool | None, Field(description="service: enabled at boot.")] = None
    running: Annotated[bool | None, Field(description="service: running now (needs a running systemd).")] = None
    restart_on: Annotated[
        list[str],
        Field(default_factory=list, description="service: names of file resources whose change restarts it.",
              max_length=64),
    ]  # fmt: skip
    command: Annotated[str | None, Field(description="command: shell command to run.", max_length=16384)] = None
    creates: Annotated[
        str | None, Field(description="command: skip when this path exists.", pattern=ABSOLUTE_PATH_PATTERN)
    ] = None
    unless: Annotated[str | None, Field(description="command: skip when this shell command succeeds.")] = None
    classes: Annotated[
        list[str],
        Field(default_factory=list, description="puppet: classes to include (e.g. from puppet-module-oci).",
              max_length=256),
    ]  # fmt: skip
    manifest: Annotated[
        str | None, Field(description="puppet: manifest code, a jinja2 template.", max_length=TEMPLATE_MAX)
    ] = None
    hiera: Annotated[
        str | None, Field(description="puppet: hiera data (YAML), a jinja2 template.", max_length=TEMPLATE_MAX)
    ] = None

    @model_validator(mode="after")
    def _fields_of_its_type(self) -> RoleResource:
        needed = {
            ResourceType.FILE: ("path", "template") if self.state == "present" else ("path",),
            ResourceType.COMMAND: ("command",),
        }.get(self.type, ())
        if self.type is ResourceType.PUPPET and not (self.classes or self.manifest):
            missing = ["classes or manifest"]
            raise ValueError(f"puppet {self.name!r} needs {', '.join(missing)}")
        missing = [field for field in needed if getattr(self, field) is None]
        if missing:
            raise ValueError(f"{self.type.value} {self.name!r} needs {', '.join(missing)}")
        return self


class NodeRoleSpec(WireModel):
    """The role's desired configuration, applied in order."""

    description: Annotated[str | None, Field(description="What hosts with this role are for.", max_length=1024)] = None
    resources: Annotated[
        list[RoleResource],
        Field(default_factory=list, description="What the node agent converges a host to, in order.", max_length=500),
    ]
    image: Annotated[
        Image | None,
        Field(
            description=(
                "The disk image this role's hosts are installed from when a host has no spec.image of its own"
                " (before the operator's default image)."
            )
        ),
    ] = None
    converge_interval_seconds: Annotated[
        int | None,
        Field(
            description=(
                "How often the node agent converges a host again after its first run at boot (drift repair, "
                "and the next change of this role reaching the host): delivered with the desired state, "
                "applied to the agent's timer. Default 300."
            ),
            ge=10,
            le=86400,
        ),
    ] = None

    @model_validator(mode="after")
    def _unique_names(self) -> NodeRoleSpec:
        seen: set[tuple[str, str]] = set()
        for resource in self.resources:
            key = (resource.type.value, resource.name)
            if key in seen:
                raise ValueError(f"two {resource.type.value} resources are named {resource.name!r}")
            seen.add(key)
        files = {r.name for r in self.resources if r.type is ResourceType.FILE}
        for resource in self.resources:
            unknown = [name for name in resource.restart_on if name not in files]
            if unknown:
                raise ValueError(f"{resource.name!r} restarts on unknown file resource(s): {', '.join(unknown)}")
        return self


class HostCounts(WireModel):
    desired: Annotated[int, Field(description="Provisioned hosts with this role.", ge=0)] = 0
    converged: Annotated[int, Field(description="Of those, converged to the current desired state.", ge=0)] = 0
    failed: Annotated[int, Field(description="Of those, with failed resources or a render error.", ge=0)] = 0


class NodeRoleStatus(StatusBase):
    """How the role's hosts are doing."""

    hosts: Annotated[HostCounts, Field(description="Hosts desired, converged and failed.")] = HostCounts()


class NodeRole(Resource):
    """A role that bare-metal hosts converge to."""

    info: ClassVar[KindInfo] = KindInfo(
        kind="NodeRole",
        plural="noderoles",
        short_names=("nr",),
        columns=(
            condition_column("Ready"),
            reason_column("Ready"),
            PrinterColumn("Desired", ".status.hosts.desired", type="integer", description="Hosts with this role."),
            PrinterColumn("Converged", ".status.hosts.converged", type="integer", description="Converged hosts."),
            PrinterColumn("Failed", ".status.hosts.failed", type="integer", description="Hosts with failures."),
            AGE,
        ),
    )

    kind: Literal["NodeRole"] = "NodeRole"
    spec: NodeRoleSpec = NodeRoleSpec()
    status: NodeRoleStatus = NodeRoleStatus()
