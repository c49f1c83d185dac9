"""Customer accounts: the company a contact belongs to, the contacts who hold its roles,
its owner, and the subscriptions it pays for."""
