"""Versioned API models: the single source of the CRD schemas."""
