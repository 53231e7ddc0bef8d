"""Stage 3, measure: what a built model costs — step time, MACs, memory — and on which device.

Imports only the base modules and the stages below (data, space).
"""
