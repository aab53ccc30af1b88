"""Data access: one small module per DynamoDB table. The only place that talks to DynamoDB."""
