"""The benchmark behind `python -m dic_tf.benchmark`: one table of step, inference and data rows."""
