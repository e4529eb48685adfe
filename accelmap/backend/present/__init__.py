"""Presentation of a schedule: summary table, report.html and its SVG plots, the readable loop nest."""
