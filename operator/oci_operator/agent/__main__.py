"""`python -m oci_operator.agent` runs the same file the hosts get."""

from .oci_agent import main

raise SystemExit(main())
