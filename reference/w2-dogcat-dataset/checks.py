"""Checks for w2-dogcat-dataset: the student's DogCatDataset over a hidden flat folder like
Kaggle's dogs-vs-cats ``train`` (see data.py).  Every item is matched to the image file it shows
(``grader.compare.images``), so labels are judged per image whatever order the dataset lists the
files in.  The datasets are built with a fixed seed, so the checks share them (calls are
memoised); a shuffled DataLoader with two workers runs over one inside the job.
"""

from __future__ import annotations

from grader.checks import check
from grader.compare.images import DatasetChecks, ImageKey
from grader.i18n import Message, catalogue_beside

from .data import FOLDER

_ = catalogue_beside(__file__)
FILE_NAMES = "cat.N.jpg → 0, dog.N.jpg → 1"


def _length_hint(count: int, key: ImageKey) -> Message:
    if count == 0:
        return _("no image was found: the folder is flat, cat.0.jpg … dog.N.jpg lie directly in data_dir, with no "
                 "cat/ and dog/ sub-folders")
    if len(key.files) < count <= len(key.files) + len(key.others):
        return _("files that are not images are counted too (the folder holds .DS_Store, Thumbs.db and notes.txt): "
                 "keep only the .jpg files")
    return ""


def _one_label_hint(folder: str):
    def hint(labels: list) -> Message:
        if len(labels) > 1 and len(set(map(repr, labels))) == 1:
            return _("every image came back with label {label}: take each label from the image's own file name "
                     "({names}); the folder's path ({folder}) contains 'dog' and 'cat' too, so test the file name, "
                     "not the whole path", label=repr(labels[0]), names=FILE_NAMES, folder=folder)
        return ""
    return hint


SUITE = DatasetChecks("DogCatDataset", FOLDER, probe_size=(26, 18), where=_("in the folder"),
                      length_hint=_length_hint, label_hint=_one_label_hint)

length = check("length")(SUITE.length)
labels = check("labels")(SUITE.labels)
rgb = check("rgb")(SUITE.rgb)
non_image_files = check("non_image_files")(SUITE.non_image_files)
transform = check("transform")(SUITE.transform)
dataloader = check("dataloader")(SUITE.dataloader)
