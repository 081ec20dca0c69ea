"""The host view a pass decides on (issue 12): kopf's watch-fed body, or this process's own last write
while the watch has not delivered it yet; a fresh read when versions cannot be compared."""

from __future__ import annotations

from typing import Any

from oci_operator.handlers.baremetalhost import HostView


def host(version: str, **status: Any) -> dict[str, Any]:
    return {"metadata": {"name": "h", "resourceVersion": version}, "status": status}


def test_the_watched_body_is_used_when_nothing_was_written() -> None:
    body = host("10", poweredOn=False)
    assert HostView(body).current() == body  # type: ignore[arg-type]


def test_our_own_write_wins_until_the_watch_delivers_it() -> None:
    body = host("10", poweredOn=False)
    view = HostView(body)  # type: ignore[arg-type]
    view.wrote(host("12", poweredOn=True, lastPowerCommand={"action": "on"}))
    assert view.current() == host("12", poweredOn=True, lastPowerCommand={"action": "on"})
    body.update(host("12", poweredOn=True, lastPowerCommand={"action": "on"}))  # the watch caught up
    assert view.current() == body
    assert view.written is None
    body.update(host("15", poweredOn=True))  # someone else wrote after us: theirs is newer
    assert view.current() == body


def test_an_older_write_never_replaces_a_newer_one() -> None:
    view = HostView(host("10"))  # type: ignore[arg-type]
    view.wrote(host("14", poweredOn=True))
    view.wrote(host("13", poweredOn=False))
    assert view.current() == host("14", poweredOn=True)


def test_versions_that_are_not_numbers_mean_a_fresh_read() -> None:
    view = HostView(host("opaque"))  # type: ignore[arg-type]
    view.wrote(host("12"))
    assert view.current() is None


def test_a_write_is_kept_without_managed_fields_and_dropped_once_watched() -> None:
    """An idle host's next pass is minutes away: its last write is not held (a copy of the object) once
    the watch has delivered it, and never with managedFields (most of the object's bytes)."""
    view = HostView(host("10"))  # type: ignore[arg-type]
    written = host("12", poweredOn=True)
    written["metadata"]["managedFields"] = [{"manager": "oci-operator", "fieldsV1": {"f:status": {}}}]
    view.wrote(written)
    assert view.written == host("12", poweredOn=True)
    view.watched("11")  # an older event: ours is still ahead
    assert view.written == host("12", poweredOn=True)
    view.watched("12")
    assert view.written is None
    view.wrote(host("13"))
    view.watched(None)  # an event without a version proves nothing
    assert view.written == host("13")
