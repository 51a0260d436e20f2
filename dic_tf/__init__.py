"""dic_tf: DIC and DICGAN face super-resolution (Ma et al., CVPR 2020) in Keras 3.

The public API is importable from the package; each name is imported on first
use, so `import dic_tf` itself does not import TensorFlow or Keras.

Example:
    import dic_tf

    model = dic_tf.build_dic(dic_tf.DICConfig.tiny())
    out = model(lr - dic_tf.RGB_MEAN)        # lr: RGB in [0, 1], [B, 16, 16, 3]
    dic_tf.load_official_weights(model, "DIC_CelebA.pth")   # with DICConfig.x8()
"""

import importlib

__version__ = "0.1.0"

_API = {
    "DICConfig": "dic_tf.config",
    "RGB_MEAN": "dic_tf.config",
    "DIC": "dic_tf.models",
    "build_dic": "dic_tf.models",
    "build_feedback_hourglass": "dic_tf.models",
    "build_stacked_hourglass": "dic_tf.models",
    "build_lightcnn": "dic_tf.models",
    "load_official_weights": "dic_tf.convert",
}
__all__ = sorted(_API)


def __getattr__(name):
    if name not in _API:
        raise AttributeError(f"module 'dic_tf' has no attribute {name!r}")
    value = getattr(importlib.import_module(_API[name]), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_API))
