"""The dead-letter replay Lambda: an SQS consumer of the ingest dead-letter queue."""
