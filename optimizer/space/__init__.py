"""Stage 2, space: what a candidate is — KerasTuner spaces answered by Optuna, loading a space or a model, building.

Imports only the base modules and the data stage.
"""
