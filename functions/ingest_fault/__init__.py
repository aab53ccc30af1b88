"""The ingest Lambda: invoked by the fault IoT rule."""
