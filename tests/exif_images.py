"""Pictures stored turned or mirrored, with the EXIF orientation that shows them upright (Pillow)."""

import numpy as np
from PIL import Image

# EXIF orientation -> how a camera stores an upright picture (the viewer undoes it).
_STORED = {
    1: lambda a: a,
    2: lambda a: a[:, ::-1],
    3: lambda a: np.rot90(a, 2),
    4: lambda a: a[::-1],
    5: lambda a: a.transpose(1, 0, 2),
    6: lambda a: np.rot90(a, 1),
    7: lambda a: np.rot90(a, 2).transpose(1, 0, 2),
    8: lambda a: np.rot90(a, -1),
}


def save_with_orientation(path, upright, orientation, **save_kwargs):
    """Saves uint8 `[H, W, 3]` `upright` stored as a camera would with EXIF `orientation` (1-8).

    Example:
        save_with_orientation(tmp_path / "phone.png", face, 6)  # stored [W, H, 3], shown upright
    """
    exif = Image.Exif()
    exif[0x0112] = orientation
    stored = np.ascontiguousarray(_STORED[orientation](np.asarray(upright)))
    Image.fromarray(stored).save(path, exif=exif, **save_kwargs)
