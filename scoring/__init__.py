"""Lead scoring: fit and decaying engagement, handoff rules and the predictive model."""
