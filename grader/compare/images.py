"""Image datasets judged by content: what a student's Dataset returns, matched to the files it shows.

A pack with a hidden image folder keeps an ``ImageKey`` in its private data: each image file's
label, how it is stored, and its pixels as PIL decodes them in RGB.  Whatever the student's code
returns for an item (a PIL image in any mode, or the tensor a transform made of it) is matched to
the file it shows by a small fingerprint, so labels are judged per image, never by index or by
file order.  A check reads the student's Dataset where it lives, in the job (``dataset_items``,
``loader_verdict``); the verdicts say, in the student's terms, which file came back wrong and how.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from grader.checks import Verdict, failed, partial, passed
from grader.student import StudentError
from grader.values import Handle, Recipe, StudentTensor, describe

FINGERPRINT_SIZE = 16
# Mean absolute difference (in [0, 1]) up to which a value counts as showing an image: distinct
# hidden images lie far above it, a resized or re-channelled copy of one far below.
MATCH_DISTANCE = 0.06
KEY_FILE = "image_key.json"
PIXELS_FILE = "image_key.npz"
EXAMPLES = 3  # wrong items quoted in one feedback line
SPARE_INDICES = 8  # indices read past the folder's file count when len() is larger still


def fingerprint(value) -> np.ndarray | None:
    """A 3 x 16 x 16 summary in [0, 1] of a PIL image or of an image tensor [C, H, W] (C of 1, 3
    or 4, values in [0, 1] as ToTensor gives them); None for anything else."""
    if isinstance(value, Image.Image):
        small = value.convert("RGB").resize((FINGERPRINT_SIZE,) * 2, Image.Resampling.BILINEAR)
        return np.asarray(small, dtype=np.float32).transpose(2, 0, 1) / 255
    if isinstance(value, StudentTensor) and _image_tensor(value.tensor):
        channels = value.tensor.float()
        channels = channels.expand(3, -1, -1) if channels.shape[0] == 1 else channels[:3]
        small = F.interpolate(channels[None], size=(FINGERPRINT_SIZE,) * 2, mode="bilinear", antialias=True,
                              align_corners=False)[0]
        return small.numpy()
    return None


def _image_tensor(tensor: torch.Tensor) -> bool:
    return tensor.dim() == 3 and tensor.shape[0] in (1, 3, 4) and min(tensor.shape[1:]) >= 1 \
        and tensor.is_floating_point() and bool(torch.isfinite(tensor).all())


def describe_value(value) -> str:
    if isinstance(value, Image.Image):
        return f"a PIL image (mode {value.mode}, {value.width}x{value.height})"
    if isinstance(value, (list, tuple)) and value:
        kinds = sorted({type(item).__name__ for item in value})
        return f"a {type(value).__name__} of {', '.join(kinds)}"
    return describe(value)


@dataclasses.dataclass(frozen=True)
class ImageKey:
    """The answer key of an image folder; files are named relative to the folder."""

    labels: dict[str, int]
    stored: dict[str, str]        # file -> "<format> <mode>" as stored, e.g. "PNG RGBA"
    pixels: dict[str, np.ndarray]  # file -> its RGB pixels
    others: tuple[str, ...] = ()   # the folder's non-image files

    @classmethod
    def write(cls, folder: Path, labels: dict[str, int], private: Path) -> None:
        """Record the key of ``folder`` (from a pack's data.py): the images are read back as PIL
        decodes them, and every other file in the folder is listed as a non-image file."""
        files = sorted(labels)
        images = {file: Image.open(folder / file) for file in files}
        others = sorted(path.relative_to(folder).as_posix() for path in folder.rglob("*")
                        if path.is_file() and path.relative_to(folder).as_posix() not in labels)
        key = {"files": files, "labels": [labels[f] for f in files],
               "stored": [f"{images[f].format} {images[f].mode}" for f in files], "others": others}
        (private / KEY_FILE).write_text(json.dumps(key, indent=1))
        np.savez_compressed(private / PIXELS_FILE, *(np.asarray(images[f].convert("RGB")) for f in files))

    @classmethod
    @functools.lru_cache(maxsize=8)
    def load(cls, private: Path) -> "ImageKey":
        key = json.loads((private / KEY_FILE).read_text())
        with np.load(private / PIXELS_FILE) as stored:
            pixels = {file: stored[f"arr_{i}"] for i, file in enumerate(key["files"])}
        return cls(dict(zip(key["files"], key["labels"])), dict(zip(key["files"], key["stored"])), pixels,
                   tuple(key["others"]))

    @property
    def files(self) -> list[str]:
        return list(self.labels)

    def image(self, file: str) -> Image.Image:
        """The file's image in RGB."""
        return Image.fromarray(self.pixels[file], "RGB")

    def stored_as(self, file: str) -> str:
        image_format, mode = self.stored[file].split()
        if mode == "L":
            return f"a grayscale {image_format}"
        return f"an {mode} {image_format}" + (" saved as .jpg" if image_format != "JPEG" else "")

    def identify(self, value) -> str | None:
        """The file whose image ``value`` shows, or None when it shows none of them."""
        summary = fingerprint(value)
        if summary is None:
            return None
        distances = {file: float(np.abs(summary - known).mean()) for file, known in self._fingerprints.items()}
        file = min(distances, key=distances.get)
        return file if distances[file] <= MATCH_DISTANCE else None

    @functools.cached_property
    def _fingerprints(self) -> dict[str, np.ndarray]:
        return {file: fingerprint(self.image(file)) for file in self.labels}


@dataclasses.dataclass(frozen=True)
class Item:
    """What ``dataset[index]`` gave: a value, or the feedback for the exception it raised."""

    index: int
    value: object = None
    error: str | None = None

    @property
    def pair(self) -> tuple | None:
        """``(image, label)`` when the item is a pair."""
        if self.error is None and isinstance(self.value, (tuple, list)) and len(self.value) == 2:
            return tuple(self.value)
        return None

    @property
    def name(self) -> str:
        return f"dataset[{self.index}]"


def dataset_length(student, dataset: Handle) -> int:
    """``len(dataset)`` for a Dataset living in the job; anything but an int is the student's error."""
    count = student.call_method(dataset, "__len__")
    if type(count) is not int:
        raise StudentError(f"{dataset.describe().removeprefix('a ')}.__len__()", "TypeError",
                           f"returned {describe(count)}, expected an int")
    return count


def dataset_items(student, dataset: Handle, key: ImageKey, show_messages: bool) -> list[Item]:
    """``dataset[0]`` … ``dataset[len(dataset) - 1]``, but not many more than the folder has files;
    an item that raises is kept as its feedback."""
    count = min(dataset_length(student, dataset), len(key.files) + len(key.others) + SPARE_INDICES)
    return [_item(student, dataset, index, show_messages) for index in range(count)]


def _item(student, dataset: Handle, index: int, show_messages: bool) -> Item:
    try:
        return Item(index, student.call_method(dataset, "__getitem__", index))
    except StudentError as exc:
        return Item(index, error=exc.feedback(show_message=show_messages))


def loader_verdict(student, dataset: Handle, key: ImageKey, image_shape: list[int], *, batch_size: int,
                   workers: int, seed: int, show_messages: bool) -> Verdict:
    """One shuffled pass of a DataLoader with worker processes over the dataset, run in the job."""
    try:
        batches = student.builtin("dataloader_batches", dataset, batch_size, True, workers, seed=seed,
                                  what=f"a DataLoader(dataset, batch_size={batch_size}, shuffle=True, "
                                       f"num_workers={workers})")
    except StudentError as exc:
        hint = loader_error_hint(exc.message)
        return failed(exc.feedback(show_message=show_messages) + (f"\n{hint}" if hint else ""))
    return batches_verdict(batches, key, batch_size, image_shape)


def label_of(value) -> int | None:
    """A label as an int: a Python int, or a one-element integer tensor; None for anything else."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, StudentTensor) and value.tensor.numel() == 1 and not value.tensor.is_floating_point() \
            and value.dtype != torch.bool:
        return int(value.tensor.reshape(()))
    return None


def _labels_given(items: list[Item], key: ImageKey) -> tuple[dict[str, list], list[str]]:
    """file -> the labels it came back with, and what could not be matched to a file."""
    given: dict[str, list] = {}
    unmatched = []
    for item in items:
        pair = item.pair
        if pair is None:
            if item.error is None:
                unmatched.append(f"{item.name} returned {describe_value(item.value)}, expected a tuple (image, label)")
            continue
        file = key.identify(pair[0])
        if file is None:
            unmatched.append(f"{item.name} returned {describe_value(pair[0])}, which shows none of the folder's images")
        else:
            given.setdefault(file, []).append(pair[1])
    return given, unmatched


def labels_verdict(items: list[Item], key: ImageKey, hint_for: Callable[[list], str] | None = None) -> Verdict:
    """Every image of the folder came back, each time with its label; credit per image.
    ``hint_for(labels)`` may explain a pattern in all the labels returned."""
    if not items:
        return failed("the dataset is empty, so no label could be checked")
    given, unmatched = _labels_given(items, key)
    hint = (hint_for and hint_for([label for labels in given.values() for label in labels])) \
        or _label_pattern(given, key)
    wrong = [f"{file} came back with label {_show(label)}, expected {key.labels[file]}"
             for file, labels in given.items() for label in labels if label_of(label) != key.labels[file]]
    missing = [file for file in key.files if file not in given]
    right = [f for f in key.files if f in given and all(label_of(label) == key.labels[f] for label in given[f])]
    if len(right) == len(key.files):
        return passed()
    notes = [_examples(wrong, f"{len(key.files) - len(right) - len(missing)} of {len(key.files)} images have a "
                              f"wrong label"),
             _examples(missing, f"{len(missing)} of {len(key.files)} images never came back"),
             _examples(unmatched, "items that are not (image, label) of the folder"),
             _examples([item.error for item in items if item.error], "items that raised") if not given else "",
             hint]
    return partial(len(right) / len(key.files), "\n".join(note for note in notes if note)) if right \
        else failed("\n".join(note for note in notes if note))


def _label_pattern(given: dict[str, list], key: ImageKey) -> str:
    """What the wrong labels have in common, when it is one of the usual slips."""
    pairs = [(label_of(label), key.labels[file]) for file, labels in given.items() for label in labels]
    if len(pairs) < 2 or len(set(key.labels.values())) != 2:
        return ""
    ints = {label for label, _ in pairs}
    if ints == {None}:
        return "each label should be an int"
    if len(ints) == 1:
        return f"every image came back with label {ints.pop()}: read each image's label from its own file"
    classes = set(key.labels.values())
    if all(label is not None and label != truth and {label, truth} == classes for label, truth in pairs):
        return "the two labels are swapped"
    return ""


def rgb_verdict(items: list[Item], key: ImageKey) -> Verdict:
    """Every image comes back as a PIL image in mode RGB, those stored in other modes included."""
    if not any(item.pair for item in items):
        return failed("the dataset gave no (image, label) item to check")
    wrong, seen = [], set()
    for item in items:
        if item.pair is None:
            continue
        image = item.pair[0]
        file = key.identify(image)
        seen.add(file)
        if not isinstance(image, Image.Image):
            wrong.append(f"{item.name} returned {describe_value(image)} as its image, expected a PIL image "
                         f"(no transform was given)")
        elif image.mode != "RGB":
            stored = f" ({key.stored_as(file)})" if file else ""
            wrong.append(f"{file or item.name}{stored} came back in mode {image.mode}, expected RGB")
    unseen = [f"{file} ({key.stored_as(file)})" for file in key.files
              if key.stored[file].split()[1] != "RGB" and file not in seen]
    if wrong:
        return failed(_examples(wrong, "images not in RGB") + "\nopen every image with "
                      "Image.open(path).convert('RGB'): some files are grayscale or RGBA")
    if unseen:
        return failed(_examples(unseen, "images stored in other modes never came back, so their conversion to "
                                        "RGB could not be checked"))
    return passed()


def readable_verdict(items: list[Item], others: tuple[str, ...]) -> Verdict:
    """Every index of the dataset gives an item: none raises on a file that is not an image."""
    if not items:
        return failed("the dataset is empty, so its items could not be checked")
    raised = [f"{item.name}: {item.error}" for item in items if item.error]
    if raised:
        names = ", ".join(sorted({Path(other).name for other in others}))
        return failed(_examples(raised, "items that raised") + f"\nthe folder also holds files that are not "
                      f"images ({names}): list only the .jpg images")
    return passed()


def transform_verdict(items: list[Item], key: ImageKey, expected: Callable[[Image.Image], torch.Tensor]) -> Verdict:
    """Each image comes back as ``expected(image)``, the output of the transform that was passed."""
    wrong, checked = [], 0
    for item in items:
        if item.pair is None:
            continue
        checked += 1
        problem = _transformed_problem(item.pair[0], key, expected)
        if problem:
            wrong.append(f"{item.name} {problem}")
    if not checked:
        return failed(_examples([item.error for item in items if item.error], "items that raised")
                      or "the dataset gave no (image, label) item to check")
    return failed(_examples(wrong, "items the transform was not applied to")) if wrong else passed()


def _transformed_problem(value, key: ImageKey, expected: Callable[[Image.Image], torch.Tensor]) -> str:
    if isinstance(value, Image.Image):
        return "returned a PIL image although a transform was given: return transform(img)"
    file = key.identify(value)
    if file is None:
        return f"returned {describe_value(value)}, which is not the transform's output for any image of the folder"
    want = expected(key.image(file))
    shape = list(value.shape)
    if len(shape) != 3 or shape[1:] != list(want.shape[1:]):
        return (f"returned a tensor of shape {shape}, expected {list(want.shape)}: apply the transform passed to "
                f"the dataset, not one of your own")
    channels = min(shape[0], 3)  # a grayscale or RGBA image transformed as it is: the RGB check says so
    if not torch.allclose(value.tensor[:channels].float(), want[:channels], atol=1e-4):
        return f"({file}) does not equal transform(image): apply the transform once, to the image as loaded"
    return ""


def batches_verdict(batches, key: ImageKey, batch_size: int, image_shape: list[int]) -> Verdict:
    """A DataLoader's batches: [images, labels] pairs of the batch size, every image exactly once."""
    if not isinstance(batches, list) or not batches:
        return failed(f"the DataLoader gave {describe(batches)}, expected batches")
    counts: dict[str, int] = {}
    for number, batch in enumerate(batches):
        problem = _batch_problem(batch, batch_size, image_shape, key, counts)
        if problem:
            return failed(f"batch {number}: {problem}")
    expected_batches = math.ceil(len(key.files) / batch_size)
    repeated = [file for file, count in counts.items() if count > 1]
    missing = [file for file in key.files if file not in counts]
    if repeated or missing or len(batches) != expected_batches:
        return failed(f"the DataLoader gave {len(batches)} batches, expected {expected_batches}: one pass over the "
                      f"{len(key.files)} images; " + "; ".join(note for note in (
                          _examples(repeated, "images seen more than once"), _examples(missing, "images never seen"))
                          if note))
    return passed()


def _batch_problem(batch, batch_size: int, image_shape: list[int], key: ImageKey, counts: dict) -> str:
    if not isinstance(batch, (list, tuple)) or len(batch) != 2:
        return f"got {describe(batch)}, expected [images, labels]"
    images, labels = batch
    if not isinstance(images, StudentTensor) or images.tensor.dim() != len(image_shape) + 1 \
            or list(images.shape[1:]) != image_shape or not 1 <= images.shape[0] <= batch_size:
        return (f"the images are {describe_value(images)}, expected a tensor of shape [{batch_size}, "
                f"{', '.join(map(str, image_shape))}] (fewer in the last batch)")
    if not isinstance(labels, StudentTensor) or labels.tensor.is_floating_point() or labels.dtype == torch.bool \
            or list(labels.shape) != [images.shape[0]]:
        return (f"the labels are {describe_value(labels)}, expected an integer tensor of shape [{images.shape[0]}]: "
                f"return each label as an int")
    files = [key.identify(StudentTensor(image)) for image in images.tensor]
    if None in files:
        return f"image {files.index(None)} of the batch shows none of the folder's images"
    for file in files:
        counts[file] = counts.get(file, 0) + 1
    return ""


@functools.lru_cache(maxsize=8)
def load_key(private: Path) -> ImageKey:
    """The key of a hidden folder, read once (its folder's name holds the data's hash)."""
    return ImageKey.load(private)


def save_image(image: Image.Image, path: Path, storage: str = "jpeg") -> None:
    """Write a hidden image the way the course's folders hold them: a JPEG, a grayscale JPEG, or
    an RGBA PNG under a .jpg name (a course test image really is one)."""
    if storage == "grayscale_jpeg":
        image.convert("L").save(path, "JPEG", quality=90)
    elif storage == "rgba_png":
        image.convert("RGBA").save(path, "PNG")
    else:
        image.save(path, "JPEG", quality=90)


@dataclasses.dataclass(frozen=True)
class DatasetChecks:
    """The checks every image-Dataset assignment shares, over the hidden folder ``folder`` (under
    the job's data directory): a pack names its class, the size of its probe transform, where
    the images lie (for feedback) and its own hints, then registers each method with ``@check``."""

    class_name: str
    folder: str
    probe_size: tuple[int, int]     # an odd size no student's own transform produces
    where: str                      # "in the folder", "in its sub-folders 1 and 100"
    length_hint: Callable[[int, "ImageKey"], str]
    label_hint: Callable[[str], Callable[[list], str]]  # the folder as the job sees it -> a hint
    batch_size: int = 4
    workers: int = 2

    def length(self, student, ctx) -> Verdict:
        key = load_key(ctx.private_dir)
        count = dataset_length(student, self._dataset(student, ctx))
        if count == len(key.files):
            return passed()
        hint = self.length_hint(count, key)
        return failed(f"len({self.class_name}(data_dir)) is {count}, expected {len(key.files)}, the number of .jpg "
                      f"images {self.where}" + (f": {hint}" if hint else ""))

    def labels(self, student, ctx) -> Verdict:
        return labels_verdict(self._items(student, ctx), load_key(ctx.private_dir),
                              hint_for=self.label_hint(self._path(ctx)))

    def rgb(self, student, ctx) -> Verdict:
        return rgb_verdict(self._items(student, ctx), load_key(ctx.private_dir))

    def non_image_files(self, student, ctx) -> Verdict:
        return readable_verdict(self._items(student, ctx), load_key(ctx.private_dir).others)

    def transform(self, student, ctx) -> Verdict:
        from grader.sandbox.recipes import resize_to_tensor

        return transform_verdict(self._items(student, ctx, probe=True), load_key(ctx.private_dir),
                                 resize_to_tensor(*self.probe_size))

    def dataloader(self, student, ctx) -> Verdict:
        return loader_verdict(student, self._dataset(student, ctx, probe=True), load_key(ctx.private_dir),
                              [3, *self.probe_size], batch_size=self.batch_size, workers=self.workers,
                              seed=ctx.seed, show_messages=ctx.visible)

    def _path(self, ctx) -> str:
        return f"{ctx.data_dir}/{self.folder}"

    def _dataset(self, student, ctx, probe: bool = False) -> Handle:
        transform = (Recipe("resize_to_tensor", self.probe_size),) if probe else ()
        return student.call(self.class_name, self._path(ctx), *transform)

    def _items(self, student, ctx, probe: bool = False) -> list["Item"]:
        return dataset_items(student, self._dataset(student, ctx, probe), load_key(ctx.private_dir),
                             ctx.visible)


def loader_error_hint(message: str) -> str:
    """What a DataLoader's exception usually means for a Dataset of images."""
    channels = ("tensors of different shapes met in one batch (an image that is not RGB gives 1 or 4 channels): "
                "convert every image with .convert('RGB')")
    hints = {
        "stack expects each tensor to be equal size": channels,
        "Trying to resize storage that is not resizable": channels,  # the same, collated in a worker
        "found <class 'PIL.": "the items are PIL images: apply the transform to each image in __getitem__",
        "cannot identify image file": "a file that is not an image is listed: keep only the .jpg images",
    }
    return next((hint for text, hint in hints.items() if text in message), "")


def _show(label) -> str:
    return repr(label) if isinstance(label, (int, str)) else describe_value(label)


def _examples(lines: list[str], what: str) -> str:
    """``what``: the first few lines, and how many more."""
    if not lines:
        return ""
    shown = "; ".join(lines[:EXAMPLES])
    more = f" (and {len(lines) - EXAMPLES} more)" if len(lines) > EXAMPLES else ""
    return f"{what}: {shown}{more}"
