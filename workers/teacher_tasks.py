"""Teacher jobs on the default queue: skill extraction, prompt trials, connection tests."""
