"""WSGI entry point for gunicorn: `gunicorn wsgi:app`."""

import gc

from web import create_app

app = create_app()
# What starting the app made (modules, mappers, the OpenAPI document: some 240,000 objects)
# lives as long as the worker. Frozen, it is no longer traversed by every full collection,
# which a batch of 1,000 events sets off several times: the collector's CPU per batch fell
# from 81 ms to 26 ms (`nurture bench api`).
gc.freeze()
