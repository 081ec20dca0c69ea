"""What the operator needs from a BMC, independent of the protocol.

Every method is safe to call repeatedly (metal3's rule for provisioners): a command that finds the
server already in the wanted state does no harm. Methods block; call them through the Governor,
which runs them on its own threads with a timeout.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol


class PowerAction(StrEnum):
    ON = "on"
    OFF = "off"  # hard: like holding the button
    SOFT_OFF = "soft"  # ACPI: the OS shuts down, if it listens
    CYCLE = "cycle"  # off then on, done by the BMC
    RESET = "reset"  # warm reset


class BootDevice(StrEnum):
    PXE = "pxe"
    DISK = "disk"


class BMCError(Exception):
    """A BMC call failed; the subclass says how. Messages never contain credentials."""

    kind = "error"


class BMCUnreachable(BMCError):
    kind = "unreachable"


class BMCNotSent(BMCUnreachable):
    """No answer, and the command never left: the session could not be established (login failed or
    lost) or the request could not be sent. Unlike a lost reply, the BMC cannot have done it."""


class BMCAuthError(BMCError):
    kind = "authentication"


class BMCTimeout(BMCError):
    kind = "timeout"


class BMCUnsupported(BMCError):
    kind = "unsupported"


class BMCCommandError(BMCError):
    """The BMC answered, and refused (an IPMI completion code)."""

    kind = "command"

    def __init__(self, message: str, command: str = "", code: int | None = None) -> None:
        super().__init__(message)
        self.command = command  # what was refused, e.g. "set boot device pxe"
        self.code = code


class BMCCommandUnsupported(BMCCommandError):
    """A refusal that means "this BMC cannot do that": retrying the same command cannot help."""

    kind = "command-unsupported"


class BMCDriver(Protocol):
    def check_credentials(self) -> None:
        """Log in (or reuse a live session); raise BMCAuthError if the BMC refuses the credentials."""

    def get_power(self) -> bool:
        """True when the server is powered on."""

    def set_power(self, action: PowerAction) -> None:
        """Send exactly one power command."""

    def set_boot_device(self, device: BootDevice, persistent: bool, uefi: bool) -> None:
        """Choose the next (or every) boot device."""

    def get_boot_device(self) -> BootDevice | None:
        """The boot device the BMC will use next; None when it names something else or cannot say."""

    def close(self) -> None:
        """Forget cached sessions (credentials changed, host deleted)."""
