"""Real-world degradations: the LR of a training face from its HR (numpy + OpenCV).

`make_lr(hr, scale)` is the paper's clean LR (Pillow bicubic, exactly
`preparation.make_lr`); `make_lr(hr, scale, RealDegradation(), rng)` draws
Real-ESRGAN's high-order degradation (Wang et al., ICCVW 2021,
`realesrgan_x4plus`), optionally in BSRGAN's shuffled order (Zhang et al.,
ICCV 2021), so that DIC learns the JPEG, blur, noise and unknown resamplers of
real photos. The order of operations, every field and its source are in
docs/degradation.md:

    first:  blur -> resize (HR * f) -> noise -> JPEG
    second: blur (p=0.8) -> resize (LR * f) -> noise
    final:  [resize to LR + sinc (p=0.8)] and JPEG, in a random order
    shuffled (p=shuffle_prob): the six blur/resize/noise operations in a random
            permutation, the first JPEG after the third, the final step last.
    clean (p=clean_prob, 0 by default): the clean bicubic LR instead.

Sizes are relative to the HR side `S`, so the operations can be permuted, and
never fall below `min_side`. Real-ESRGAN's lengths in HR pixels (blur sigma,
kernel size) are doubled and its cutoffs in radians per HR pixel halved, so
that they are the same in LR pixels at x8 as Real-ESRGAN's at x4; the final
sinc acts on the LR and keeps Real-ESRGAN's values.

Determinism: every draw comes from the `np.random.Generator` passed in (no
global state, safe on the parallel threads of tf.data's map); the input
pipelines pass `degradation_rng(seed, epoch, position)`, so a sample's LR
depends only on the data seed, the epoch and its position in the epoch.

Written here rather than taken from a library: the kernels (OpenCV has no
generalized-Gaussian, plateau or circular-sinc kernel generator, and none
drawing from a caller's generator; albumentations and BasicSR draw from the
global `random`/`np.random` state, which breaks the `(seed, step, index)`
determinism) and the Bessel J1 of the sinc kernel (a rational approximation,
so that SciPy is not a dependency). Filtering, resizing and JPEG are OpenCV's
(`cv2.filter2D` with reflected borders, `cv2.resize`, `cv2.imencode`).

Modules: `options` (`RealDegradation`, its checks, `resolve`), `kernels`
(the blur kernels and their draws), `operations` (blur, resize, noise, JPEG,
and `degrade` / `make_lr` chaining them).

Example:
    rng = degradation_rng(seed=0, epoch=0, position=5)
    lr = make_lr(hr, 8, RealDegradation(), rng)                 # uint8 [16, 16, 3]
    lr, record = degrade(hr, 8, RealDegradation.from_overrides("jpeg_range=40:90"), rng)
"""


from dic_tf.data.degradation.kernels import (
    bessel_j1,
    bivariate_kernel,
    circular_lowpass_kernel,
    final_sinc_kernel,
    random_kernel,
)
from dic_tf.data.degradation.operations import (
    add_gaussian_noise,
    add_poisson_noise,
    blur,
    degradation_rng,
    degrade,
    encode_jpeg,
    jpeg,
    make_lr,
    resize,
)
from dic_tf.data.degradation.options import (
    DEGRADATIONS,
    KERNEL_TYPES,
    RESIZE_DIRECTIONS,
    RESIZE_MODES,
    RealDegradation,
    resolve,
)

__all__ = [
    "DEGRADATIONS",
    "KERNEL_TYPES",
    "RESIZE_DIRECTIONS",
    "RESIZE_MODES",
    "RealDegradation",
    "add_gaussian_noise",
    "add_poisson_noise",
    "bessel_j1",
    "bivariate_kernel",
    "blur",
    "circular_lowpass_kernel",
    "degradation_rng",
    "degrade",
    "encode_jpeg",
    "final_sinc_kernel",
    "jpeg",
    "make_lr",
    "random_kernel",
    "resize",
    "resolve",
]
