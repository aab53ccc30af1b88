"""Shared fixtures. Tests import builders from tests.factories."""

from hypothesis import Phase, settings

# `pytest --hypothesis-profile=no-shrink`: report the first failing example at once
# (shrinking an emulator-backed example can take minutes).
settings.register_profile(
    "no-shrink", phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target]
)
