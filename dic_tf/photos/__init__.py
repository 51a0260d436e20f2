"""Super-resolving the faces of whole photographs (`predict.py --photos`).

Photo files are read upright as 8-bit RGB by `dic_tf.utils.image_files`
(EXIF rotation, grayscale, CMYK, 16-bit), or refused in one line. Then one
job per module, used in this order by `photo`:

* `detection`: faces and their 5 landmarks (MTCNN, the optional extra
  `photos`);
* `template`: where those 5 landmarks lie in DIC's 128x128 training crop;
* `alignment`: the similarity transform photo -> crop and the sampling of a
  crop (a model's LR) straight from the photo in one resampling;
* `choice`: which model's LR size fits a face's crop side, or why the face
  stays bicubic (measured rule);
* `paste`: the SR face warped into the photo upscaled by any factor;
* `photo`: plans the faces of one photo, runs the models on them and pastes
  them into its bicubic upscale (arrays in, arrays out);
* `batch`: photo files in, the upscaled photos (`<stem>_x<U>.<ext>`), the
  crops and `photos.json` out (`super_resolve_photos`, and `run` for
  `predict.py --photos --upscale=U`);
* `measurement`: the output photos' faces scored against the same photos at
  the higher resolution, and against bicubic (docs/photos.md's tables).
"""
