"""OpenStackCluster: one cloud built from bare-metal hosts."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field

from .meta import AGE, KindInfo, Resource, StatusBase, WireModel, condition_column, reason_column


class OpenStackClusterSpec(WireModel):
    """The cloud's desired shape. Fields arrive with the behaviour that uses them."""

    description: Annotated[str | None, Field(description="What this cloud is for.", max_length=1024)] = None


class OpenStackClusterStatus(StatusBase):
    """Validation and, later, roll-out progress of the cloud."""


class OpenStackCluster(Resource):
    """An OpenStack cloud installed onto bare-metal hosts."""

    info: ClassVar[KindInfo] = KindInfo(
        kind="OpenStackCluster",
        plural="openstackclusters",
        short_names=("osc",),
        columns=(condition_column("Ready"), reason_column("Ready"), AGE),
    )

    kind: Literal["OpenStackCluster"] = "OpenStackCluster"
    spec: OpenStackClusterSpec = OpenStackClusterSpec()
    status: OpenStackClusterStatus = OpenStackClusterStatus()
