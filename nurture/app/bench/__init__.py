"""`nurture bench ...`: engine, scoring, send and web benchmarks (not tests: timings)."""
