"""Checks for w2-rmb-dataset: the student's RMBDataset over a hidden folder laid out like the
course's rmb_split/train (see data.py).  Every item is matched to the image file it shows
(``grader.compare.images``), so labels are judged per image whatever order the dataset lists
the files in.  The datasets are built with a fixed seed, so the checks share them (calls are
memoised); a DataLoader with two workers runs over one inside the job.
"""

from __future__ import annotations

from grader.checks import Verdict, check, failed, passed
from grader.compare import images
from grader.compare.images import ImageKey, Item
from grader.sandbox.recipes import resize_to_tensor
from grader.values import Handle, Recipe

from .data import FOLDER, LABELS

CLASS = "RMBDataset"
PROBE_SIZE = (20, 28)  # an odd size no student's own transform produces
PROBE = Recipe("resize_to_tensor", PROBE_SIZE)
BATCH_SIZE, WORKERS = 4, 2


def _key(ctx) -> ImageKey:
    return ImageKey.load(ctx.private_dir)


def _dataset(student, ctx, transform: Recipe | None = None) -> Handle:
    return student.call(CLASS, f"{ctx.data_dir}/{FOLDER}", *(() if transform is None else (transform,)))


def _items(student, ctx, dataset: Handle) -> list[Item]:
    return images.dataset_items(student, dataset, _key(ctx), ctx.visible)


def _length_hint(count: int, key: ImageKey) -> str:
    if count == 0:
        return "no image was found: data_dir holds the sub-folders 1 and 100, and the images are inside them"
    if count <= len(LABELS) + 1:
        return "is it counting the sub-folders rather than the images inside them?"
    if len(key.files) < count <= len(key.files) + len(key.others):
        return ("files that are not images are counted too (the folder holds .DS_Store, Thumbs.db and notes.txt): "
                "keep only the .jpg files")
    return ""


def _folder_name_hint(labels: list) -> str:
    if any(label in ("1", "100", 100) for label in labels):
        return f"the labels are the folder names; map them with {LABELS} to the ints 0 and 1"
    return ""


@check("length")
def length(student, ctx) -> Verdict:
    key = _key(ctx)
    count = images.dataset_length(student, _dataset(student, ctx))
    if count == len(key.files):
        return passed()
    hint = _length_hint(count, key)
    return failed(f"len({CLASS}(data_dir)) is {count}, expected {len(key.files)}, the number of .jpg images in "
                  f"its sub-folders 1 and 100" + (f": {hint}" if hint else ""))


@check("labels")
def labels(student, ctx) -> Verdict:
    items = _items(student, ctx, _dataset(student, ctx))
    return images.labels_verdict(items, _key(ctx), hint_for=_folder_name_hint)


@check("rgb")
def rgb(student, ctx) -> Verdict:
    return images.rgb_verdict(_items(student, ctx, _dataset(student, ctx)), _key(ctx))


@check("non_image_files")
def non_image_files(student, ctx) -> Verdict:
    return images.readable_verdict(_items(student, ctx, _dataset(student, ctx)), _key(ctx).others)


@check("transform")
def transform(student, ctx) -> Verdict:
    items = _items(student, ctx, _dataset(student, ctx, PROBE))
    return images.transform_verdict(items, _key(ctx), resize_to_tensor(*PROBE_SIZE))


@check("dataloader")
def dataloader(student, ctx) -> Verdict:
    return images.loader_verdict(student, _dataset(student, ctx, PROBE), _key(ctx), [3, *PROBE_SIZE],
                                 batch_size=BATCH_SIZE, workers=WORKERS, seed=ctx.seed, show_messages=ctx.visible)
