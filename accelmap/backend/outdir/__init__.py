"""The OUTDIR contract: schedule.json and its schema, weights, buffer plan, per-layer files; emit and load."""
