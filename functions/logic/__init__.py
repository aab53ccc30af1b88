"""Use cases: the steps of a request, over the domain and the data-access layer (no boto3)."""
