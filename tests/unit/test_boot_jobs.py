"""Inspection, provisioning and deprovisioning as boot jobs: record, boot once, wait for the node."""

from __future__ import annotations

from datetime import timedelta

from oci_operator.api.v1alpha1 import ErrorType
from oci_operator.bmc.driver import BMCCommandError, BMCUnreachable, BootDevice, PowerAction
from oci_operator.bmc.governor import GovernorConfig
from oci_operator.reconcilers.baremetalhost import record_action_deferred, record_action_failure
from oci_operator.reconcilers.host_context import SetBootDevice
from support.fake_bmc import FakeDriver
from support.host_bench import HARDWARE, T0, Bench


def inspected() -> Bench:
    """An inspected host, with a BMC budget these long scenarios never exhaust."""
    return Bench(FakeDriver(), GovernorConfig(backoff_base=0.0, calls_per_minute=1e6, burst=10_000))


def fresh(online: bool = False) -> Bench:
    """A host never inspected, its registration on record."""
    bench = inspected()
    bench.host.status.hardware = None
    bench.set(online=online)
    bench.run()
    assert bench.state() == "registering"
    return bench


def test_inspection_records_a_boot_id_then_boots_once_then_waits() -> None:
    bench = fresh()
    first = bench.run()  # registering -> inspecting, its boot id recorded in the same pass; nothing sent yet
    assert bench.state() == "inspecting"
    assert first.actions == ()
    boot_id = bench.host.status.provisioning.boot_id  # type: ignore[union-attr]
    assert boot_id
    booting = bench.run()
    assert booting.boot_token == boot_id  # the token Secret is made before the commands go out
    assert [type(a) for a in booting.actions] == [SetBootDevice, PowerAction]
    assert booting.actions[1] is PowerAction.ON  # it was off
    assert bench.host.status.provisioning.boot_requested == T0  # type: ignore[union-attr]
    for seconds in (2, 4, 60):  # waiting: never a second power command
        assert bench.run(at=T0 + timedelta(seconds=seconds)).actions == ()
    assert bench.ready() == ("False", "Inspecting")
    assert bench.power_commands() == ["set_power_on"]


def test_inspection_ends_with_the_hardware_report_and_then_power_follows_online() -> None:
    bench = fresh(online=False)
    for _ in range(2):  # inspecting (boot id recorded), then the boot
        bench.run()
    bench.report("scriptServed")
    bench.run(at=T0 + timedelta(seconds=5))
    assert bench.host.status.provisioning.step == "scriptServed"  # type: ignore[union-attr]
    bench.host.status.hardware = HARDWARE
    bench.report("inspected")
    done = bench.run(at=T0 + timedelta(seconds=9))
    assert bench.state() == "available"
    assert ("Normal", "Inspected") in [(e.type, e.reason) for e in done.events]
    assert bench.host.status.provisioning.boot_id is None  # type: ignore[union-attr]
    # The same pass goes on in available: spec.online=false powers it off, its intent in that pass's write.
    assert done.power_action is PowerAction.OFF
    assert bench.host.status.last_power_command is not None
    assert bench.host.status.last_power_command.action == "off"


def test_a_report_of_an_older_job_is_ignored() -> None:
    bench = fresh()
    for _ in range(2):
        bench.run()
    bench.report("inspected")
    bench.host.status.boot_report.boot_id = "an-older-job"  # type: ignore[union-attr]
    bench.run(at=T0 + timedelta(seconds=5))
    assert bench.state() == "inspecting"


def test_inspection_timeout_is_an_inspection_error_with_the_last_step_then_a_new_job() -> None:
    bench = fresh()
    for _ in range(2):
        bench.run()
    old_id = bench.host.status.provisioning.boot_id  # type: ignore[union-attr]
    bench.report("preseedServed")
    failed = bench.run(at=T0 + timedelta(seconds=4000))
    status = bench.host.status
    assert status.error_type is ErrorType.INSPECTION
    assert "last step reached: preseedServed" in (status.error_message or "")
    assert failed.actions == ()
    # Within the retry backoff nothing is sent; after it, a new job with a new id (and token).
    assert bench.run(at=T0 + timedelta(seconds=4001)).actions == ()
    bench.host.status.last_updated = T0 + timedelta(seconds=4000)
    bench.run(at=T0 + timedelta(seconds=4100))
    assert bench.host.status.provisioning.boot_id not in (None, old_id)  # type: ignore[union-attr]
    retry = bench.run(at=T0 + timedelta(seconds=4101))
    assert retry.power_action is PowerAction.CYCLE  # the inspected-then-idle server is on: cycle it
    assert bench.host.status.error_type is ErrorType.INSPECTION  # on show until a job succeeds


def test_role_provisions_on_the_hinted_disk_then_boots_from_disk() -> None:
    bench = inspected()
    bench.settle(online=True)
    bench.set(online=True, role="compute", rootDeviceHints={"minSizeGigabytes": 1000})
    bench.run()
    assert bench.state() == "provisioning"
    assert bench.host.status.provisioning.root_device == ["/dev/sdb"]  # type: ignore[union-attr]
    assert bench.host.status.provisioning.boot_id  # type: ignore[union-attr]  # recorded in the same pass
    booting = bench.run()
    assert booting.power_action is PowerAction.CYCLE  # it was on
    bench.report("installing")
    bench.run(at=T0 + timedelta(seconds=30))
    assert bench.ready() == ("False", "Provisioning")
    bench.report("installed")
    done = bench.run(at=T0 + timedelta(seconds=60))
    assert bench.state() == "provisioned"
    assert done.actions == (SetBootDevice(BootDevice.DISK, persistent=True, uefi=True),)
    bench.run(at=T0 + timedelta(seconds=61))
    assert bench.ready() == ("True", "Available")


def test_no_disk_matching_the_hints_is_a_provisioning_error_before_any_boot() -> None:
    bench = inspected()
    bench.settle(online=False)
    bench.set(online=False, role="compute", rootDeviceHints={"model": "NO-SUCH-MODEL"})
    result = bench.run()
    assert bench.state() == "available"
    assert result.actions == ()
    assert bench.host.status.error_type is ErrorType.PROVISIONING
    assert bench.ready()[1] == "RootDeviceNotFound"


def test_software_raid_takes_two_disks() -> None:
    bench = inspected()
    bench.settle(online=False)
    bench.set(online=False, role="compute", rootDeviceHints={"softwareRaid": True})
    bench.run()
    assert bench.host.status.provisioning.root_device == ["/dev/sda", "/dev/sdb"]  # type: ignore[union-attr]


def test_removing_the_role_wipes_then_powers_off_and_is_available_again() -> None:
    bench = inspected()
    bench.settle(online=True)
    bench.set(online=True, role="compute")
    for _ in range(3):
        bench.run()
    bench.report("installed")
    bench.run()
    assert bench.state() == "provisioned"
    bench.set(online=True)  # role removed
    bench.run()
    assert bench.state() == "deprovisioning"
    wipe_boot = bench.run()
    assert wipe_boot.power_action is PowerAction.CYCLE
    bench.report("wiped")
    done = bench.run(at=T0 + timedelta(seconds=30))
    assert done.power_action is PowerAction.OFF
    assert bench.state() == "available"
    assert bench.host.status.provisioning.root_device is None  # type: ignore[union-attr]


def test_a_failed_boot_command_is_not_remembered_as_a_boot() -> None:
    bench = fresh()
    bench.run()  # inspecting, its boot id recorded
    booting = bench.run()
    assert booting.actions
    refused = BMCCommandError("BMC refused power on: completion code 0xC0 (Node Busy)", "power on", 0xC0)
    failed = record_action_failure(bench.host, booting.status, refused)
    assert failed.status.provisioning.boot_requested is None  # type: ignore[union-attr]
    assert failed.status.provisioning.boot_id == booting.status.provisioning.boot_id  # type: ignore[union-attr]


def test_an_unanswered_boot_command_stays_on_record_for_the_settle_check() -> None:
    """The reply was lost, perhaps not the command: cycling again now could cycle the server twice."""
    bench = fresh()
    bench.run()  # inspecting, its boot id recorded
    booting = bench.run(send=False)
    failed = record_action_failure(bench.host, booting.status, BMCUnreachable("gone"))
    assert failed.status.provisioning.boot_requested == booting.status.provisioning.boot_requested  # type: ignore[union-attr]
    assert failed.status.last_power_command == booting.status.last_power_command


def test_a_deferred_boot_is_withdrawn_so_it_is_sent_later() -> None:
    bench = fresh()
    bench.run()  # inspecting, its boot id recorded
    booting = bench.run()
    assert booting.actions
    deferred = record_action_deferred(booting.status)
    assert deferred.status.provisioning.boot_requested is None  # type: ignore[union-attr]
    assert deferred.status.last_power_command is None
    assert deferred.status.error_type is None
