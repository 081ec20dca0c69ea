"""Reconcilers: plain functions from observed state to desired status and actions; no kopf here."""
