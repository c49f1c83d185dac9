"""The lifecycle stages a contact moves through, in order (see the domain's lifecycle)."""

STAGES = (
    "learn", "try", "buy", "onboard", "adopt", "renew", "expand", "churned", "deprovisioned",
)
