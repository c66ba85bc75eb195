"""Threshold pre-warning: rule evaluation, alert state and notification delivery."""
