"""How the IPMI driver names pyghmi's failures: no answer is never a refusal."""

from __future__ import annotations

import pyghmi.exceptions as pyghmi_exceptions
import pytest

from oci_operator.bmc.driver import BMCAuthError, BMCCommandError, BMCError, BMCUnreachable
from oci_operator.bmc.ipmi import _translate


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        (None, BMCUnreachable),  # pyghmi's timeout: IpmiException(None)
        ("Session no longer connected", BMCUnreachable),
        ("timeout", BMCUnreachable),
        # A login ended by pyghmi_fixes for want of answers, under reply loss: it was reported as a
        # BMCCommandError, so a healthy host said PowerCommandFailed and backed off as if refused.
        ("no answer after retries", BMCUnreachable),
        ("Incorrect password provided", BMCAuthError),
        ("Unauthorized name in RAKP2", BMCAuthError),
        ("Invalid data field in request", BMCCommandError),
    ],
)
def test_pyghmi_failures_get_the_kind_that_says_what_happened(text: str | None, kind: type[BMCError]) -> None:
    error = _translate(pyghmi_exceptions.IpmiException(text), "127.0.0.1", 623)
    assert type(error) is kind
    assert "127.0.0.1:623" in str(error)
