"""Broadcasts: one-off campaigns to a segment or a list, sent through the send pipeline."""
