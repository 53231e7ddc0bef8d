"""Stage 7, search: `archopt search` end to end — supervising workers, driving the study, writing results; KerasTuner.

Imports only the base modules and the stages below; only `optimizer.cli` and `optimizer.commands` import it.
"""
