"""The measuring behind `python -m dic_tf.benchmark` (`dic_tf.cli.benchmark`): one table of step,
inference and data rows.

Modules: `runners` (timing, the TensorFlow and JAX closures), `rows` (one
row per process, the report), `table` (its markdown).
"""
