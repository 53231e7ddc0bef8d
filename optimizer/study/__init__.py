"""Stage 5, study: the Optuna study that runs trials — storage, samplers, the run's settings, assembling live parts.

Imports only the base modules and the stages below (data, space, measure, trial).
"""
