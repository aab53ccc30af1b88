"""Faultline Lambda code."""
