"""Image datasets judged by content: what a student's Dataset returns, matched to the files it shows.

A pack with a hidden image folder keeps an ``ImageKey`` in its private data: each image file's
label, how it is stored, and its pixels as PIL decodes them in RGB.  Whatever the student's code
returns for an item is matched to the file it shows by a small fingerprint: a PIL image in any
mode, the tensor a transform made of it, or the image held another way (a tensor or a numpy
array, channels first, last or none, integers in 0..255 or floats in [0, 1] or [0, 255]), so labels
are judged per image, never by index, file order or representation, and the representation
itself is judged where the contract asks for one (the RGB check).  A check reads the student's Dataset where it lives, in the job (``dataset_items``,
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
from grader.i18n import Message, Text, _
from grader.student import StudentError
from grader.values import Handle, Recipe, StudentArray, StudentTensor, describe

FINGERPRINT_SIZE = 16
# Mean absolute difference (in [0, 1]) up to which a value counts as showing an image: distinct
# hidden images lie far above it, a resized or re-channelled copy of one far below.
MATCH_DISTANCE = 0.06
KEY_FILE = "image_key.json"
PIXELS_FILE = "image_key.npz"
EXAMPLES = 3  # wrong items quoted in one feedback line
SPARE_INDICES = 8  # indices read past the folder's file count when len() is larger still
CHANNELS = (1, 3, 4)  # grayscale, RGB, RGBA


@dataclasses.dataclass(frozen=True)
class Picture:
    """One reading of a value as an image: its pixels as [C, H, W] floats in [0, 1], and how the
    value held them (a PIL image; a tensor or a numpy array, channels first or last or none,
    integers in 0..255 or floats in [0, 1] or [0, 255])."""

    pixels: torch.Tensor
    kind: str    # "pil", "tensor", "array"
    layout: str  # "CHW", "HWC", "HW"

    @property
    def channels(self) -> int:
        return int(self.pixels.shape[0])

    def fingerprint(self) -> np.ndarray:
        """A 3 x 16 x 16 summary in [0, 1]: grayscale repeated, alpha dropped."""
        rgb = self.pixels.expand(3, -1, -1) if self.channels == 1 else self.pixels[:3]
        small = F.interpolate(rgb[None], size=(FINGERPRINT_SIZE,) * 2, mode="bilinear", antialias=True,
                              align_corners=False)[0]
        return small.numpy()


def pictures(value) -> list[Picture]:
    """Every way ``value`` reads as an image (two when both its first and last dimensions could
    be the channels); none for what is not an image."""
    if isinstance(value, Image.Image):
        pixels = torch.from_numpy(np.asarray(value.convert("RGB"), dtype=np.float32) / 255).permute(2, 0, 1)
        return [Picture(pixels.contiguous(), "pil", "HWC")]
    if isinstance(value, StudentTensor):
        tensor, kind = value.tensor, "tensor"
    elif isinstance(value, StudentArray) and value.array.dtype.kind in "uif":
        tensor, kind = torch.from_numpy(np.array(value.array)), "array"
    else:
        return []
    if tensor.dtype == torch.bool or tensor.is_complex() or tensor.numel() == 0 or tensor.dim() not in (2, 3):
        return []
    unit = _unit_range(tensor)
    if unit is None:
        return []
    if unit.dim() == 2:
        return [Picture(unit[None], kind, "HW")]
    readings = [("CHW", unit), ("HWC", unit.permute(2, 0, 1))]
    return [Picture(pixels.contiguous(), kind, layout) for layout, pixels in readings
            if pixels.shape[0] in CHANNELS and min(pixels.shape[1:]) >= 2]


def _unit_range(tensor: torch.Tensor) -> torch.Tensor | None:
    """Pixels as floats in [0, 1]: integers are 0..255; floats above 1 are taken as 0..255 too."""
    values = tensor.float()
    if not bool(torch.isfinite(values).all()):
        return None
    if not tensor.is_floating_point() or float(values.max()) > 1.0 + 1e-3:
        return values / 255
    return values


def fingerprint(value) -> np.ndarray | None:
    """The summary of the first reading of ``value`` as an image; None for anything else."""
    readings = pictures(value)
    return readings[0].fingerprint() if readings else None


def describe_value(value) -> Message:
    """What a student's value is, in their terms."""
    if isinstance(value, Image.Image):
        return _("a PIL image (mode {mode}, {width}x{height})", mode=value.mode, width=value.width,
                 height=value.height)
    if isinstance(value, StudentTensor):
        return _("a tensor of shape {shape} and dtype {dtype}", shape=list(value.shape),
                 dtype=str(value.dtype).removeprefix("torch."))
    if isinstance(value, StudentArray):
        return _("a numpy array of shape {shape} and dtype {dtype}", shape=list(value.array.shape),
                 dtype=str(value.array.dtype))
    if isinstance(value, (list, tuple)) and value:
        kinds = sorted({type(item).__name__ for item in value})
        return _("a {container} of {kinds}", container=type(value).__name__, kinds=", ".join(kinds))
    if value is None:
        return "None"
    if isinstance(value, Handle):
        return _("an object of type {name}", name=value.type_name.rsplit(".", 1)[-1] or "object")
    return _("a {kind}", kind=type(value).__name__)


def describe_picture(value, picture: Picture) -> Message:
    """``describe_value``, with how its channels are laid out when that is not plain to see."""
    if picture.kind == "pil":
        return describe_value(value)
    layouts = {"HWC": _("channels last, HWC"), "CHW": _("channels first, CHW"), "HW": _("no channel dimension, HW")}
    return _("{value} ({layout})", value=describe_value(value), layout=layouts[picture.layout])


@dataclasses.dataclass(frozen=True)
class Match:
    """The file a value shows, and the reading of the value that shows it."""

    file: str
    picture: Picture


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

    def mode(self, file: str) -> str:
        return self.stored[file].split()[1]

    def stored_as(self, file: str) -> Message:
        image_format, mode = self.stored[file].split()
        if mode == "L":
            return _("a grayscale {format}", format=image_format)
        if image_format != "JPEG":
            return _("an {mode} {format} saved as .jpg", mode=mode, format=image_format)
        return _("an {mode} {format}", mode=mode, format=image_format)

    def match(self, value) -> Match | None:
        """The file whose image ``value`` shows, in whichever representation it holds it (PIL;
        tensor or numpy array; channels first, last or none; 0..255 or [0, 1]), or None."""
        best = None
        for picture in pictures(value):
            summary = picture.fingerprint()
            for file, known in self._fingerprints.items():
                distance = float(np.abs(summary - known).mean())
                if distance <= MATCH_DISTANCE and (best is None or distance < best[0]):
                    best = (distance, Match(file, picture))
        return best[1] if best else None

    def identify(self, value) -> str | None:
        """The file whose image ``value`` shows, or None when it shows none of them."""
        found = self.match(value)
        return found.file if found else None

    @functools.cached_property
    def _fingerprints(self) -> dict[str, np.ndarray]:
        return {file: fingerprint(self.image(file)) for file in self.labels}


@dataclasses.dataclass(frozen=True)
class Item:
    """What ``dataset[index]`` gave: a value, or the feedback for the exception it raised."""

    index: int
    value: object = None
    error: Message | None = None

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
        return failed(Text.join("\n", [exc.feedback(show_message=show_messages), *([hint] if hint else [])]))
    return batches_verdict(batches, key, batch_size, image_shape)


def label_of(value) -> int | None:
    """A label as an int: a Python int, or a one-element integer tensor; None for anything else."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, StudentTensor) and value.tensor.numel() == 1 and not value.tensor.is_floating_point() \
            and value.dtype != torch.bool:
        return int(value.tensor.reshape(()))
    return None


def _labels_given(items: list[Item], key: ImageKey) -> tuple[dict[str, list], list[Message]]:
    """file -> the labels it came back with, and what could not be matched to a file."""
    given: dict[str, list] = {}
    unmatched = []
    for item in items:
        pair = item.pair
        if pair is None:
            if item.error is None:
                unmatched.append(_("{item} returned {value}, expected a tuple (image, label)", item=item.name,
                                   value=describe_value(item.value)))
            continue
        file = key.identify(pair[0])
        if file is None:
            unmatched.append(_("{item} returned {value}, which shows none of the folder's images", item=item.name,
                               value=describe_value(pair[0])))
        else:
            given.setdefault(file, []).append(pair[1])
    return given, unmatched


def labels_verdict(items: list[Item], key: ImageKey, hint_for: Callable[[list], Message] | None = None) -> Verdict:
    """Every image of the folder came back, each time with its label; credit per image.
    ``hint_for(labels)`` may explain a pattern in all the labels returned."""
    if not items:
        return failed(_("the dataset is empty, so no label could be checked"))
    given, unmatched = _labels_given(items, key)
    hint = (hint_for and hint_for([label for labels in given.values() for label in labels])) \
        or _label_pattern(given, key)
    wrong = [_("{file} came back with label {label}, expected {expected}", file=file, label=_show(label),
               expected=key.labels[file])
             for file, labels in given.items() for label in labels if label_of(label) != key.labels[file]]
    missing = [file for file in key.files if file not in given]
    right = [f for f in key.files if f in given and all(label_of(label) == key.labels[f] for label in given[f])]
    if len(right) == len(key.files):
        return passed()
    total = len(key.files)
    notes = [_examples(wrong, _("{count} of {total} images have a wrong label", count=total - len(right) - len(missing),
                                total=total)),
             _examples(missing, _("{count} of {total} images never came back", count=len(missing), total=total)),
             _examples(unmatched, _("items that are not (image, label) of the folder")),
             _examples([item.error for item in items if item.error], _("items that raised")) if not given else "",
             hint]
    feedback = Text.join("\n", [note for note in notes if note])
    return partial(len(right) / total, feedback) if right else failed(feedback)


def _label_pattern(given: dict[str, list], key: ImageKey) -> Message:
    """What the wrong labels have in common, when it is one of the usual slips."""
    pairs = [(label_of(label), key.labels[file]) for file, labels in given.items() for label in labels]
    if len(pairs) < 2 or len(set(key.labels.values())) != 2:
        return ""
    ints = {label for label, _truth in pairs}
    if ints == {None}:
        return _("each label should be an int")
    if len(ints) == 1:
        return _("every image came back with label {label}: read each image's label from its own file",
                 label=ints.pop())
    classes = set(key.labels.values())
    if all(label is not None and label != truth and {label, truth} == classes for label, truth in pairs):
        return _("the two labels are swapped")
    return ""


def rgb_verdict(items: list[Item], key: ImageKey) -> Verdict:
    """Every image comes back in RGB, those stored in other modes included, and (no transform
    being given) as the PIL image itself.  An image recognised in another representation (a
    tensor or an array, channels first or last) is judged on its channels all the same; one in RGB
    but not a PIL image costs half the check."""
    if not any(item.pair for item in items):
        return failed(_("the dataset gave no (image, label) item to check"))
    not_rgb, not_pil, seen = [], [], set()
    for item in items:
        if item.pair is None:
            continue
        image = item.pair[0]
        found = key.match(image)
        seen.add(found.file if found else None)
        problem = _channels_problem(item, image, found, key)
        if problem:
            not_rgb.append(problem)
        elif not isinstance(image, Image.Image):
            not_pil.append(_("{item} returned {value} as its image", item=item.name,
                             value=describe_picture(image, found.picture) if found else describe_value(image)))
    unseen = [_("{file} ({stored})", file=file, stored=key.stored_as(file)) for file in key.files
              if key.mode(file) != "RGB" and file not in seen]
    if not_rgb:
        return failed(Text.join("\n", [_examples(not_rgb, _("images not in RGB")), _(
            "open every image with Image.open(path).convert('RGB'): some files are grayscale or RGBA")]))
    if unseen:
        return failed(_examples(unseen, _("images stored in other modes never came back, so their conversion to "
                                          "RGB could not be checked")))
    if not_pil:
        return partial(0.5, Text.join("\n", [_examples(not_pil, _("images in RGB, but not PIL images")), _(
            "without a transform, return the PIL image itself, Image.open(path).convert('RGB'): the course's "
            "transforms (Resize, RandomCrop, ToTensor) take the PIL image and turn it into a tensor")]))
    return passed()


def _channels_problem(item: Item, image, found: Match | None, key: ImageKey) -> Message:
    """Why an item's image is not RGB, or nothing."""
    file = found.file if found else None
    where = _("{file} ({stored})", file=file, stored=key.stored_as(file)) if file else item.name
    if isinstance(image, Image.Image):
        if image.mode == "RGB":
            return ""
        return _("{where} came back in mode {mode}, expected RGB", where=where, mode=image.mode)
    if found is None:
        return _("{item} returned {value} as its image, which shows none of the folder's images", item=item.name,
                 value=describe_value(image))
    if found.picture.channels == 3:
        return ""
    return _("{where} came back with {channels} channel(s), as {value}, expected 3 (RGB)", where=where,
             channels=found.picture.channels, value=describe_picture(image, found.picture))


def readable_verdict(items: list[Item], others: tuple[str, ...]) -> Verdict:
    """Every index of the dataset gives an item: none raises on a file that is not an image."""
    if not items:
        return failed(_("the dataset is empty, so its items could not be checked"))
    raised = [_("{item}: {error}", item=item.name, error=item.error) for item in items if item.error]
    if raised:
        names = ", ".join(sorted({Path(other).name for other in others}))
        return failed(Text.join("\n", [_examples(raised, _("items that raised")), _(
            "the folder also holds files that are not images ({names}): list only the .jpg images", names=names)]))
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
            wrong.append(_("{item} {problem}", item=item.name, problem=problem))
    if not checked:
        return failed(_examples([item.error for item in items if item.error], _("items that raised"))
                      or _("the dataset gave no (image, label) item to check"))
    return failed(_examples(wrong, _("items the transform was not applied to"))) if wrong else passed()


def _transformed_problem(value, key: ImageKey, expected: Callable[[Image.Image], torch.Tensor]) -> Message:
    if isinstance(value, Image.Image):
        return _("returned a PIL image although a transform was given: return transform(img)")
    file = key.identify(value)
    if file is None:
        return _("returned {value}, which is not the transform's output for any image of the folder",
                 value=describe_value(value))
    want = expected(key.image(file))
    if not isinstance(value, StudentTensor):
        return _("returned {value}, expected the transform's output as it is, a tensor of shape {shape}",
                 value=describe_value(value), shape=list(want.shape))
    shape = list(value.shape)
    if len(shape) != 3 or shape[1:] != list(want.shape[1:]):
        return _("returned a tensor of shape {shape}, expected {expected}: apply the transform passed to the "
                 "dataset, not one of your own", shape=shape, expected=list(want.shape))
    channels = min(shape[0], 3)  # a grayscale or RGBA image transformed as it is: the RGB check says so
    if not torch.allclose(value.tensor[:channels].float(), want[:channels], atol=1e-4):
        return _("({file}) does not equal transform(image): apply the transform once, to the image as loaded",
                 file=file)
    return ""


def batches_verdict(batches, key: ImageKey, batch_size: int, image_shape: list[int]) -> Verdict:
    """A DataLoader's batches: [images, labels] pairs of the batch size, every image exactly once."""
    if not isinstance(batches, list) or not batches:
        return failed(_("the DataLoader gave {value}, expected batches", value=describe_value(batches)))
    counts: dict[str, int] = {}
    for number, batch in enumerate(batches):
        problem = _batch_problem(batch, batch_size, image_shape, key, counts)
        if problem:
            return failed(_("batch {number}: {problem}", number=number, problem=problem))
    expected_batches = math.ceil(len(key.files) / batch_size)
    repeated = [file for file, count in counts.items() if count > 1]
    missing = [file for file in key.files if file not in counts]
    if repeated or missing or len(batches) != expected_batches:
        notes = [note for note in (_examples(repeated, _("images seen more than once")),
                                   _examples(missing, _("images never seen"))) if note]
        return failed(_("the DataLoader gave {count} batches, expected {expected}: one pass over the {images} "
                        "images", count=len(batches), expected=expected_batches, images=len(key.files))
                      if not notes else
                      _("the DataLoader gave {count} batches, expected {expected}: one pass over the {images} "
                        "images; {notes}", count=len(batches), expected=expected_batches, images=len(key.files),
                        notes=Text.join("; ", notes)))
    return passed()


def _batch_problem(batch, batch_size: int, image_shape: list[int], key: ImageKey, counts: dict) -> Message:
    if not isinstance(batch, (list, tuple)) or len(batch) != 2:
        return _("got {value}, expected [images, labels]", value=describe_value(batch))
    images, labels = batch
    if not isinstance(images, StudentTensor) or images.tensor.dim() != len(image_shape) + 1 \
            or list(images.shape[1:]) != image_shape or not 1 <= images.shape[0] <= batch_size:
        return _("the images are {value}, expected a tensor of shape {shape} (fewer in the last batch)",
                 value=describe_value(images), shape=[batch_size, *image_shape])
    if not isinstance(labels, StudentTensor) or labels.tensor.is_floating_point() or labels.dtype == torch.bool \
            or list(labels.shape) != [images.shape[0]]:
        return _("the labels are {value}, expected an integer tensor of shape {shape}: return each label as an int",
                 value=describe_value(labels), shape=[images.shape[0]])
    files = [key.identify(StudentTensor(image)) for image in images.tensor]
    if None in files:
        return _("image {index} of the batch shows none of the folder's images", index=files.index(None))
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
    where: Message                  # "in the folder", "in its sub-folders 1 and 100"
    length_hint: Callable[[int, "ImageKey"], Message]
    label_hint: Callable[[str], Callable[[list], Message]]  # the folder as the job sees it -> a hint
    batch_size: int = 4
    workers: int = 2

    def length(self, student, ctx) -> Verdict:
        key = load_key(ctx.private_dir)
        count = dataset_length(student, self._dataset(student, ctx))
        if count == len(key.files):
            return passed()
        said = _("len({name}(data_dir)) is {count}, expected {expected}, the number of .jpg images {where}",
                 name=self.class_name, count=count, expected=len(key.files), where=self.where)
        hint = self.length_hint(count, key)
        return failed(_("{said}: {hint}", said=said, hint=hint) if hint else said)

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


def loader_error_hint(message: str) -> Message:
    """What a DataLoader's exception usually means for a Dataset of images."""
    channels = _("tensors of different shapes met in one batch (an image that is not RGB gives 1 or 4 channels): "
                 "convert every image with .convert('RGB')")
    hints = {
        "stack expects each tensor to be equal size": channels,
        "Trying to resize storage that is not resizable": channels,  # the same, collated in a worker
        "found <class 'PIL.": _("the items are PIL images: apply the transform to each image in __getitem__"),
        "cannot identify image file": _("a file that is not an image is listed: keep only the .jpg images"),
    }
    return next((hint for text, hint in hints.items() if text in message), "")


def _show(label) -> Message:
    return repr(label) if isinstance(label, (int, str)) else describe_value(label)


def _examples(lines: list[Message], what: Message) -> Message:
    """``what``: the first few lines, and how many more."""
    if not lines:
        return ""
    shown = Text.join("; ", lines[:EXAMPLES])
    if len(lines) > EXAMPLES:
        return _("{what}: {shown} (and {more} more)", what=what, shown=shown, more=len(lines) - EXAMPLES)
    return _("{what}: {shown}", what=what, shown=shown)
