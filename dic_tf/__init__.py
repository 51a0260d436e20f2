"""dic_tf: DIC and DICGAN face super-resolution (Ma et al., CVPR 2020) in Keras 3.

Importing the package imports Keras (TensorFlow's or JAX's start-up lines
hidden, `dic_tf.utils.startup`) and registers every serializable class of
dic_tf, so a saved `.keras` DIC loads after `import dic_tf` alone.

Example:
    import dic_tf

    model = dic_tf.build_dic(dic_tf.DICConfig.tiny())
    out = model(lr - dic_tf.RGB_MEAN)        # lr: RGB in [0, 1], [B, 16, 16, 3]
    dic_tf.load_official_weights(model, "DIC_CelebA.pth")   # with DICConfig.x8()

    model = keras.saving.load_model("saved_models/dic/1/dic.keras")
"""

from dic_tf.utils import startup

startup.import_keras_quietly()

# The layers, models and training tasks register their Keras classes
# (`package="dic_tf"`) when imported.
from dic_tf import layers, models, training  # noqa: E402, F401
from dic_tf.convert import load_official_weights  # noqa: E402
from dic_tf.models import (  # noqa: E402
    DIC,
    build_dic,
    build_feedback_hourglass,
    build_lightcnn,
    build_stacked_hourglass,
)
from dic_tf.models.dic_config import DICConfig  # noqa: E402
from dic_tf.utils.image_space import RGB_MEAN  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "DIC",
    "DICConfig",
    "RGB_MEAN",
    "build_dic",
    "build_feedback_hourglass",
    "build_lightcnn",
    "build_stacked_hourglass",
    "load_official_weights",
]
