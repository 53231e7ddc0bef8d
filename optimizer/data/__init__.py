"""Stage 1, data: the datasets' original file formats, decoded, checked, split and fed through tf.data.

Imports only the base modules (optimizer.errors, optimizer.defaults).
"""
