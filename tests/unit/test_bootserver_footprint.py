"""What the boot server process loads: its RSS is mostly its imports (docs/bootserver.md, sizing)."""

from __future__ import annotations

import subprocess
import sys

# The operator's libraries: BMC drivers, kopf, and cryptography (the operator makes the boot server's
# certificate; the boot server only loads it into ssl). Together about 17 MiB of the boot server's RSS.
NOT_FOR_THE_BOOT_SERVER = ("sushy", "pyghmi", "kopf", "cryptography")


def test_the_boot_server_command_loads_no_bmc_library_kopf_or_cryptography() -> None:
    # A fresh interpreter, importing what `python -m oci_operator bootserver` imports before it serves.
    probe = (
        "import sys, oci_operator.cli, oci_operator.bootserver.main; "
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120)
    loaded = set(out.stdout.split())
    assert "aiohttp" in loaded  # the probe imported the boot server
    assert loaded.isdisjoint(NOT_FOR_THE_BOOT_SERVER), sorted(loaded & set(NOT_FOR_THE_BOOT_SERVER))
