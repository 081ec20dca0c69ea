"""Shared pieces of every kind: wire naming, conditions, and the CRD metadata a kind declares."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

GROUP = "oci.openstack.org"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
CATEGORY = "oci"


class WireModel(BaseModel):
    """camelCase on the wire, snake_case in Python; unknown fields ignored so an older
    operator survives a newer CRD (the API server prunes unknown fields anyway)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")

    def wire(self) -> dict[str, object]:
        """The JSON-ready dict as the API server stores it (aliases, no unset optionals)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


ConditionStatus = Literal["True", "False", "Unknown"]

# CamelCase reason as Kubernetes requires (metav1.Condition's own pattern).
REASON_PATTERN = r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$"


class Condition(WireModel):
    """One aspect of the object's state, in the shape of metav1.Condition."""

    type: Annotated[str, Field(description="Type of the condition, e.g. Ready.", max_length=316)]
    status: Annotated[ConditionStatus, Field(description="True, False or Unknown.")]
    reason: Annotated[
        str,
        Field(
            description="Machine-readable CamelCase reason for the last transition.",
            pattern=REASON_PATTERN,
            max_length=1024,
        ),
    ]
    message: Annotated[str, Field(description="Human-readable details.", max_length=32768)] = ""
    last_transition_time: Annotated[
        datetime, Field(description="When the status last changed (not the reason or message).")
    ]
    observed_generation: Annotated[
        int | None, Field(description="metadata.generation this condition was computed from.", ge=0)
    ] = None


Conditions = Annotated[
    list[Condition],
    Field(
        description="Current state as conditions keyed by type (Ready and others).",
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
    ),
]


class StatusBase(WireModel):
    """Fields every status of this API carries, so `kubectl wait`, Flux and Argo CD can judge it."""

    observed_generation: Annotated[
        int | None, Field(description="metadata.generation the status was last computed from.", ge=0)
    ] = None
    conditions: Conditions = []


@dataclass(frozen=True)
class PrinterColumn:
    name: str
    json_path: str
    type: str = "string"
    priority: int = 0
    description: str = ""


def condition_column(cond_type: str, name: str | None = None, priority: int = 0) -> PrinterColumn:
    """A column that reads a condition by type, never by position."""
    return PrinterColumn(
        name=name or cond_type,
        json_path=f'.status.conditions[?(@.type=="{cond_type}")].status',
        priority=priority,
        description=f"Status of the {cond_type} condition.",
    )


def reason_column(cond_type: str = "Ready") -> PrinterColumn:
    return PrinterColumn(
        name="Reason",
        json_path=f'.status.conditions[?(@.type=="{cond_type}")].reason',
        priority=1,
        description=f"Reason of the {cond_type} condition.",
    )


AGE = PrinterColumn(name="Age", json_path=".metadata.creationTimestamp", type="date")


@dataclass(frozen=True)
class KindInfo:
    """What the CRD says about a kind beyond its schema."""

    kind: str
    plural: str
    short_names: tuple[str, ...]
    columns: tuple[PrinterColumn, ...] = field(default=())

    @property
    def singular(self) -> str:
        return self.kind.lower()


class Resource(WireModel):
    """Base of the three top-level kinds: the body kopf hands us, validated."""

    info: ClassVar[KindInfo]

    api_version: str = API_VERSION
    metadata: dict[str, object] = {}
    status: StatusBase = StatusBase()  # each kind narrows this to its own status model

    @property
    def name(self) -> str:
        return str(self.metadata.get("name", ""))

    @property
    def namespace(self) -> str:
        return str(self.metadata.get("namespace", ""))

    def metadata_annotations(self) -> dict[str, str]:
        annotations = self.metadata.get("annotations")
        return {str(k): str(v) for k, v in annotations.items()} if isinstance(annotations, dict) else {}

    def metadata_labels(self) -> dict[str, str]:
        labels = self.metadata.get("labels")
        return {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}

    @property
    def generation(self) -> int:
        value = self.metadata.get("generation", 0)
        return value if isinstance(value, int) else 0
