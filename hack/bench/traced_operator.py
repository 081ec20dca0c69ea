"""`python -m oci_operator` under tracemalloc, for `hack/bench/fleet --memory`: on SIGUSR1 it writes where
the memory allocated since its imports lives (by file, by line, biggest first) to $OCI_TRACEMALLOC_OUT.
Tracing costs CPU and memory of its own: such a run says what memory is made of, not how much it is."""

from __future__ import annotations

import importlib
import os
import runpy
import signal
import sys
import tracemalloc
from types import FrameType

FRAMES = 6


def dump(signum: int, frame: FrameType | None) -> None:
    snapshot = tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])
    lines = [f"traced: {sum(s.size for s in snapshot.statistics('filename')) / 2**20:.1f} MiB"]
    for group in ("filename", "lineno"):
        lines.append(f"-- by {group}")
        for stat in snapshot.statistics(group)[:25]:
            lines.append(f"{stat.size / 2**20:8.2f} MiB {stat.count:9d} blocks  {stat.traceback[0]}")
    lines.append("-- by traceback (top 8)")
    for stat in snapshot.statistics("traceback")[:8]:
        lines.append(f"{stat.size / 2**20:8.2f} MiB")
        lines.extend(f"    {frame_}" for frame_ in stat.traceback.format()[-2 * FRAMES :])
    out = os.environ["OCI_TRACEMALLOC_OUT"]
    with open(out + ".tmp", "w") as tmp:
        tmp.write("\n".join(lines) + "\n")
    os.replace(out + ".tmp", out)  # whole or not there: the bench waits for the file


if __name__ == "__main__":
    # Modules are imported before tracing starts: what is traced is what the operator allocates for its
    # hosts (and imports under tracing take minutes on a loaded machine).
    for module in ("kopf", "kubernetes.client", "pyghmi.ipmi.command", "oci_operator.cli", "oci_operator.handlers"):
        importlib.import_module(module)
    tracemalloc.start(FRAMES)
    signal.signal(signal.SIGUSR1, dump)
    sys.argv = ["oci_operator", *sys.argv[1:]]
    runpy.run_module("oci_operator", run_name="__main__", alter_sys=True)
