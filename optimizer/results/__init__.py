"""Stage 6, results: what a study found — the front, CSVs, plot, re-timing, baselines, summary, export.

Imports only the base modules and the stages below (data, space, measure, trial, study).
"""
