"""Image datasets judged by content: a returned item is matched to the file it shows, whatever
its mode, size or order, and each verdict names the file and what came back."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from grader.compare import images
from grader.compare.images import ImageKey, Item
from grader.sandbox.recipes import resize_to_tensor
from grader.i18n import render
from grader.values import StudentArray, StudentTensor

PROBE = resize_to_tensor(12, 20)


def tiles(seed: int, size=(90, 50)) -> Image.Image:
    """An image of random coloured tiles: every seed gives a clearly different one."""
    rng = random.Random(seed)
    image = Image.new("RGB", size)
    draw = ImageDraw.Draw(image)
    width, height = size
    for column in range(4):
        for row in range(2):
            draw.rectangle((column * width // 4, row * height // 2, (column + 1) * width // 4, (row + 1) * height // 2),
                           fill=tuple(rng.randint(0, 255) for _ in range(3)))
    return image


@pytest.fixture(scope="module")
def key(tmp_path_factory) -> ImageKey:
    folder, private = tmp_path_factory.mktemp("folder"), tmp_path_factory.mktemp("private")
    tiles(1).save(folder / "cat.1.jpg", quality=95)
    tiles(2, (60, 80)).save(folder / "cat.2.jpg", quality=95)
    tiles(3).convert("L").save(folder / "dog.3.jpg", quality=95)
    tiles(4).convert("RGBA").save(folder / "dog.4.jpg", "PNG")
    (folder / "Thumbs.db").write_bytes(b"\xd0\xcf\x11\xe0" + bytes(60))
    ImageKey.write(folder, {"cat.1.jpg": 0, "cat.2.jpg": 0, "dog.3.jpg": 1, "dog.4.jpg": 1}, private)
    return ImageKey.load(private)


def opened(key: ImageKey, file: str) -> Image.Image:
    """The file as a Dataset without .convert('RGB') returns it: in its stored mode."""
    mode = key.stored[file].split()[1]
    return key.image(file).convert(mode)


def items_for(key: ImageKey, labels: dict[str, object], order=None) -> list[Item]:
    return [Item(index, (key.image(file), labels[file])) for index, file in enumerate(order or key.files)]


def test_the_key_records_labels_storage_and_other_files(key):
    assert key.labels == {"cat.1.jpg": 0, "cat.2.jpg": 0, "dog.3.jpg": 1, "dog.4.jpg": 1}
    assert str(key.stored_as("dog.3.jpg")) == "a grayscale JPEG"
    assert str(key.stored_as("dog.4.jpg")) == "an RGBA PNG saved as .jpg"
    assert key.others == ("Thumbs.db",)


@pytest.mark.parametrize("form", ["rgb", "stored mode", "transformed", "transformed in stored mode"])
def test_every_image_is_recognised_in_every_form(key, form):
    for file in key.files:
        value = {"rgb": lambda: key.image(file),
                 "stored mode": lambda: opened(key, file),
                 "transformed": lambda: StudentTensor(PROBE(key.image(file))),
                 "transformed in stored mode": lambda: StudentTensor(PROBE(opened(key, file)))}[form]()
        assert key.identify(value) == file


# How a Dataset may hold an image instead of returning the PIL image: each reads back as it.
REPRESENTATIONS = {
    "HWC uint8 tensor": lambda image: StudentTensor(torch.from_numpy(np.array(image))),
    "HWC uint8 array": lambda image: StudentArray(np.asarray(image)),
    "HWC float array in [0, 1]": lambda image: StudentArray(np.asarray(image, dtype=np.float32) / 255),
    "HWC float array in [0, 255]": lambda image: StudentArray(np.asarray(image, dtype=np.float64)),
    "CHW uint8 tensor": lambda image: StudentTensor(torch.from_numpy(np.array(image)).permute(2, 0, 1)),
    "CHW float tensor (ToTensor)": lambda image: StudentTensor(resize_to_tensor(*image.size[::-1])(image)),
    "CHW int64 tensor": lambda image: StudentTensor(torch.from_numpy(np.array(image)).permute(2, 0, 1).long()),
}


def held(key: ImageKey, file: str, representation: str, converted: bool = True):
    """The file as a Dataset holding it that way returns it (without .convert('RGB'): its stored mode)."""
    image = key.image(file) if converted else opened(key, file)
    return REPRESENTATIONS[representation](image)


@pytest.mark.parametrize("representation", REPRESENTATIONS)
def test_every_image_is_recognised_in_every_representation(key, representation):
    for file in key.files:
        assert key.identify(held(key, file, representation)) == file
        if representation.startswith("HWC"):  # np.asarray of a grayscale image has no channel dimension
            assert key.identify(held(key, file, representation, converted=False)) == file


@pytest.mark.parametrize("representation", REPRESENTATIONS)
def test_labels_are_judged_whatever_the_representation(key, representation):
    items = [Item(i, (held(key, file, representation), 1)) for i, file in enumerate(key.files)]
    verdict = images.labels_verdict(items, key)
    assert verdict.fraction == 0.5 and "every image came back with label 1" in str(verdict.feedback)
    assert "shows none of the folder's images" not in str(verdict.feedback)


def test_an_rgb_image_held_another_way_costs_half_the_rgb_check(key):
    items = [Item(i, (held(key, file, "HWC uint8 tensor"), 0)) for i, file in enumerate(key.files)]
    verdict = images.rgb_verdict(items, key)
    assert verdict.fraction == 0.5
    assert ("dataset[0] returned a tensor of shape [50, 90, 3] and dtype uint8 (channels last, HWC) as its image"
            in str(verdict.feedback))
    assert "return the PIL image itself" in str(verdict.feedback)


def test_channels_are_judged_in_an_array_too(key):
    items = [Item(i, (StudentArray(np.asarray(opened(key, file))), 0)) for i, file in enumerate(key.files)]
    verdict = images.rgb_verdict(items, key)
    assert verdict.fraction == 0
    assert ("dog.3.jpg (a grayscale JPEG) came back with 1 channel(s), as a numpy array of shape [50, 90] and dtype "
            "uint8 (no channel dimension, HW), expected 3 (RGB)") in str(verdict.feedback)
    assert "dog.4.jpg (an RGBA PNG saved as .jpg) came back with 4 channel(s)" in str(verdict.feedback)


@pytest.mark.parametrize("representation", ["HWC uint8 array", "HWC uint8 tensor", "CHW float tensor (ToTensor)"])
def test_the_probe_transform_takes_the_image_held_another_way(key, representation):
    for file in key.files:
        image = held(key, file, representation)
        given = image.array if isinstance(image, StudentArray) else image.tensor
        assert torch.allclose(PROBE(given), PROBE(key.image(file)), atol=1 / 255)


def test_feedback_reads_in_chinese(key):
    items = [Item(i, (held(key, file, "HWC uint8 array"), 1)) for i, file in enumerate(key.files)]
    for verdict in (images.labels_verdict(items, key), images.rgb_verdict(items, key)):
        chinese = render(verdict.feedback, "zh")
        assert chinese != str(verdict.feedback) and "images" not in chinese


NOISE = torch.rand(3, 12, 20, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("value", [tiles(99), StudentTensor(NOISE), None, "cat.1.jpg",
                                   StudentTensor(torch.zeros(5, 5))])
def test_anything_else_is_recognised_as_nothing(key, value):
    assert key.identify(value) is None


def test_labels_in_any_order_pass(key):
    assert images.labels_verdict(items_for(key, key.labels, order=key.files[::-1]), key).ok


def test_labels_are_credited_per_image_and_named(key):
    labels = dict(key.labels, **{"cat.2.jpg": 1})
    verdict = images.labels_verdict(items_for(key, labels), key)
    assert verdict.fraction == 0.75
    assert "1 of 4 images have a wrong label: cat.2.jpg came back with label 1, expected 0" in str(verdict.feedback)


def test_swapped_labels_are_named(key):
    verdict = images.labels_verdict(items_for(key, {file: 1 - label for file, label in key.labels.items()}), key)
    assert verdict.fraction == 0 and "the two labels are swapped" in str(verdict.feedback)


def test_one_label_for_every_image_is_named(key):
    verdict = images.labels_verdict(items_for(key, dict.fromkeys(key.files, 0)), key)
    assert verdict.fraction == 0.5 and "every image came back with label 0" in str(verdict.feedback)


def test_a_pack_hint_comes_before_the_usual_patterns(key):
    verdict = images.labels_verdict(items_for(key, dict.fromkeys(key.files, "cat")), key,
                                    hint_for=lambda labels: f"labels are {labels[0]!r} strings")
    assert "came back with label 'cat', expected 0" in str(verdict.feedback)
    assert "labels are 'cat' strings" in str(verdict.feedback)


def test_images_never_returned_count_as_wrong(key):
    items = items_for(key, key.labels, order=key.files[:3])
    verdict = images.labels_verdict(items, key)
    assert verdict.fraction == 0.75 and "1 of 4 images never came back: dog.4.jpg" in str(verdict.feedback)


def test_items_that_are_not_pairs_or_raise_are_reported(key):
    verdict = images.labels_verdict([Item(0, key.image("cat.1.jpg")), Item(1, error="raised OSError")], key)
    assert "dataset[0] returned a PIL image (mode RGB, 90x50), expected a tuple (image, label)" in str(verdict.feedback)
    assert str(images.labels_verdict([], key).feedback) == "the dataset is empty, so no label could be checked"


def test_rgb_needs_every_image_in_rgb(key):
    assert images.rgb_verdict(items_for(key, key.labels), key).ok
    stored_modes = [Item(i, (opened(key, file), key.labels[file])) for i, file in enumerate(key.files)]
    verdict = images.rgb_verdict(stored_modes, key)
    assert "dog.3.jpg (a grayscale JPEG) came back in mode L, expected RGB" in str(verdict.feedback)
    assert "dog.4.jpg (an RGBA PNG saved as .jpg) came back in mode RGBA" in str(verdict.feedback)


def test_rgb_needs_the_other_modes_among_the_items(key):
    verdict = images.rgb_verdict(items_for(key, key.labels, order=key.files[:2]), key)
    assert not verdict.ok and "never came back" in str(verdict.feedback)
    assert "dog.3.jpg (a grayscale JPEG)" in str(verdict.feedback)


def test_items_that_raise_fail_the_readable_check_with_the_other_files_named(key):
    items = items_for(key, key.labels) + [Item(4, error="raised UnidentifiedImageError")]
    verdict = images.readable_verdict(items, key.others)
    assert "dataset[4]: raised UnidentifiedImageError" in str(verdict.feedback) and "(Thumbs.db)" in str(verdict.feedback)
    assert images.readable_verdict(items_for(key, key.labels), key.others).ok


def test_transform_output_is_recomputed_and_compared(key):
    transformed = [Item(i, (StudentTensor(PROBE(key.image(file))), 0)) for i, file in enumerate(key.files)]
    assert images.transform_verdict(transformed, key, PROBE).ok


@pytest.mark.parametrize(("transform", "message"), [
    (lambda image: image, "returned a PIL image although a transform was given"),
    (lambda image: StudentTensor(resize_to_tensor(32, 32)(image)), "shape [3, 32, 32], expected [3, 12, 20]"),
    (lambda image: StudentTensor(PROBE(image) * 0.9), "does not equal transform(image)"),
])
def test_a_transform_not_applied_is_named(key, transform, message):
    items = [Item(i, (transform(key.image(file)), 0)) for i, file in enumerate(key.files)]
    verdict = images.transform_verdict(items, key, PROBE)
    assert not verdict.ok and message in str(verdict.feedback)


def batches(key: ImageKey, order: list[str], labels=None) -> list:
    out = []
    for start in range(0, len(order), 3):
        files = order[start:start + 3]
        out.append([StudentTensor(torch.stack([PROBE(key.image(f)) for f in files])),
                    labels[start:start + 3] if labels else StudentTensor(torch.tensor([key.labels[f] for f in files]))])
    return out


def test_batches_covering_every_image_once_pass(key):
    assert images.batches_verdict(batches(key, key.files[::-1]), key, 3, [3, 12, 20]).ok


def test_batches_that_repeat_or_miss_images_fail(key):
    verdict = images.batches_verdict(batches(key, key.files[:3] + key.files[:1]), key, 3, [3, 12, 20])
    assert "images seen more than once: cat.1.jpg" in str(verdict.feedback)
    assert "images never seen: dog.4.jpg" in str(verdict.feedback)


def test_labels_that_do_not_collate_into_a_tensor_fail(key):
    verdict = images.batches_verdict(batches(key, key.files, labels=("1", "100", "1", "100")), key, 3, [3, 12, 20])
    assert "the labels are a tuple of str, expected an integer tensor of shape [3]" in str(verdict.feedback)


@pytest.mark.parametrize(("message", "hint"), [
    ("Caught RuntimeError in DataLoader worker process 0. RuntimeError: Trying to resize storage that is not "
     "resizable", "convert every image with .convert('RGB')"),
    ("default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found <class "
     "'PIL.Image.Image'>", "apply the transform"),
    ("cannot identify image file '/data/x/Thumbs.db'", "keep only the .jpg images"),
    ("something else", ""),
])
def test_loader_errors_get_a_hint(message, hint):
    assert hint in str(images.loader_error_hint(message)) and bool(images.loader_error_hint(message)) == bool(hint)
