"""jinja2 rendering of everything the operator and boot server hand to machines.

Templates are packaged with the code (PackageLoader) and rendered with StrictUndefined, so a
missing value is an error at render time instead of an empty string in a boot script."""

from __future__ import annotations

from functools import cache
from typing import Any

import jinja2
import jinja2.sandbox


class RenderError(Exception):
    """A template could not be rendered; the message names the template and the cause."""


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("oci_operator.render", "templates"),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # noqa: S701 - boot scripts and config files, not HTML
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["partition"] = partition
    return env


def partition(device: str, number: int) -> str:
    """/dev/sda + 1 → /dev/sda1; /dev/nvme0n1 + 1 → /dev/nvme0n1p1."""
    return f"{device}p{number}" if device[-1:].isdigit() else f"{device}{number}"


def render(template: str, **context: Any) -> str:
    try:
        return environment().get_template(template).render(**context)
    except jinja2.TemplateError as exc:
        raise RenderError(f"{template}: {exc}") from exc


@cache
def sandbox() -> jinja2.sandbox.SandboxedEnvironment:
    """For templates users write (NodeRole files): sandboxed, strict, no file system access."""
    return jinja2.sandbox.SandboxedEnvironment(
        undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True
    )


def render_string(template: str, **context: Any) -> str:
    try:
        return sandbox().from_string(template).render(**context)
    except jinja2.TemplateError as exc:
        raise RenderError(str(exc)) from exc
