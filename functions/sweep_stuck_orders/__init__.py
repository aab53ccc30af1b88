"""The stuck-order sweeper Lambda: run on a schedule."""
