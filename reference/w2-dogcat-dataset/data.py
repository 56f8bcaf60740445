"""Hidden data for w2-dogcat-dataset: a small flat folder like Kaggle's dogs-vs-cats ``train``
(``cat.N.jpg`` and ``dog.N.jpg`` side by side, no class sub-folders) with what trips the usual
DogCatDataset: its parent folder's name contains "dog" (and "cat"), so labelling by a substring
of the whole path fails; sizes and orientations vary; one image is a grayscale JPEG and one an
RGBA PNG saved as .jpg; and .DS_Store, Thumbs.db and notes.txt lie among the images.

Cats and dogs are equally many, so a dataset that gives every image one label scores the same
whichever file it lists first.  There are 70 images: more than a batch of any common size and a
multiple of none (8, 16, 20, 32, 50, 64), so a DataLoader over them ends on a partial batch.  A band of random stripes behind each animal makes every image
differ clearly from every other, so the checks can tell which file an item shows
(``grader.compare.images.ImageKey``).
"""

from __future__ import annotations

import random
from pathlib import Path

from PIL import Image, ImageDraw

from grader.compare.images import ImageKey, save_image

FOLDER = "dogs-vs-cats/train"
LABELS = {"cat": 0, "dog": 1}
PER_CLASS = 35
KAGGLE_IMAGES_PER_CLASS = 12500
GRAYSCALE = ("cat", 3)  # (animal, index of the image) stored as a grayscale JPEG
RGBA_PNG = ("dog", 5)   # stored as an RGBA PNG under a .jpg name
NON_IMAGES = {
    ".DS_Store": b"\x00\x00\x00\x01Bud1" + bytes(2042),
    "Thumbs.db": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(1016),
    "notes.txt": b"a sample of the Kaggle dogs-vs-cats training images\n",
}
STRIPES = 5
SEED = 25


def generate(mounted: Path, private: Path) -> None:
    rng = random.Random(SEED)
    folder = mounted / FOLDER
    folder.mkdir(parents=True)
    labels = {}
    for animal, label in LABELS.items():
        for index, number in enumerate(sorted(rng.sample(range(KAGGLE_IMAGES_PER_CLASS), PER_CLASS))):
            file = f"{animal}.{number}.jpg"
            _save(_portrait(animal, rng), folder / file, (animal, index))
            labels[file] = label
    for file, content in NON_IMAGES.items():
        (folder / file).write_bytes(content)
    ImageKey.write(folder, labels, private)


def _portrait(animal: str, rng: random.Random) -> Image.Image:
    width, height = rng.randint(80, 220), rng.randint(70, 200)
    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    for stripe in range(STRIPES):
        draw.rectangle((width * stripe // STRIPES, 0, width * (stripe + 1) // STRIPES, height),
                       fill=tuple(rng.randint(0, 255) for _ in range(3)))
    fur = tuple(rng.randint(60, 230) for _ in range(3))
    radius = min(width, height) // 4
    x, y = width // 2 + rng.randint(-radius // 2, radius // 2), height // 2 + radius // 3
    (_cat_ears if animal == "cat" else _dog_ears)(draw, x, y, radius, fur)
    draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=fur)
    eyes = tuple(c // 3 for c in fur)
    for side in (-1, 1):
        draw.ellipse((x + side * radius // 2 - 3, y - radius // 4 - 3, x + side * radius // 2 + 3, y - radius // 4 + 3),
                     fill=eyes)
    return image


def _cat_ears(draw: ImageDraw.ImageDraw, x: int, y: int, radius: int, fur: tuple) -> None:
    for side in (-1, 1):
        draw.polygon([(x + side * radius // 3, y - radius // 2), (x + side * radius, y - radius // 4),
                      (x + side * radius * 4 // 5, y - radius * 3 // 2)], fill=fur)


def _dog_ears(draw: ImageDraw.ImageDraw, x: int, y: int, radius: int, fur: tuple) -> None:
    ear = tuple(c * 2 // 3 for c in fur)
    for side in (-1, 1):
        left = x + side * radius - radius // 3
        draw.ellipse((left, y - radius * 2 // 3, left + radius * 2 // 3, y + radius * 2 // 3), fill=ear)


def _save(image: Image.Image, path: Path, which: tuple[str, int]) -> None:
    save_image(image, path, {GRAYSCALE: "grayscale_jpeg", RGBA_PNG: "rgba_png"}.get(which, "jpeg"))
