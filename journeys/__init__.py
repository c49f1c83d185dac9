"""Journeys as code: definitions, validation, the pure engine, drawing and simulation."""
