"""WSGI entry point for gunicorn: `gunicorn wsgi:app`."""

import gc

from web import create_app

app = create_app()
# What starting the app made (modules, mappers, the OpenAPI document: some 240,000 objects)
# lives as long as the worker. Frozen, it is no longer traversed by every full collection,
# which a batch of 1,000 events sets off several times; and a young generation of 5,000
# objects rather than 700 collects a batch's short-lived rows ten times less often. The
# collector's CPU per batch of events: 81 ms, 24 ms frozen, 13 ms with both
# (a batch of `nurture bench api`, in-process, by `gc.callbacks` and thread time).
gc.freeze()
gc.set_threshold(5000, 20, 10)
