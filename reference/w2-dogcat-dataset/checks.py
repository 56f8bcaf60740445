"""Checks for w2-dogcat-dataset: the student's DogCatDataset over a hidden flat folder like
Kaggle's dogs-vs-cats ``train`` (see data.py).  Every item is matched to the image file it shows
(``grader.compare.images``), so labels are judged per image whatever order the dataset lists the
files in.  The datasets are built with a fixed seed, so the checks share them (calls are
memoised); a shuffled DataLoader with two workers runs over one inside the job.
"""

from __future__ import annotations

from grader.checks import Verdict, check, failed, passed
from grader.compare import images
from grader.compare.images import ImageKey, Item
from grader.sandbox.recipes import resize_to_tensor
from grader.values import Handle, Recipe

from .data import FOLDER

CLASS = "DogCatDataset"
PROBE_SIZE = (26, 18)  # an odd size no student's own transform produces
PROBE = Recipe("resize_to_tensor", PROBE_SIZE)
BATCH_SIZE, WORKERS = 4, 2
FILE_NAMES = "cat.N.jpg → 0, dog.N.jpg → 1"


def _key(ctx) -> ImageKey:
    return ImageKey.load(ctx.private_dir)


def _folder(ctx) -> str:
    return f"{ctx.data_dir}/{FOLDER}"


def _dataset(student, ctx, transform: Recipe | None = None) -> Handle:
    return student.call(CLASS, _folder(ctx), *(() if transform is None else (transform,)))


def _items(student, ctx, dataset: Handle) -> list[Item]:
    return images.dataset_items(student, dataset, _key(ctx), ctx.visible)


def _length_hint(count: int, key: ImageKey) -> str:
    if count == 0:
        return ("no image was found: the folder is flat, cat.0.jpg … dog.N.jpg lie directly in data_dir, with no "
                "cat/ and dog/ sub-folders")
    if len(key.files) < count <= len(key.files) + len(key.others):
        return ("files that are not images are counted too (the folder holds .DS_Store, Thumbs.db and notes.txt): "
                "keep only the .jpg files")
    return ""


def _one_label_hint(folder: str):
    def hint(labels: list) -> str:
        if len(labels) > 1 and len(set(map(repr, labels))) == 1:
            return (f"every image came back with label {labels[0]!r}: take each label from the image's own file "
                    f"name ({FILE_NAMES}); the folder's path ({folder}) contains 'dog' and 'cat' too, so test the "
                    f"file name, not the whole path")
        return ""
    return hint


@check("length")
def length(student, ctx) -> Verdict:
    key = _key(ctx)
    count = images.dataset_length(student, _dataset(student, ctx))
    if count == len(key.files):
        return passed()
    hint = _length_hint(count, key)
    return failed(f"len({CLASS}(data_dir)) is {count}, expected {len(key.files)}, the number of .jpg images in the "
                  f"folder" + (f": {hint}" if hint else ""))


@check("labels")
def labels(student, ctx) -> Verdict:
    items = _items(student, ctx, _dataset(student, ctx))
    return images.labels_verdict(items, _key(ctx), hint_for=_one_label_hint(_folder(ctx)))


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
