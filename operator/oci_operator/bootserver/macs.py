"""MAC addresses as they appear in URLs (52-54-00-12-34-56, iPXE's hexhyp) and in specs (colons)."""

from __future__ import annotations

import re

_MAC = re.compile(r"^[0-9a-f]{2}([:-])[0-9a-f]{2}(\1[0-9a-f]{2}){4}$")


def normalize(text: str) -> str | None:
    """Lower-case colon form, or None when `text` is not a MAC address."""
    text = text.strip().lower()
    return text.replace("-", ":") if _MAC.match(text) else None


def url_form(mac: str) -> str:
    return mac.lower().replace(":", "-")
