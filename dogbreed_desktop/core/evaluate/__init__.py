"""Measuring a model on labelled photos, and the report of where it fails."""
