"""A real API server for tests: an existing cluster if asked for, else hack/local-apiserver."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


@contextmanager
def api_server(workdir: Path) -> Iterator[str]:
    """Yield a kubeconfig path. OCI_TEST_KUBECONFIG points at an existing cluster instead."""
    existing = os.environ.get("OCI_TEST_KUBECONFIG")
    if existing:
        yield existing
        return
    started = subprocess.run(
        [str(REPO / "hack" / "local-apiserver"), "start", str(workdir)],
        check=True,
        capture_output=True,
        text=True,
    )
    try:
        yield started.stdout.strip().splitlines()[-1]
    finally:
        subprocess.run([str(REPO / "hack" / "local-apiserver"), "stop", str(workdir)], check=False)
