"""Super-resolving the faces of whole photographs (`predict.py --photos`).

Photo files are read upright as 8-bit RGB by `dic_tf.utils.image_files`
(EXIF rotation, grayscale, CMYK, 16-bit), or refused in one line. Then one
job per module, used in this order by `photo`:

* `detection`: faces and their 5 landmarks (MTCNN, the optional extra
  `photos`);
* `template`: where those 5 landmarks lie in DIC's 128x128 training crop;
* `alignment`: the similarity transform photo -> crop and the official
  bicubic sampling of the HR and LR crops;
* `paste`: the bicubic-upscaled photo and the SR face warped back into it;
* `photo`: runs the model on the aligned faces of one photo and pastes
  them back (arrays in, arrays out);
* `batch`: photo files in, the crops, the upscaled photos and `photos.json`
  out (`super_resolve_photos`, and `run` for `predict.py --photos`).
"""
