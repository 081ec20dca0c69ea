"""Shared fixtures, lazy so unit tests start nothing: a real API server, the CRDs, the operator process,
and a fleet of simulated BMCs speaking IPMI on loopback."""

from __future__ import annotations

import os
import re
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

from oci_operator.config import DEFAULT_SYSTEM_NAMESPACE
from support.bmcsim import SimControl, bmc_sim
from support.bootserver import BootServerProcess, boot_server
from support.cluster import api_server
from support.debian_root import DebianRoot, base_root, debian_root
from support.kube import Kube
from support.operator_process import OperatorProcess, operator_process
from support.redfish_emulator import RedfishEmulator, redfish_emulator

# Short intervals so that healing, polling and backoff are seen within a test's timeout.
FAST_OPERATOR = (
    *("--power-poll-interval", "2", "--power-settle-timeout", "15"),
    *("--soft-reboot-timeout", "5", "--bmc-calls-per-minute", "600", "--bmc-burst", "30"),
    *("--bmc-backoff-base", "2", "--bmc-backoff-cap", "30"),
    # Above pyghmi's own give-up time (~5 s): a login cut short makes the next attempt join it.
    *("--bmc-timeout", "30"),
    *("--boot-poll-interval", "0.5", "--role-status-interval", "1"),
)
# The shared operator watches t-* namespaces; tests that run an operator of their own use p-*.
SHARED_PREFIX, PRIVATE_PREFIX = "t-", "p-"
SKIP_ALLOWLIST = Path(os.environ.get("OCI_SKIP_ALLOWLIST") or Path(__file__).with_name("skip-allowlist.txt"))


def allowed_skip_reasons(path: Path = SKIP_ALLOWLIST) -> list[re.Pattern[str]]:
    lines = (line.strip() for line in path.read_text().splitlines())
    return [re.compile(line) for line in lines if line and not line.startswith("#")]


def skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    return reason.removeprefix("Skipped: ")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    """Under CI=true a skip is a failure unless its reason is on tests/skip-allowlist.txt: a missing
    prerequisite must not quietly drop the tests that need it."""
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if not report.skipped or hasattr(report, "wasxfail") or os.environ.get("CI", "").lower() not in ("true", "1"):
        return
    reason = skip_reason(report)
    if any(pattern.match(reason) for pattern in allowed_skip_reasons()):
        return
    report.outcome = "failed"
    report.longrepr = f"skipped under CI=true for a reason not on {SKIP_ALLOWLIST.name}: {reason}"


@pytest.fixture(scope="session")
def kube(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kube]:
    with api_server(tmp_path_factory.mktemp("apiserver")) as kubeconfig:
        kube = Kube.connect(kubeconfig)
        kube.apply_crds()
        kube.ensure_namespace(DEFAULT_SYSTEM_NAMESPACE)  # the operator's own: host tokens and desired states
        yield kube


@pytest.fixture(scope="session")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimControl]:
    with bmc_sim(tmp_path_factory.mktemp("bmc-sim"), count=96) as control:
        yield control


@pytest.fixture(scope="session")
def redfish(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedfishEmulator]:
    """sushy-tools' Redfish emulator: fake systems over HTTP, basic auth; take() one per test."""
    with redfish_emulator(tmp_path_factory.mktemp("redfish"), 16) as emulator:
        yield emulator


@pytest.fixture(scope="session")
def redfish_tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedfishEmulator]:
    """The same over HTTPS, its certificate signed by a throw-away CA (`ca_pem`)."""
    with redfish_emulator(tmp_path_factory.mktemp("redfish-tls"), 6, tls=True) as emulator:
        yield emulator


@pytest.fixture(scope="session")
def bootserver(kube: Kube, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BootServerProcess]:
    """HTTP only on loopback (DHCP and TFTP are tested in network namespaces)."""
    with boot_server(kube.kubeconfig, tmp_path_factory.mktemp("bootserver"), "--no-dhcp") as server:
        yield server
    print(f"boot server log: {server.log_path}")


@pytest.fixture(scope="session")
def nodes(bootserver: BootServerProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimControl]:
    """Simulated servers behind simulated BMCs: powered on, they PXE-boot from the shared boot server."""
    workdir = tmp_path_factory.mktemp("nodes")
    extra = ("--prefix", "srv", "--first-mac", "52:54:00:5e:00:00", "--boot-server", bootserver.url)
    with bmc_sim(workdir, 12, *extra, "--install-seconds", "0.3") as control:
        yield control


@pytest.fixture(scope="session")
def operator(kube: Kube, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OperatorProcess]:
    workdir: Path = tmp_path_factory.mktemp("operator")
    with operator_process(kube.kubeconfig, workdir, "--namespace", f"{SHARED_PREFIX}*", *FAST_OPERATOR) as op:
        yield op
    print(f"operator log: {op.log_path}")


@pytest.fixture
def namespace(kube: Kube) -> Iterator[str]:
    name = kube.new_namespace(SHARED_PREFIX)
    yield name
    kube.delete_namespace(name)


@pytest.fixture
def private_namespace(kube: Kube) -> Iterator[str]:
    """A namespace the shared operator ignores, for tests that run (and kill) their own operator."""
    name = kube.new_namespace(PRIVATE_PREFIX)
    yield name
    kube.delete_namespace(name)


@pytest.fixture(scope="session")
def debian_base() -> Path:
    """The cached debootstrap root (built on first use, ~40 s)."""
    return base_root()


@pytest.fixture
def debian(debian_base: Path, tmp_path: Path) -> Iterator[DebianRoot]:
    """A fresh overlay of the Debian root for this test (needs root for mount and chroot, as CI has)."""
    from support.netns import require_netns

    require_netns()  # the same requirement: root
    with debian_root(debian_base, tmp_path / "debian") as root:
        yield root
