"""`oci-operator bmc-sim`: start a fleet, describe it in a state file, optionally write manifests for it."""

from __future__ import annotations

import argparse
import json
import logging
import os
import secrets
import signal
import sys
import threading
from pathlib import Path

import yaml

from ..credentials import CREDENTIALS_TYPE
from . import control
from .fleet import Credentials, Fleet
from .hardware import ProfileError, load_profiles, profile_for, unknown_hosts
from .node import SimulatedNode, hardware_for
from .standin import AgentKnobs
from .vm import VMNode, VMSpec, load_specs


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--count", type=int, default=3, help="number of virtual BMCs")
    parser.add_argument("--prefix", default="node", help="BMC names are PREFIX-000, PREFIX-001, ...")
    parser.add_argument("--address", default="127.0.0.1", help="UDP address the BMCs listen on")
    parser.add_argument(
        "--base-port", type=int, default=0, help="first UDP port (consecutive); 0: free ports chosen by the kernel"
    )
    parser.add_argument(
        "--first-mac", default="52:54:00:00:00:00", help="boot MAC of the first server; the others count up"
    )
    parser.add_argument("--control-port", type=int, default=0, help="HTTP control port (0: any free)")
    parser.add_argument("--username", default="admin", help="user name of every BMC")
    parser.add_argument(
        "--password",
        default=os.environ.get("OCI_SIM_PASSWORD"),
        help="password of every BMC; better in $OCI_SIM_PASSWORD, off the command line (default: a random one per BMC)",
    )
    parser.add_argument("--powered-on", action="store_true", help="start with the servers powered on")
    parser.add_argument(
        "--boot-server",
        help="simulate the servers too: on power-on they PXE-boot from this boot server (http://HOST:PORT)",
    )
    parser.add_argument(
        "--vms", type=Path, help="JSON file: QEMU VMs behind the BMCs it names (see oci_operator.bmc.sim.vm)"
    )
    parser.add_argument("--install-seconds", type=float, default=0.5, help="how long a simulated install takes")
    parser.add_argument(
        "--stand-in-agent",
        action="store_true",
        help="installed servers run a stand-in node agent (fetch the desired state, report convergence)",
    )
    parser.add_argument(
        "--agent-delay", type=float, default=1.0, help="seconds the stand-in node agent takes to apply a state"
    )
    parser.add_argument(
        "--agent-interval",
        type=float,
        default=30.0,
        help="seconds between the stand-in agent's runs (the real agent's timer: 5 min)",
    )
    parser.add_argument(
        "--hardware",
        type=Path,
        help="JSON or YAML map of BMC name (or 'default') -> hardware profile (see oci_operator/bmc/sim/hardware.py)",
    )
    parser.add_argument("--state-file", type=Path, help="write the fleet (ports, credentials, control URL) here")
    parser.add_argument(
        "--manifests", type=Path, help="write a Secret and a BareMetalHost per BMC here, ready for kubectl apply"
    )


def mac_plus(mac: str, offset: int) -> str:
    value = int(mac.replace(":", ""), 16) + offset
    return ":".join(f"{(value >> shift) & 0xFF:02x}" for shift in range(40, -8, -8))


def manifests(fleet: Fleet) -> list[dict[str, object]]:
    docs: list[dict[str, object]] = []
    for bmc in fleet.bmcs.values():
        secret = f"{bmc.name}-bmc"
        docs.append(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": secret},
                "type": CREDENTIALS_TYPE,
                "stringData": {"username": bmc.credentials.username, "password": bmc.credentials.password},
            }
        )
        docs.append(
            {
                "apiVersion": "oci.openstack.org/v1alpha1",
                "kind": "BareMetalHost",
                "metadata": {"name": bmc.name},
                "spec": {
                    "bmc": {"address": f"ipmi://127.0.0.1:{bmc.port}", "credentialsName": secret},
                    "bootMACAddress": bmc.mac,
                    "online": True,
                },
            }
        )
    return docs


def attach_vm(fleet: Fleet, name: str, spec: VMSpec) -> VMNode:
    bmc = fleet.bmcs.get(name)
    if bmc is None:
        raise SystemExit(f"bmc-sim: --vms names {name}, which is not one of the BMCs")
    bmc.mac = spec.mac
    bmc.node = VMNode(bmc, spec)
    return bmc.node


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    names = [f"{args.prefix}-{index:03d}" for index in range(args.count)]
    try:
        profiles = load_profiles(args.hardware) if args.hardware else {}
    except ProfileError as exc:
        print(f"bmc-sim: {exc}", file=sys.stderr)
        return 2
    if unknown := unknown_hosts(profiles, names):
        print(f"bmc-sim: {args.hardware}: no BMC is named {', '.join(unknown)}", file=sys.stderr)
        return 2
    fleet = Fleet()
    for index, name in enumerate(names):
        password = args.password or secrets.token_urlsafe(12)
        port = args.base_port + index if args.base_port else 0
        bmc = fleet.add(name, Credentials(args.username, password), port, args.address)
        bmc.powered_on = args.powered_on
        bmc.mac = mac_plus(args.first_mac, index)
        if args.boot_server:
            url = f"{args.boot_server.rstrip('/')}/boot.ipxe"
            knobs = AgentKnobs(args.stand_in_agent, delay=args.agent_delay, interval=args.agent_interval)
            bmc.node = SimulatedNode(
                bmc,
                bmc.mac,
                url,
                hardware_for(index, bmc.mac, profile_for(profiles, name)),
                args.install_seconds,
                agent_knobs=knobs,
                index=index,
            )
    vms = [attach_vm(fleet, name, spec) for name, spec in (load_specs(args.vms) if args.vms else {}).items()]
    fleet.start()
    server = control.serve(fleet, "127.0.0.1", args.control_port)
    control_url = f"http://127.0.0.1:{server.server_address[1]}"
    state = {"control": control_url, "bmcs": [b.describe() for b in fleet.bmcs.values()]}
    if args.manifests:
        args.manifests.write_text(yaml.safe_dump_all(manifests(fleet), sort_keys=False))
    if args.state_file:
        tmp = args.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2))
        tmp.replace(args.state_file)  # readers never see a half-written file
    print(f"bmc-sim: {args.count} BMCs on {args.address} UDP, control at {control_url}", flush=True)

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    for vm in vms:
        vm.stop()
    server.shutdown()
    return 0
