"""Shared fixtures (lazy: unit tests start nothing): a real API server, the generated CRDs, and the operator as its own process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from support.cluster import api_server
from support.kube import Kube
from support.operator_process import OperatorProcess, operator_process

# Short enough that healing without an edit is seen quickly in tests.
RESYNC_SECONDS = "2"


@pytest.fixture(scope="session")
def kube(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kube]:
    with api_server(tmp_path_factory.mktemp("apiserver")) as kubeconfig:
        kube = Kube.connect(kubeconfig)
        kube.apply_crds()
        yield kube


@pytest.fixture(scope="session")
def operator(kube: Kube, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OperatorProcess]:
    workdir: Path = tmp_path_factory.mktemp("operator")
    with operator_process(kube.kubeconfig, workdir, "--resync-interval", RESYNC_SECONDS) as op:
        yield op
    print(f"operator log: {op.log_path}")


@pytest.fixture
def namespace(kube: Kube) -> Iterator[str]:
    name = kube.new_namespace()
    yield name
    kube.delete_namespace(name)
