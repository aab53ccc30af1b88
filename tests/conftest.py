"""Shared fixtures. Tests import builders from tests.factories."""
