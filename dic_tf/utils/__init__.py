"""Helpers without TensorFlow or Keras: atomic writes, image files, resizing, image space."""
