"""Issue 16 #10: a message built from what a node reported never makes the host's status invalid."""

from __future__ import annotations

from oci_operator.api.v1alpha1 import BareMetalHost
from oci_operator.api.v1alpha1.hardware import HardwareDetails
from oci_operator.conditions import MESSAGE_LIMIT, find, set_condition, truncate
from support.fake_bmc import FakeDriver
from support.host_bench import Bench


def test_a_report_of_256_disks_with_long_models_gives_a_short_valid_error() -> None:
    bench = Bench(FakeDriver())
    bench.settle(online=False)
    disks = [{"name": f"/dev/disk{i}", "sizeBytes": 10**9, "model": "M" * 256} for i in range(256)]
    bench.host.status.hardware = HardwareDetails.model_validate({"disks": disks})
    bench.set(online=False, role="compute")  # no disk of 4 GB: the error lists every disk seen

    bench.run()

    ready = find(bench.host.status.conditions, "Ready")
    assert ready is not None
    assert (ready.status, ready.reason) == ("False", "RootDeviceNotFound")
    assert len(ready.message) == MESSAGE_LIMIT
    assert ready.message.startswith("0 disk(s) match rootDeviceHints")
    assert ready.message.endswith("characters in all)")
    assert bench.host.status.error_message == ready.message
    # The status as written to the API server validates again (the model's limits hold).
    BareMetalHost.model_validate({**bench.host.wire(), "status": bench.host.status.wire()})


def test_truncate_keeps_short_messages_and_says_how_much_was_cut() -> None:
    assert truncate("short") == "short"
    cut = truncate("x" * 10_000, 100)
    assert len(cut) == 100
    assert cut.endswith("(truncated: 10000 characters in all)")
    condition = find(set_condition([], "Ready", "False", "Failed", "y" * 100_000, 1), "Ready")
    assert condition is not None
    assert len(condition.message) == MESSAGE_LIMIT
