"""A fleet of virtual BMCs speaking IPMI 2.0 (RMCP+) on loopback UDP, for tests, demos and benchmarks."""
