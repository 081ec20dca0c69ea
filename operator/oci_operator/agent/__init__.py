"""The node agent. `oci_agent.py` is one standard-library-only file, copied as is onto installed hosts."""
