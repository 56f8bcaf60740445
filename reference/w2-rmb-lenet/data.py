"""Hidden data for w2-rmb-lenet: synthetic 1-yuan and 100-yuan banknote photos, split like the
course's ``rmb_split`` (about 80 training images per class, mounted, and a validation folder)
plus a test set of 100 per class that only the checks read.  The training and validation folders
(163 and 67 images) are larger than any common batch size and a multiple of none (8, 16, 20, 32,
50, 64), so a training loop that only works on full batches meets a partial one.

Each photo shows a note on a desk: paper colour, border, guilloche lines, a portrait and a
watermark oval, the denomination in corners, under varying light, position, tilt and
orientation.  The two papers differ in colour by little more than the light varies (olive-brown
and brick red, not green and red), so what the network learns depends on the scale of its
inputs.  Measured with the course's loop on one thread: a LeNet trained with its setup separates
them (test accuracy 0.99 to 1 over 50 seeds), while one trained without ``transforms.Normalize``
(it barely learns on inputs in [0, 1], and the normalised test images are far from what it saw)
stays near chance (0.22 to 0.61 over 20 seeds), as does one trained with lr 0.1 (0.5 to 0.82);
swapped labels give 0.  As in the course's data, the training folders hold one grayscale JPEG
and one RGBA PNG saved as .jpg, so a Dataset without ``.convert('RGB')`` fails.

The test images are stored as the tensors the model is judged on: ``Resize((32, 32))``,
``ToTensor``, ``Normalize`` with the ImageNet mean and std (``test_inputs.pt``), and without the
Normalize (``test_unnormalised.pt``) to tell a model trained on un-normalised images.
"""

from __future__ import annotations

import io
import math
import random
from pathlib import Path

import numpy as np
import torch
import torchvision.transforms as transforms
from PIL import Image, ImageDraw

from grader.compare.images import save_image

LABELS = {"1": 0, "100": 1}
SPLITS = {"train": {"1": 83, "100": 80}, "valid": {"1": 34, "100": 33}}  # images per class
TEST_PER_CLASS = 100
PAPER = {"1": (160, 140, 110), "100": (190, 110, 100)}  # olive-brown and brick red
LIGHT = (0.8, 1.1)          # brightness of the photo
TINT = 5                    # per-channel colour cast
NOISE = 5.0                 # sensor noise, in grey levels
GRAYSCALE = ("train", "1", 7)    # (split, denomination, index) stored as a grayscale JPEG
RGBA_PNG = ("train", "100", 12)  # stored as an RGBA PNG under a .jpg name
MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
SEED = 1


def generate(mounted: Path, private: Path) -> None:
    rng = random.Random(SEED)
    for split, counts in SPLITS.items():
        for denomination in LABELS:
            folder = mounted / "rmb_split" / split / denomination
            folder.mkdir(parents=True)
            for index in range(counts[denomination]):
                _save(banknote(denomination, rng), folder / f"{split}_{index:03d}.jpg", (split, denomination, index))
    test = [(banknote(denomination, rng), label) for denomination, label in LABELS.items()
            for _ in range(TEST_PER_CLASS)]
    torch.save(_tensors([image for image, _ in test], normalised=True), private / "test_inputs.pt")
    torch.save(_tensors([image for image, _ in test], normalised=False), private / "test_unnormalised.pt")
    torch.save(torch.tensor([label for _, label in test]), private / "test_labels.pt")


def banknote(denomination: str, rng: random.Random) -> Image.Image:
    """One photo of a note, decoded from JPEG as the checks' test images are."""
    width = rng.randint(112, 176)
    height = int(width * rng.uniform(0.45, 0.55))
    light = rng.uniform(*LIGHT)
    paper = tuple(_level(c * light + rng.uniform(-TINT, TINT)) for c in PAPER[denomination])
    ink = tuple(c // 2 for c in paper)
    desk = tuple(_level(rng.uniform(150, 235) * light + rng.uniform(-15, 15)) for _ in range(3))
    image = Image.new("RGB", (width, height), desk)
    draw = ImageDraw.Draw(image)
    box = (round(width * rng.uniform(0, 0.08)), round(height * rng.uniform(0, 0.1)),
           round(width * (1 - rng.uniform(0, 0.08))) - 1, round(height * (1 - rng.uniform(0, 0.1))) - 1)
    draw.rectangle(box, fill=paper, outline=ink, width=2)
    _decorate(draw, box, denomination, paper, ink, rng)
    if rng.random() < 0.5:
        image = image.transpose(Image.Transpose.ROTATE_180)
    image = image.rotate(rng.uniform(-6, 6), resample=Image.Resampling.BILINEAR, fillcolor=desk)
    noise = np.random.default_rng(rng.getrandbits(32)).normal(0, NOISE, (height, width, 3))
    return Image.fromarray((np.asarray(image, dtype=np.float64) + noise).clip(0, 255).astype(np.uint8))


def _decorate(draw: ImageDraw.ImageDraw, box: tuple, denomination: str, paper: tuple, ink: tuple,
              rng: random.Random) -> None:
    left, top, right, bottom = box
    width, height = right - left, bottom - top
    for wave in range(3):
        phase, cycles = rng.uniform(0, 2 * math.pi), wave + 1.5
        draw.line([(left + x, top + height * (0.5 + 0.3 * math.sin(phase + 2 * math.pi * cycles * x / width)))
                   for x in range(0, width, 2)], fill=ink, width=1)
    draw.ellipse((left + width * 0.62, top + height * 0.15, left + width * 0.88, top + height * 0.85), fill=ink)
    watermark = tuple(min(255, c + 40) for c in paper)
    draw.ellipse((left + width * 0.08, top + height * 0.2, left + width * 0.3, top + height * 0.8), fill=watermark)
    draw.text((left + 4, top + 2), denomination, fill=ink)
    draw.text((right - 6 * len(denomination) - 4, bottom - 13), denomination, fill=ink)


def _level(value: float) -> int:
    return int(min(255, max(0, value)))


def _save(image: Image.Image, path: Path, which: tuple[str, str, int]) -> None:
    save_image(image, path, {GRAYSCALE: "grayscale_jpeg", RGBA_PNG: "rgba_png"}.get(which, "jpeg"))


def _tensors(images: list[Image.Image], normalised: bool) -> torch.Tensor:
    steps = [transforms.Resize((32, 32)), transforms.ToTensor()]
    pipeline = transforms.Compose(steps + ([transforms.Normalize(MEAN, STD)] if normalised else []))
    return torch.stack([pipeline(_as_jpeg(image)) for image in images])


def _as_jpeg(image: Image.Image) -> Image.Image:
    """The image as a student's Dataset would read it from a .jpg file."""
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return Image.open(buffer).convert("RGB")
