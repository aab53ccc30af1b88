"""The HTTP API (chalice): homeowners, technicians and operators."""
