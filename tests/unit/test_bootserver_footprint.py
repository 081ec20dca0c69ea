"""What the boot server process loads: its RSS is mostly its imports (docs/bootserver.md, sizing)."""

from __future__ import annotations

import subprocess
import sys

# The operator's libraries: BMC drivers, kopf, and cryptography (the operator makes the boot server's
# certificate; the boot server only loads it into ssl). Together about 17 MiB of the boot server's RSS.
NOT_FOR_THE_BOOT_SERVER = ("sushy", "pyghmi", "kopf", "cryptography")


def test_the_boot_server_command_loads_no_bmc_library_kopf_or_cryptography() -> None:
    # A fresh interpreter going through `python -m oci_operator bootserver`'s command line (--help ends it
    # once the parser is built, which imports the boot server).
    probe = (
        "import contextlib, io, sys\n"
        "from oci_operator import cli\n"
        "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
        "    cli.main(['bootserver', '--help'])\n"
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120)
    loaded = set(out.stdout.split())
    assert "aiohttp" in loaded  # the probe imported the boot server
    assert loaded.isdisjoint(NOT_FOR_THE_BOOT_SERVER), sorted(loaded & set(NOT_FOR_THE_BOOT_SERVER))


def test_the_simulator_command_still_has_its_options() -> None:
    probe = (
        "import contextlib, io\n"
        "from oci_operator import cli\n"
        "out = io.StringIO()\n"
        "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(out):\n"
        "    cli.main(['bmc-sim', '--help'])\n"
        "print(out.getvalue())\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120)
    assert "--count" in out.stdout or "--prefix" in out.stdout, out.stdout
