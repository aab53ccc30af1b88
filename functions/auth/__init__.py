"""Who is calling: bearer tokens of the Cognito user pool, verified the same way everywhere."""
