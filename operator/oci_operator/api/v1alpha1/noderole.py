"""NodeRole: what a host becomes once Debian is installed (its convergence target)."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field

from .meta import AGE, KindInfo, Resource, StatusBase, WireModel, condition_column, reason_column


class NodeRoleSpec(WireModel):
    """The role's desired configuration. Resources to converge arrive with the node agent."""

    description: Annotated[str | None, Field(description="What hosts with this role are for.", max_length=1024)] = None


class NodeRoleStatus(StatusBase):
    """Validation and, later, convergence across the role's hosts."""


class NodeRole(Resource):
    """A role that bare-metal hosts converge to."""

    info: ClassVar[KindInfo] = KindInfo(
        kind="NodeRole",
        plural="noderoles",
        short_names=("nr",),
        columns=(condition_column("Ready"), reason_column("Ready"), AGE),
    )

    kind: Literal["NodeRole"] = "NodeRole"
    spec: NodeRoleSpec = NodeRoleSpec()
    status: NodeRoleStatus = NodeRoleStatus()
