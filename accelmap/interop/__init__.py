"""Interoperability with other tools' file formats (Timeloop)."""
