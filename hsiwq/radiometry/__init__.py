"""Radiometric correction: raw counts to remote-sensing reflectance with quality control."""
