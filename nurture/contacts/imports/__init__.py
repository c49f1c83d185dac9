"""Importing contacts from a CSV file: reading it (`reading`, pure), mapping its columns to
contact fields and checking each row (`mapping`, pure), and the job that writes it in
batches, each its own transaction, resumable from its checkpoint (`service`)."""
