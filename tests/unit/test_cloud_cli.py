"""`oci-operator cluster plan` on the shipped sample: per host role, hostname, address, classes and
parameters, secrets as references only; an invalid cluster is an error with its reason."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from oci_operator.cli import main
from support.kube import REPO

SAMPLE = REPO / "config" / "samples" / "openstackcluster.yaml"
HOSTS = REPO / "config" / "samples" / "openstackcluster" / "hosts.yaml"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["cluster", "plan", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_plan_of_the_sample_cloud(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "-f", str(SAMPLE), "-f", str(HOSTS), "--output", "json")
    assert code == 0, err
    report = json.loads(out)
    assert report["cluster"] == "cloud-1"
    hosts = {h["name"]: h for h in report["hosts"]}
    assert len(hosts) == 14
    c1 = hosts["rack-a-controller-01"]
    assert (c1["role"], c1["hostname"], c1["address"]) == (
        "controller",
        "cloud-1-controller-1.rack-a.example.net",
        "10.20.0.20",
    )
    assert set(c1["classes"]) == {"oci::generic", "oci::filebeat", "oci::controller"}
    assert c1["classes"]["oci::controller"]["pass_rabbitmq_cookie"] == "<secret:rabbitmq_cookie>"
    assert c1["classes"]["oci::controller"]["is_first_master"] is True
    assert hosts["rack-a-cephosd-02"]["classes"]["oci::cephosd"]["block_devices"] == ["sdb", "sdc", "sdd", "sde"]
    assert hosts["rack-a-compute-01"]["classes"]["oci::compute"]["nested_virt"] is True  # the sample's override
    # No generated value anywhere: secrets are references, keys and certificates too.
    assert not re.search(r"\b[0-9a-f]{64}\b|AQ[A-Za-z0-9+/]{36}==|BEGIN", out)


def test_yaml_is_the_default_output(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "-f", str(SAMPLE), "-f", str(HOSTS))
    assert code == 0
    assert yaml.safe_load(out)["hosts"][0]["classes"]


def test_invalid_topology_is_an_error_with_its_reason(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    cluster = yaml.safe_load(SAMPLE.read_text())
    cluster["spec"]["roles"]["controller"] = 2
    bad = tmp_path / "cluster.yaml"
    bad.write_text(yaml.safe_dump(cluster))
    code, out, err = run(capsys, "-f", str(bad), "-f", str(HOSTS))
    assert code == 1
    assert out == ""
    assert "role controller needs at least 3 hosts, the cluster declares 2" in err
    assert "role controller declares 2 hosts but 3 carry it (extra: rack-a-controller-03)" in err


def test_schema_errors_name_the_field(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    cluster = yaml.safe_load(SAMPLE.read_text())
    del cluster["spec"]["apiVip"]["hostname"]
    bad = tmp_path / "cluster.yaml"
    bad.write_text(yaml.safe_dump(cluster))
    code, _, err = run(capsys, "-f", str(bad))
    assert code == 1
    assert "OpenStackCluster cloud-1: spec" in err
    assert "vip_hostname" in err


def test_missing_file_is_a_usage_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "-f", str(tmp_path / "nope.yaml"))
    assert code == 2
    assert "nope.yaml" in err
