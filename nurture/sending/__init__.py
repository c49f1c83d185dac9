"""Sending: send rows (due work with a unique key), senders and delivery."""
