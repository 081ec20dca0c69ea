"""The deploy ramdisk and the OS image as hack/ builds them (cached in ~/.cache/oci-operator), for the e2e
test and hack/bench/deploy."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def built(script: str, timeout: float = 1800) -> Path:
    """What hack/SCRIPT printed last: the ramdisk's directory, the image's path."""
    out = subprocess.run([str(ROOT / "hack" / script)], check=True, capture_output=True, text=True, timeout=timeout)
    return Path(out.stdout.strip().splitlines()[-1])


def os_image() -> tuple[Path, str]:
    """hack/build-os-image's raw image and its sha256, checked against the file."""
    image = built("build-os-image")
    checksum = Path(f"{image}.sha256").read_text().split()[0]
    digest = hashlib.sha256()
    with image.open("rb") as f:
        while chunk := f.read(4 << 20):
            digest.update(chunk)
    assert digest.hexdigest() == checksum, f"{image}.sha256 does not match the image"
    return image, checksum
