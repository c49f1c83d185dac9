"""Mail that comes back to the sender: the unsubscribe mailbox, bounces and complaints, and
replies kept for a person to read. Read by the IMAP poller and `POST /api/inbound`."""
