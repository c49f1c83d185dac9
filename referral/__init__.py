"""Referral program: sources, attribution, rewards and fraud checks."""
