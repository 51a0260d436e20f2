"""dic_tf: DIC and DICGAN face super-resolution (Ma et al., CVPR 2020) in Keras 3."""

__version__ = "0.1.0"
