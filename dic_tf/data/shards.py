"""Prepared-dataset manifest and random access to its TFRecord shards, without TensorFlow.

A prepared dataset is a folder with `manifest.json` and TFRecord shards of
`tf.train.Example`s holding:

  * `hr_png`: bytes, the prepared HR face, PNG-encoded uint8 RGB `[S, S, 3]`;
  * `landmarks`: float32 `[K * 2]`, landmarks `(x, y)` in HR pixels, row-major `[K, 2]`;
  * `name`: bytes, the image name from the annotations (UTF-8).

This module reads and writes both with the standard library and numpy only
(the TFRecord framing and the few protobuf wire types an `Example` uses;
checksums are written but not verified), so data preparation and the
`PyDataset` work where TensorFlow is absent.
"""

import io
import json
import os
import struct

import numpy as np
from PIL import Image

FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"
HR_KEY = "hr_png"
LANDMARKS_KEY = "landmarks"
NAME_KEY = "name"

_HEADER = struct.Struct("<QI")
_FOOTER_SIZE = 4


def read_manifest(manifest_or_dir):
    """Reads a dataset manifest.

    Args:
        manifest_or_dir: `manifest.json` or the folder holding it.

    Returns:
        The manifest dict, with `shards[i]["path"]` made absolute.

    Raises:
        ValueError: missing file, unknown `format_version` or missing keys.
    """
    path = manifest_or_dir
    if os.path.isdir(path):
        path = os.path.join(path, MANIFEST_NAME)
    if not os.path.isfile(path):
        raise ValueError(f"{path}: manifest not found; run prepare_data.py first")
    with open(path, encoding="utf-8") as f:
        manifest = json.load(f)
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"{path}: format_version is {manifest.get('format_version')!r}, expected {FORMAT_VERSION}")
    for key in ("num_examples", "shards", "hr_size", "scale", "num_keypoints"):
        if key not in manifest:
            raise ValueError(f"{path}: missing key {key!r}")
    root = os.path.dirname(os.path.abspath(path))
    for shard in manifest["shards"]:
        shard["path"] = os.path.join(root, shard["file"])
    return manifest


class RecordIndex:
    """Random access to the records of TFRecord files (thread-safe, picklable).

    Args:
        paths: TFRecord files; records are numbered across them in order.
    """

    def __init__(self, paths):
        self.paths = list(paths)
        self.locations = []
        for file_index, path in enumerate(self.paths):
            size = os.path.getsize(path)
            with open(path, "rb") as f:
                offset = 0
                while offset < size:
                    header = f.read(_HEADER.size)
                    if len(header) != _HEADER.size:
                        raise ValueError(f"{path}: truncated record header at byte {offset}")
                    length, _ = _HEADER.unpack(header)
                    end = offset + _HEADER.size + length + _FOOTER_SIZE
                    if end > size:
                        raise ValueError(f"{path}: record at byte {offset} claims {length} bytes, file is truncated")
                    self.locations.append((file_index, offset + _HEADER.size, length))
                    offset = end
                    f.seek(offset)

    def __len__(self):
        return len(self.locations)

    def read(self, index):
        """The serialized record number `index` (bytes)."""
        file_index, offset, length = self.locations[index]
        fd = os.open(self.paths[file_index], os.O_RDONLY)
        try:
            return os.pread(fd, length, offset)
        finally:
            os.close(fd)


def _varint(buffer, pos):
    result = shift = 0
    while True:
        byte = buffer[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7


def _fields(buffer):
    """Yields `(field number, wire type, value)` of a protobuf message."""
    pos = 0
    while pos < len(buffer):
        key, pos = _varint(buffer, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buffer, pos)
        elif wire == 2:
            size, pos = _varint(buffer, pos)
            value, pos = buffer[pos : pos + size], pos + size
        elif wire in (1, 5):
            size = 8 if wire == 1 else 4
            value, pos = buffer[pos : pos + size], pos + size
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        if pos > len(buffer):
            raise ValueError("truncated protobuf message")
        yield number, wire, value


def _packed_varints(buffer):
    pos, values = 0, []
    while pos < len(buffer):
        value, pos = _varint(buffer, pos)
        values.append(value - (1 << 64) if value >= 1 << 63 else value)
    return values


def _feature(buffer):
    """Decodes a `tf.train.Feature` into a list of bytes, a float32 array or a list of ints."""
    for kind, _, payload in _fields(buffer):
        if kind == 1:
            return [bytes(value) for _, _, value in _fields(payload)]
        if kind == 2:
            return np.concatenate(
                [np.frombuffer(bytes(value), dtype="<f4") for _, _, value in _fields(payload)] or [np.zeros(0, "<f4")]
            ).astype(np.float32)
        if kind == 3:
            values = []
            for _, wire, value in _fields(payload):
                values.extend(
                    _packed_varints(value) if wire == 2 else [value - (1 << 64) if value >= 1 << 63 else value]
                )
            return values
    return []


def parse_example(serialized):
    """Decodes a serialized `tf.train.Example`.

    Returns:
        `{feature name: list of bytes | float32 array | list of ints}`.
    """
    buffer = memoryview(serialized)
    features = {}
    for number, _, features_message in _fields(buffer):
        if number != 1:
            continue
        for entry_number, _, entry in _fields(features_message):
            if entry_number != 1:
                continue
            key, value = None, b""
            for field, _, payload in _fields(entry):
                if field == 1:
                    key = bytes(payload).decode("utf-8")
                elif field == 2:
                    value = payload
            features[key] = _feature(value)
    return features


def decode_record(serialized, num_keypoints):
    """Decodes one prepared record.

    Returns:
        `(hr, landmarks, name)`: uint8 `[S, S, 3]`, float32 `[K, 2]`, str.

    Raises:
        ValueError: a missing feature or a wrong landmark count.
    """
    features = parse_example(serialized)
    for key in (HR_KEY, LANDMARKS_KEY, NAME_KEY):
        if key not in features:
            raise ValueError(f"record lacks feature {key!r}; has {sorted(features)}")
    name = features[NAME_KEY][0].decode("utf-8")
    landmarks = features[LANDMARKS_KEY]
    if landmarks.shape != (num_keypoints * 2,):
        raise ValueError(f"record {name!r}: landmarks has {landmarks.size} values, expected {num_keypoints * 2}")
    with Image.open(io.BytesIO(features[HR_KEY][0])) as image:
        hr = np.asarray(image.convert("RGB"))
    return hr, landmarks.reshape(num_keypoints, 2), name


def encode_varint(value):
    """Protobuf base-128 varint of a non-negative int."""
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def length_delimited(number, payload):
    """A length-delimited protobuf field (tag, length, payload; a str is UTF-8 encoded)."""
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    return encode_varint(number << 3 | 2) + encode_varint(len(payload)) + payload


def encode_example(features):
    """Serializes a `tf.train.Example` of bytes and float features.

    Args:
        features: `{name: list of bytes | float array}`.
    """
    entries = b""
    for name, value in features.items():
        if isinstance(value, (list, tuple)):
            kind = length_delimited(1, b"".join(length_delimited(1, v) for v in value))
        else:
            packed = np.asarray(value, dtype="<f4").ravel().tobytes()
            kind = length_delimited(2, length_delimited(1, packed))
        entry = length_delimited(1, name.encode("utf-8")) + length_delimited(2, kind)
        entries += length_delimited(1, entry)
    return length_delimited(1, entries)


def _crc32c_table():
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_CRC32C_TABLE = _crc32c_table()


def _masked_crc32c(data):
    crc = 0xFFFFFFFF
    table = _CRC32C_TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    crc ^= 0xFFFFFFFF
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


class RecordWriter:
    """Writes a TFRecord file (a context manager, like `tf.io.TFRecordWriter`).

    Pure Python (the CRC32C checksums TensorFlow verifies cost ~0.2 s per MB);
    `dataset_builder.build_dataset` uses TensorFlow's writer when it is installed.
    """

    def __init__(self, path):
        self._file = open(path, "wb")

    def write(self, record):
        length = struct.pack("<Q", len(record))
        self._file.write(length + struct.pack("<I", _masked_crc32c(length)))
        self._file.write(record + struct.pack("<I", _masked_crc32c(record)))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._file.close()
