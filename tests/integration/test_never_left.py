"""Issue 13 (c): the IPMI driver tells a command that never left (no session: the login's replies were
lost) from a command whose reply was lost after it left. Only the latter may have been done, so only its
intent is kept; keeping the former's made healthy hosts under reply loss end PowerCommandNotObeyed.
Real pyghmi over UDP against the simulator; its command log shows what the BMC did."""

from __future__ import annotations

import pytest

from oci_operator.bmc.driver import BMCNotSent, BMCUnreachable, BootDevice, PowerAction
from oci_operator.bmc.drivers import driver_for
from support.bmcsim import SimControl


def test_a_command_whose_login_got_no_answer_never_left(sim: SimControl) -> None:
    bmc = sim.take()
    sim.faults(bmc, silent=True)  # every reply lost, the login's too
    try:
        driver = driver_for(bmc.address, bmc.username, bmc.password)
        with pytest.raises(BMCNotSent, match="power on was not sent"):
            driver.set_power(PowerAction.ON)
        with pytest.raises(BMCNotSent, match="set boot device pxe was not sent"):
            driver.set_boot_device(BootDevice.PXE, persistent=False, uefi=True)
    finally:
        sim.faults(bmc, silent=False)
    assert [c for c in sim.log(bmc) if c.startswith(("power_", "set_boot"))] == []
    assert sim.state(bmc)["poweredOn"] is False


def test_a_command_whose_reply_was_lost_after_it_left_may_have_landed(sim: SimControl) -> None:
    bmc = sim.take()
    driver = driver_for(bmc.address, bmc.username, bmc.password)
    driver.check_credentials()  # a live session: the command leaves
    sim.faults(bmc, drop=1.0)  # then every reply is lost
    try:
        with pytest.raises(BMCUnreachable) as lost:
            driver.set_power(PowerAction.ON)
        assert not isinstance(lost.value, BMCNotSent)
    finally:
        sim.faults(bmc, drop=0.0)
    assert sim.log(bmc).count("power_on") == 1  # done once: the retransmissions got the cached reply
    assert sim.state(bmc)["poweredOn"] is True
    assert driver.get_power() is True  # the next call logs in afresh
