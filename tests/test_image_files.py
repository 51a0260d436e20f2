"""dic_tf.utils.image_files (the one reader, writer and extension list) and dic_tf.utils.resize."""

import os

import numpy as np
import pytest
from PIL import Image

from dic_tf.utils import image_files, resize
from tests.exif_images import save_with_orientation


@pytest.fixture(scope="module")
def picture():
    """uint8 [20, 28, 3]: not square, so a turned reading shows in the shape."""
    return np.random.default_rng(0).integers(0, 256, (20, 28, 3), dtype=np.uint8)


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("extension", [".png", ".tif", ".webp"])
def test_every_exif_orientation_is_read_upright(picture, tmp_path, orientation, extension):
    path = tmp_path / f"turned{extension}"
    save_with_orientation(path, picture, orientation, **({"lossless": True} if extension == ".webp" else {}))
    np.testing.assert_array_equal(image_files.read_rgb(path), picture)
    assert image_files.image_size(path) == (28, 20)


def test_an_exif_turned_jpeg_is_read_upright(tmp_path):
    yy, xx = np.mgrid[0:20, 0:28]
    smooth = np.stack([8 * xx, 12 * yy, 4 * (xx + yy)], axis=-1).astype(np.uint8)
    save_with_orientation(tmp_path / "turned.jpg", smooth, 8, quality=95)
    turned = image_files.read_rgb(tmp_path / "turned.jpg").astype(int)
    assert turned.shape == smooth.shape and image_files.image_size(tmp_path / "turned.jpg") == (28, 20)
    assert np.abs(turned - smooth).mean() < 2


def test_unusual_modes_become_8_bit_rgb(picture, tmp_path):
    gray = np.asarray(Image.fromarray(picture).convert("L"))
    gray_rgb = np.repeat(gray[..., None], 3, axis=-1)
    Image.fromarray(gray).save(tmp_path / "gray.png")
    Image.fromarray(picture).convert("P").save(tmp_path / "palette.png")
    Image.fromarray(picture).convert("RGBA").save(tmp_path / "alpha.png")
    Image.fromarray(np.dstack([gray, np.full_like(gray, 7)])).save(tmp_path / "gray_alpha.png")
    Image.fromarray(gray.astype(np.uint16) * 257).save(tmp_path / "gray16.png")
    Image.fromarray(picture).convert("CMYK").save(tmp_path / "cmyk.jpg", quality=95)
    Image.fromarray(picture).save(tmp_path / "lossless.webp", lossless=True)
    Image.fromarray(picture).save(tmp_path / "plain.ppm")
    for name, expected in [("gray.png", gray_rgb), ("gray16.png", gray_rgb), ("gray_alpha.png", gray_rgb),
                           ("alpha.png", picture), ("lossless.webp", picture), ("plain.ppm", picture),
                           ("palette.png", np.asarray(Image.fromarray(picture).convert("P").convert("RGB")))]:
        image = image_files.read_rgb(tmp_path / name)
        assert image.dtype == np.uint8 and image.shape == picture.shape, name
        np.testing.assert_array_equal(image, expected, err_msg=name)
    cmyk = image_files.read_rgb(tmp_path / "cmyk.jpg").astype(int)
    assert cmyk.shape == picture.shape and np.abs(cmyk - picture).mean() < 8


def test_16_bit_gray_is_rounded_to_8_bits(tmp_path):
    values = np.array([[0, 128, 129, 385, 65535, 32896]], np.uint16)
    Image.fromarray(values).save(tmp_path / "gray16.png")
    np.testing.assert_array_equal(image_files.read_rgb(tmp_path / "gray16.png")[0, :, 0], [0, 0, 1, 1, 255, 128])


@pytest.mark.parametrize("name, content, fragment", [
    ("broken.png", b"\x89PNG\r\n\x1a\n not really a png", "not a readable image"),
    ("empty.jpg", b"", "not a readable image"),
    ("notes.png", b"some text", "not a readable image"),
])
def test_an_unreadable_file_is_one_line_naming_it(tmp_path, name, content, fragment):
    (tmp_path / name).write_bytes(content)
    for read in (image_files.read_rgb, image_files.image_size):
        with pytest.raises(image_files.ImageReadError) as caught:
            read(tmp_path / name)
        message = str(caught.value)
        assert message.startswith(f"{tmp_path / name}: {fragment}") and "\n" not in message


def test_float_images_and_missing_files_are_refused(tmp_path):
    Image.fromarray(np.zeros((4, 4), np.float32)).save(tmp_path / "float.tif")
    with pytest.raises(image_files.ImageReadError, match=r"float\.tif: floating-point pixels \(mode F\)"):
        image_files.read_rgb(tmp_path / "float.tif")
    with pytest.raises(image_files.ImageReadError, match="missing.png: not a readable image"):
        image_files.read_rgb(tmp_path / "missing.png")


def test_max_pixels_is_checked_from_the_header(picture, tmp_path):
    save_with_orientation(tmp_path / "turned.png", picture, 6)
    assert image_files.read_rgb(tmp_path / "turned.png", max_pixels=20 * 28).shape == (20, 28, 3)
    with pytest.raises(image_files.ImageReadError, match=r"turned.png: 28x20 pixels \(0.0 MP\) is above"):
        image_files.read_rgb(tmp_path / "turned.png", max_pixels=20 * 28 - 1)


def test_one_extension_list_webp_included_any_case(tmp_path):
    for name in ("b.PNG", "a.webp", "c.Jpeg", "d.tif", "e.ppm", "notes.txt", "f.gif"):
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "folder.png").mkdir()
    assert image_files.list_images(tmp_path) == ["a.webp", "b.PNG", "c.Jpeg", "d.tif", "e.ppm"]
    assert ".webp" in image_files.IMAGE_EXTENSIONS
    with pytest.raises(FileNotFoundError, match="nowhere"):
        image_files.list_images(tmp_path / "nowhere")


def test_write_png_is_atomic_and_replaces_only_when_asked(picture, tmp_path):
    path = tmp_path / "out" / "a.png"
    image_files.write_png(str(path), picture)
    np.testing.assert_array_equal(image_files.read_rgb(path), picture)
    assert oct(os.stat(path).st_mode & 0o777) == oct(0o666 & ~_umask())
    with pytest.raises(FileExistsError, match="a.png"):
        image_files.write_png(str(path), picture[::-1])
    np.testing.assert_array_equal(image_files.read_rgb(path), picture)
    image_files.write_png(str(path), picture[::-1], overwrite=True)
    np.testing.assert_array_equal(image_files.read_rgb(path), picture[::-1])
    assert sorted(os.listdir(tmp_path / "out")) == ["a.png"]


def test_an_rgb_colour_profile_is_carried_and_another_is_left_out(picture, tmp_path):
    """A Display P3 photo's profile travels to its outputs; a Lab/CMYK/gray one does not describe RGB."""
    from PIL import ImageCms

    rgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    lab = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()
    Image.fromarray(picture).save(tmp_path / "rgb.jpg", icc_profile=rgb)
    Image.fromarray(picture).save(tmp_path / "lab.jpg", icc_profile=lab)
    Image.fromarray(picture).save(tmp_path / "none.png")
    for name, expected in (("rgb.jpg", rgb), ("lab.jpg", None), ("none.png", None)):
        pixels, profile = image_files.read_rgb_and_profile(tmp_path / name)
        np.testing.assert_array_equal(pixels, image_files.read_rgb(tmp_path / name))
        assert profile == expected, name
    with pytest.raises(image_files.ImageReadError, match="missing.jpg"):
        image_files.read_rgb_and_profile(tmp_path / "missing.jpg")
    image_files.write_jpeg(str(tmp_path / "out.jpg"), picture, icc_profile=rgb)
    image_files.write_png(str(tmp_path / "out.png"), picture, icc_profile=rgb)
    image_files.write_png(str(tmp_path / "plain.png"), picture)
    for name, expected in (("out.jpg", rgb), ("out.png", rgb), ("plain.png", None)):
        with Image.open(tmp_path / name) as image:
            assert image.info.get("icc_profile") == expected, name


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_names():
    assert image_files.output_names(["x/a.png", "x/a.jpg", "x/b.jpg"]) == ["a.png.png", "a.jpg.png", "b.png"]
    assert image_files.output_stems(["x/a.png", "x/a.jpg", "x/b.jpg"]) == ["a.png", "a.jpg", "b"]
    with pytest.raises(ValueError, match="x/a.jpg and y/a.jpg would both give outputs named a.jpg"):
        image_files.output_stems(["x/a.jpg", "y/a.jpg"])
    pairs, unmatched = image_files.match_files(["a.png", "c.png"], ["a.jpg", "b.png", "c.png"], "sr", "hr")
    assert pairs == [("a.png", "a.jpg"), ("c.png", "c.png")] and unmatched == ["b.png"]
    with pytest.raises(FileNotFoundError, match="No ground truth for 'sr/d.png'"):
        image_files.match_files(["d.png"], ["a.png"], "sr", "hr")
    assert image_files.file_stem("faces/a.b.png") == "a.b" and image_files.size_text(np.zeros((3, 5))) == "5x3"


def test_resize_is_pillows_bicubic(picture):
    pillow = Image.fromarray(picture)
    square = np.asarray(pillow.resize((16, 16), Image.BICUBIC))
    np.testing.assert_array_equal(resize.resize_bicubic(picture, 16), square)
    wide = np.asarray(pillow.resize((7, 10), Image.BICUBIC))
    np.testing.assert_array_equal(resize.resize_bicubic(picture, (10, 7)), wide)
    box = (1.5, 2.25, 20.0, 17.5)
    np.testing.assert_array_equal(resize.resize_bicubic(picture, 32, box=box),
                                  np.asarray(pillow.resize((32, 32), Image.BICUBIC, box=box)))
    upscaled = resize.upscale_bicubic(picture, 8)
    np.testing.assert_array_equal(upscaled, np.asarray(pillow.resize((224, 160), Image.BICUBIC)))
    assert upscaled.flags.writeable  # the photo canvas is pasted into in place
