"""Readers and writers for the product's file formats (ENVI bundles, calibrations)."""
