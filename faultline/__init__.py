"""The `faultline` command: sits above infra/ and bench/ and dispatches to them."""
