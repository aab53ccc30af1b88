"""Plain-Python domain logic: diagnosis, parts, orders, matching. No boto3 here."""
