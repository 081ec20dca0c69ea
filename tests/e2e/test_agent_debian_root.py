"""The node agent converges a real Debian 12 root (debootstrap minbase, run in a chroot) to its
NodeRole, through the real API server and boot server: a package, a templated file, a unit enabled;
a no-op second run; drift repaired and reported; a package that does not exist fails, on the host.

No systemd runs inside a chroot here (../shared/docs/pxe-lab.md): units are enabled offline
(`systemctl enable` writes the symlinks) and the agent reports that it does not manage running state."""

from __future__ import annotations

from typing import Any

from oci_operator.api.v1alpha1 import BareMetalHost, NodeRole
from oci_operator.reconcilers.desired_state import render_desired_state
from support.bmcsim import SimControl
from support.bootserver import BootServerProcess
from support.debian_root import DebianRoot
from support.hosts import agent_installed, converged, provisioned_host, status
from support.kube import Kube
from support.operator_process import OperatorProcess
from support.waiting import wait_for

TIMEOUT = 60
UNIT = """[Unit]
Description=oci demo for {{ host.name }}

[Service]
ExecStart=/bin/sh -c 'cat /etc/oci-demo.conf'

[Install]
WantedBy=multi-user.target
"""


def role_manifest(extra: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "oci.openstack.org/v1alpha1",
        "kind": "NodeRole",
        "metadata": {"name": "demo"},
        "spec": {
            "description": "e2e demo role",
            "resources": [
                {"type": "package", "name": "hello"},
                {
                    "type": "file",
                    "name": "demo-conf",
                    "path": "/etc/oci-demo.conf",
                    "mode": "0640",
                    "template": "host={{ host.name }}\nrole={{ role.name }}\nmac={{ host.mac }}\n",
                },
                {"type": "file", "name": "demo-unit", "path": "/etc/systemd/system/oci-demo.service", "template": UNIT},
                {"type": "service", "name": "oci-demo", "enabled": True, "running": True, "restartOn": ["demo-conf"]},
                {
                    "type": "command",
                    "name": "stamp",
                    "command": "echo stamped > /var/lib/oci-stamp",
                    "creates": "/var/lib/oci-stamp",
                },
                {"type": "command", "name": "guarded", "command": "false", "unless": "test -e /etc/oci-demo.conf"},
                *(extra or []),
            ],
        },
    }


def test_agent_converges_a_debian_root_then_noop_then_drift_then_failure(
    kube: Kube,
    namespace: str,
    nodes: SimControl,
    bootserver: BootServerProcess,
    operator: OperatorProcess,
    debian: DebianRoot,
) -> None:
    kube.create(namespace, role_manifest())
    bmc = nodes.take()
    provisioned_host(kube, namespace, "web-1", bmc, "demo")
    agent_installed(kube, namespace, "web-1", bmc.mac, bootserver, debian)
    wait_for(lambda: (converged(kube, namespace, "web-1") or ("", ""))[1] == "Converging", TIMEOUT, "rendered")

    # First run: everything changes.
    code, report, output = debian.run_agent()
    assert code == 0, output
    assert report["failed"] == 0
    assert report["changed"] == 5, output  # package, 2 files, unit enabled, stamp; "guarded" skipped by unless
    assert report["appliedHash"] == status(kube, namespace, "web-1")["desiredState"]["hash"]
    assert debian.chroot("dpkg-query", "-W", "-f=${Status}", "hello").stdout == "install ok installed"
    conf = debian.path / "etc/oci-demo.conf"
    assert conf.read_text() == f"host=web-1\nrole=demo\nmac={bmc.mac}\n"
    assert oct(conf.stat().st_mode & 0o777) == "0o640"
    assert (debian.path / "var/lib/oci-stamp").read_text() == "stamped\n"
    assert (debian.path / "etc/systemd/system/multi-user.target.wants/oci-demo.service").is_symlink()
    service = next(r for r in report["resources"] if r["name"] == "oci-demo")
    assert "systemd is not running" in service["message"]
    wait_for(lambda: (converged(kube, namespace, "web-1") or ("",))[0] == "True", TIMEOUT, "Converged=True")

    # Second run: nothing to do, nothing touched.
    before = {p: p.stat().st_mtime_ns for p in (conf, debian.path / "var/lib/oci-agent/state.json")}
    code, report, output = debian.run_agent()
    assert code == 0, output
    assert (report["changed"], report["drifted"], report["failed"], report["resources"]) == (0, 0, 0, [])
    assert {p: p.stat().st_mtime_ns for p in before} == before
    print(f"\nagent no-op run in a Debian 12 chroot: {report['durationSeconds']:.3f}s (its own measure)")

    # Drift: an edited file is put back, and said to have drifted.
    conf.write_text("edited by hand\n")
    code, report, output = debian.run_agent()
    assert code == 0, output
    assert [(r["name"], r["changed"], r["drift"]) for r in report["resources"]] == [("demo-conf", True, True)]
    assert conf.read_text().startswith("host=web-1")
    wait_for(
        lambda: "repaired drift in demo-conf" in (converged(kube, namespace, "web-1") or ("", "", ""))[2],
        TIMEOUT,
        "the drift on the host's Converged condition",
    )

    # A package that does not exist: a failed resource, a condition on the host and on the role.
    missing = {"type": "package", "name": "oci-no-such-package"}
    kube.custom.replace_namespaced_custom_object(
        "oci.openstack.org", "v1alpha1", namespace, "noderoles", "demo",
        {**role_manifest([missing]), "metadata": kube.get(namespace, "NodeRole", "demo")["metadata"]},
    )  # fmt: skip
    new_hash = wait_for(
        lambda: (h := status(kube, namespace, "web-1")["desiredState"]["hash"]) != report["appliedHash"] and h,
        TIMEOUT,
        "the edited role re-rendered for the host",
    )
    code, report, output = debian.run_agent()
    assert code == 1, output
    assert report["appliedHash"] == new_hash
    failed = [r for r in report["resources"] if r["failed"]]
    assert [r["name"] for r in failed] == ["oci-no-such-package"]
    assert "oci-no-such-package" in failed[0]["message"]  # apt's own words, last lines
    cond = wait_for(
        lambda: (c := converged(kube, namespace, "web-1")) and c[1] == "ResourcesFailed" and c, TIMEOUT, "failure"
    )
    assert cond[0] == "False"
    assert "oci-no-such-package" in cond[2]
    role = wait_for(
        lambda: (r := kube.get(namespace, "NodeRole", "demo"))["status"].get("hosts", {}).get("failed") == 1 and r,
        TIMEOUT,
        "the role counting the failed host",
    )
    ready = next(c for c in role["status"]["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "HostsFailed")


def test_puppet_classes_and_hiera_data_are_applied_with_puppet_apply(debian: DebianRoot) -> None:
    """OCI converges with Puppet: a puppet resource runs `puppet apply` (Debian's puppet 7) with the
    role's manifest and hiera data, both rendered per host; no-op and drift work the same way."""
    role = NodeRole.model_validate(
        {
            "metadata": {"name": "pp", "namespace": "n", "generation": 1},
            "spec": {
                "resources": [
                    {"type": "package", "name": "puppet"},
                    {
                        "type": "puppet",
                        "name": "site",
                        "manifest": "file { '/etc/oci-puppet.txt': content => lookup('oci::greeting') }",
                        "hiera": 'oci::greeting: "hello from {{ host.name }}\\n"\n',
                    },
                ]
            },
        }
    )
    host = BareMetalHost.model_validate(
        {
            "metadata": {"name": "pp-1", "namespace": "n"},
            "spec": {"bootMACAddress": "52:54:00:00:00:09", "role": "pp"},
        }
    )
    rendered = render_desired_state(host, role)
    assert not isinstance(rendered, str)
    debian.install_agent("127.0.0.1:9", "52:54:00:00:00:09", "pp-1", "unused")
    code, report, output = debian.run_agent(rendered.document)
    assert code == 0, output
    assert [r["name"] for r in report["resources"] if r["changed"]] == ["puppet", "site"]
    target = debian.path / "etc/oci-puppet.txt"
    assert target.read_text() == "hello from pp-1\n"

    code, report, output = debian.run_agent(rendered.document)
    assert (code, report["changed"], report["failed"]) == (0, 0, 0), output
    print(f"\nagent no-op run with puppet apply in a Debian 12 chroot: {report['durationSeconds']:.2f}s")

    target.write_text("changed by hand\n")
    code, report, output = debian.run_agent(rendered.document)
    assert code == 0, output
    assert [(r["name"], r["drift"]) for r in report["resources"]] == [("site", True)]
    assert "/etc/oci-puppet.txt" in report["resources"][0]["message"]
    assert target.read_text() == "hello from pp-1\n"
