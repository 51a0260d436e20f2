"""Helpers below the models, without TensorFlow: atomic writes, image files, the one bicubic resize,
image space, the allocator, the Keras backend and a quiet Keras import."""
