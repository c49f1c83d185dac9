"""Outgoing webhooks: HMAC-signed JSON deliveries, retried with backoff and logged."""
