"""Hidden data for w2-rmb-dataset: an RMB folder laid out like the course's ``rmb_split/train``
(sub-folders ``1`` and ``100`` of .jpg images), with what trips a careless Dataset: a grayscale
JPEG, an RGBA PNG saved as .jpg (one of the course's own images is one), and the files an
operating system leaves next to photos (.DS_Store, Thumbs.db) or a person does (notes.txt).

Each note carries a band of random tiles, so that every image differs clearly from every other
and the checks can tell which file an item shows (``grader.compare.images.ImageKey``).
"""

from __future__ import annotations

import random
import string
from pathlib import Path

from PIL import Image, ImageDraw

from grader.compare.images import ImageKey, save_image

FOLDER = "rmb"
LABELS = {"1": 0, "100": 1}
COUNTS = {"1": 33, "100": 38}  # 71 images: past every common batch size, a multiple of none
NOTE_COLOURS = {"1": (128, 150, 96), "100": (205, 72, 84)}
GRAYSCALE = ("1", 2)   # (denomination, index of the image) stored as a grayscale JPEG
RGBA_PNG = ("100", 4)  # stored as an RGBA PNG under a .jpg name
NON_IMAGES = {
    ".DS_Store": b"\x00\x00\x00\x01Bud1" + bytes(2042),
    "1/Thumbs.db": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(1016),
    "100/.DS_Store": b"\x00\x00\x00\x01Bud1" + bytes(2042),
    "100/notes.txt": "100 元和 1 元纸币的照片，2019 年 10 月拍摄\n".encode(),
}
TILES = 6
SEED = 61


def generate(mounted: Path, private: Path) -> None:
    rng = random.Random(SEED)
    folder = mounted / FOLDER
    labels = {}
    for denomination, count in COUNTS.items():
        (folder / denomination).mkdir(parents=True)
        for index in range(count):
            file = f"{denomination}/{_file_name(rng)}.jpg"
            _save(_banknote(denomination, rng), folder / file, (denomination, index))
            labels[file] = LABELS[denomination]
    for file, content in NON_IMAGES.items():
        (folder / file).write_bytes(content)
    ImageKey.write(folder, labels, private)


def _file_name(rng: random.Random) -> str:
    return "".join(rng.choices(string.ascii_uppercase + string.digits, k=8))


def _banknote(denomination: str, rng: random.Random) -> Image.Image:
    width = rng.randint(120, 200)
    height = width // 2 + rng.randint(-8, 8)
    paper = tuple(min(255, max(0, c + rng.randint(-20, 20))) for c in NOTE_COLOURS[denomination])
    ink = tuple(c // 2 for c in paper)
    image = Image.new("RGB", (width, height), paper)
    draw = ImageDraw.Draw(image)
    draw.rectangle((1, 1, width - 2, height - 2), outline=ink, width=3)
    for tile in range(TILES):
        colour = tuple(rng.randint(0, 255) for _ in range(3))
        draw.rectangle((width * tile // TILES, height // 2, width * (tile + 1) // TILES, height - 6), fill=colour)
    portrait = rng.randint(width // 2, width - height // 2)
    draw.ellipse((portrait, 6, portrait + height // 3, height // 2), fill=ink)
    draw.text((8, 6), denomination, fill=ink)
    return image


def _save(image: Image.Image, path: Path, which: tuple[str, int]) -> None:
    save_image(image, path, {GRAYSCALE: "grayscale_jpeg", RGBA_PNG: "rgba_png"}.get(which, "jpeg"))
