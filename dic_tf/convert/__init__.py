"""The authors' PyTorch checkpoints: reading `.pth` files and loading them into our models.

* `official_weights`: `load_official_weights(model, source)`, the reader of
  `.pth` / `.npz` state dicts and the name normalisation;
* `weight_tables`: for each of our models, the PyTorch name and layout of
  every weight.
"""

from dic_tf.convert.official_weights import (
    CheckpointMismatchError,
    load_official_weights,
    normalize_state_dict,
    read_npz_state_dict,
    read_torch_checkpoint,
)
from dic_tf.convert.weight_tables import weight_table

__all__ = [
    "CheckpointMismatchError",
    "load_official_weights",
    "normalize_state_dict",
    "read_npz_state_dict",
    "read_torch_checkpoint",
    "weight_table",
]
