"""Training DIC through Keras `fit()`: tasks, the grouped optimizer, callbacks, the run."""
