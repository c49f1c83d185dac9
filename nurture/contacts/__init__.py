"""Contacts: the people Nurture talks to, their stage and its history."""
