"""Idempotency keys for the API's POSTs: a retry of a create gets the first answer again."""
