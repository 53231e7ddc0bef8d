"""Stage 4, trial: one candidate's life — build, screen, time, train, score — within a budget.

Imports only the base modules and the stages below (data, space, measure).
"""
