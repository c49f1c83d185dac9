"""The append-only event log: the one way the outside world moves a contact."""
