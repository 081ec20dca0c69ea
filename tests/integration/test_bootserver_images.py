"""Large files from the boot server (an OS image past 4 GiB, as an image install may stream it): whole,
by range past 2^31 and 2^32, HEAD and If-Modified-Since, with curl against the real process. The file
is sparse, so it costs no disk; it goes out with sendfile (hack/bench/boot-http measures what that costs)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from email.utils import formatdate
from pathlib import Path

import pytest

from support.bootserver import BootServerProcess, boot_server
from support.kube import Kube

SIZE = (4 << 30) + (1 << 20) + 123  # past 2^32, not a multiple of any chunk size
HEAD_MARK = b"oci-image-head" * 100
TAIL_MARK = b"oci-image-tail" * 100
EDGE = 1 << 32  # a marker straddles the 4 GiB boundary
EDGE_MARK = b"-across-4-GiB-"


@pytest.fixture
def big_image(bootserver: BootServerProcess) -> Iterator[str]:
    path = bootserver.images / "os-image.raw"
    with path.open("wb") as f:
        f.truncate(SIZE)
        f.write(HEAD_MARK)
        f.seek(EDGE - len(EDGE_MARK) // 2)
        f.write(EDGE_MARK)
        f.seek(SIZE - len(TAIL_MARK))
        f.write(TAIL_MARK)
    try:
        yield f"{bootserver.url}/v1/images/{path.name}"
    finally:
        path.unlink()


def curl(url: str, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["curl", "-sS", *args, url], capture_output=True, check=True, timeout=600)


def headers(url: str, *args: str) -> tuple[int, dict[str, str]]:
    """Status code and headers (lower-case names) of a HEAD request."""
    lines = curl(url, "-I", *args).stdout.decode().splitlines()
    fields = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    return int(lines[0].split()[1]), {k.lower(): v for k, v in fields.items()}


def test_head_says_the_size_and_ranges_without_a_body(big_image: str) -> None:
    code, found = headers(big_image)
    assert code == 200
    assert found["content-length"] == str(SIZE)
    assert found["accept-ranges"] == "bytes"
    assert "last-modified" in found


def test_ranges_past_2_and_4_gib_are_exact(big_image: str) -> None:
    start = EDGE - len(EDGE_MARK) // 2
    out = curl(big_image, "-r", f"{start}-{start + len(EDGE_MARK) - 1}", "-D", "-", "-o", "/dev/stderr")
    assert out.stdout.startswith(b"HTTP/1.1 206"), out.stdout
    assert f"Content-Range: bytes {start}-{start + len(EDGE_MARK) - 1}/{SIZE}".encode() in out.stdout
    assert out.stderr == EDGE_MARK
    assert curl(big_image, "-r", f"-{len(TAIL_MARK)}").stdout == TAIL_MARK  # the last bytes
    assert curl(big_image, "-r", f"{(2 << 30) - 3}-{(2 << 30) + 2}").stdout == bytes(6)  # across 2^31
    assert curl(big_image, "-r", f"0-{len(HEAD_MARK) - 1}").stdout == HEAD_MARK
    code = curl(big_image, "-r", f"{SIZE}-", "-o", "/dev/null", "-w", "%{http_code}").stdout
    assert code == b"416"


def test_if_modified_since(big_image: str, bootserver: BootServerProcess) -> None:
    _, found = headers(big_image)
    code, _ = headers(big_image, "-H", f"If-Modified-Since: {found['last-modified']}")
    assert code == 304
    mtime = (bootserver.images / "os-image.raw").stat().st_mtime
    code, _ = headers(big_image, "-H", f"If-Modified-Since: {formatdate(mtime - 3600, usegmt=True)}")
    assert code == 200


def test_the_whole_image_arrives(big_image: str) -> None:
    """Past 4 GiB in one response: sendfile's per-call limit (2 GiB) and 32-bit offsets are crossed
    (the content at those offsets: the range test above)."""
    out = curl(big_image, "-o", "/dev/null", "-w", "%{http_code} %{size_download}")
    assert out.stdout.decode().split() == ["200", str(SIZE)]


def test_a_slow_download_outlasts_the_header_timeout(kube: Kube, tmp_path: Path) -> None:
    """The header timeout cuts clients that are slow to *ask*; a server on a slow link (or one of a rack
    booting at once) downloading a large initrd or image for longer than that gets all of it."""
    images = tmp_path / "images"
    images.mkdir()
    (images / "initrd.gz").write_bytes(os.urandom(48 << 20))  # far more than the sockets' buffers hold
    with boot_server(kube.kubeconfig, tmp_path / "bs", "--no-dhcp", "--header-timeout", "2", images=images) as server:
        # 48 MiB at 6 MiB/s: about 8 s, four header timeouts.
        out = subprocess.run(
            ["curl", "-sS", "--limit-rate", "6M", "-o", "/dev/null",
             "-w", "%{http_code} %{size_download} %{time_total}", f"{server.url}/v1/images/initrd.gz"],
            capture_output=True, text=True, check=False, timeout=120,
        )  # fmt: skip
    assert out.returncode == 0, f"cut off: {out.stdout} {out.stderr}"  # curl 18: the server closed mid-body
    code, size, took = out.stdout.split()
    assert (code, int(size)) == ("200", 48 << 20)
    assert float(took) > 4  # it did take longer than the header timeout
