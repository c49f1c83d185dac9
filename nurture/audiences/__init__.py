"""Segments: named conditions over contacts, counted in SQL (issue 19, section 3)."""
