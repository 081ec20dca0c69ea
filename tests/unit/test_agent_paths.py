"""Issue 16 #13 and the hiera minor: the agent never writes or deletes through a link a local user
planted, and files holding secrets are never readable by others, not even for an instant.

The agent runs as root; these checks need root too (to own directories as another user), like CI."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from oci_operator.agent import oci_agent

NOBODY = 65534
pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the agent runs as root; ownership checks need root")


@pytest.fixture
def planted(tmp_path: Path) -> tuple[Path, Path]:
    """A user-owned directory holding a link to a directory the user must not reach (think /etc)."""
    victim = tmp_path / "etc"
    victim.mkdir()
    (victim / "shadow").write_text("root:secret\n")
    home = tmp_path / "home"
    home.mkdir()
    os.chown(home, NOBODY, NOBODY)
    (home / "config").symlink_to(victim)
    os.lchown(home / "config", NOBODY, NOBODY)
    return home, victim


def apply(resource: dict[str, str]) -> oci_agent.Outcome:
    return oci_agent.apply_file({"name": "f", "type": "file", **resource}, oci_agent.Run(previous={}))


def test_a_file_is_not_written_through_a_users_link(planted: tuple[Path, Path]) -> None:
    home, victim = planted
    out = apply({"path": str(home / "config/shadow"), "content": "owned\n"})
    assert out.failed
    assert "symbolic link" in out.message
    assert (victim / "shadow").read_text() == "root:secret\n"
    assert sorted(p.name for p in victim.iterdir()) == ["shadow"]


def test_an_absent_file_is_not_deleted_through_a_users_link(planted: tuple[Path, Path]) -> None:
    home, victim = planted
    out = apply({"path": str(home / "config/shadow"), "state": "absent"})
    assert out.failed
    assert (victim / "shadow").exists()


def test_a_link_in_place_of_the_file_is_replaced_not_followed(planted: tuple[Path, Path]) -> None:
    home, victim = planted
    (home / "authorized_keys").symlink_to(victim / "shadow")
    out = apply({"path": str(home / "authorized_keys"), "content": "ssh-ed25519 AAAA\n"})
    assert out.changed, out.message
    assert not (home / "authorized_keys").is_symlink()
    assert (home / "authorized_keys").read_text() == "ssh-ed25519 AAAA\n"
    assert (victim / "shadow").read_text() == "root:secret\n"


def test_a_link_only_root_can_change_is_followed(tmp_path: Path) -> None:
    """Like /lib -> usr/lib on a merged-/usr Debian: root's own links keep working."""
    (tmp_path / "usr/lib").mkdir(parents=True)
    (tmp_path / "lib").symlink_to("usr/lib")
    out = apply({"path": str(tmp_path / "lib/x.conf"), "content": "x\n", "mode": "0640"})
    assert out.changed, out.message
    written = tmp_path / "usr/lib/x.conf"
    assert written.read_text() == "x\n"
    assert stat.S_IMODE(written.stat().st_mode) == 0o640
    assert not apply({"path": str(tmp_path / "lib/x.conf"), "content": "x\n", "mode": "0640"}).changed


def test_files_for_secrets_are_created_0600(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The temporary file is created 0600 (with umask 0 too), never written 0644 and chmod-ed later."""
    old = os.umask(0)
    try:
        seen: list[int] = []
        real_write = os.write

        def spy(fd: int, data: bytes) -> int:  # what another reader could see while the data goes in
            seen.append(stat.S_IMODE(os.fstat(fd).st_mode))
            return real_write(fd, data)

        monkeypatch.setattr(oci_agent.os, "write", spy)
        assert oci_agent.write_file(tmp_path / "puppet/r/data/common.yaml", b"password: s3cret\n", 0o600)
    finally:
        os.umask(old)
    assert seen == [0o600]
    assert stat.S_IMODE((tmp_path / "puppet/r/data/common.yaml").stat().st_mode) == 0o600
