"""jinja2 rendering of everything the operator and boot server hand to machines.

Templates are packaged with the code (PackageLoader) and rendered with StrictUndefined, so a
missing value is an error at render time instead of an empty string in a boot script."""

from __future__ import annotations

import shlex
from functools import cache
from typing import Any

import jinja2

from .limited import Limits, Renderer, TemplateFailed

__all__ = [
    "Limits",
    "RenderError",
    "TemplateFailed",
    "configure_user_templates",
    "render",
    "render_user_templates",
]


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
    env.filters["shquote"] = shquote
    env.filters["line"] = one_line
    return env


def shquote(value: object) -> str:
    """One shell word, whatever `value` holds (device names reported by nodes reach shell commands)."""
    return shlex.quote(str(value))


def one_line(value: object) -> str:
    """A value for a preseed or iPXE line: a line break would start a new directive, so refuse it."""
    text = str(value)
    if any(ch in text for ch in "\r\n\x00"):
        raise RenderError(f"a line break in a value meant for one line: {text[:80]!r}")
    return text


def partition(device: str, number: int) -> str:
    """/dev/sda + 1 → /dev/sda1; /dev/nvme0n1 + 1 → /dev/nvme0n1p1."""
    return f"{device}p{number}" if device[-1:].isdigit() else f"{device}{number}"


def render(template: str, **context: Any) -> str:
    try:
        return environment().get_template(template).render(**context)
    except jinja2.TemplateError as exc:
        raise RenderError(f"{template}: {exc}") from exc


_user_templates: list[Renderer] = []


def configure_user_templates(limits: Limits) -> None:
    """Set the limits user templates render under (before the first render)."""
    for renderer in _user_templates:
        renderer.close()
    _user_templates[:] = [Renderer(limits)]


def user_templates() -> Renderer:
    """For templates users write (NodeRole files): sandboxed, strict, in worker processes with limits
    on time, memory and output (see render.limited). Blocking: call it from a thread."""
    if not _user_templates:
        _user_templates.append(Renderer())
    return _user_templates[0]


def render_user_templates(templates: list[str], context: dict[str, Any]) -> list[str]:
    """Each template rendered with `context`; TemplateFailed says which failed and why."""
    return user_templates().render(templates, context)
