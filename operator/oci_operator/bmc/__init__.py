"""Everything that talks to, or about, baseboard management controllers."""
