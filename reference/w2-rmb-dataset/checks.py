"""Checks for w2-rmb-dataset: the student's RMBDataset over a hidden folder laid out like the
course's rmb_split/train (see data.py).  Every item is matched to the image file it shows
(``grader.compare.images``), so labels are judged per image whatever order the dataset lists
the files in.  The datasets are built with a fixed seed, so the checks share them (calls are
memoised); a DataLoader with two workers runs over one inside the job.
"""

from __future__ import annotations

from grader.checks import check
from grader.compare.images import DatasetChecks, ImageKey
from grader.i18n import Message, catalogue_beside

from .data import FOLDER, LABELS

_ = catalogue_beside(__file__)


def _length_hint(count: int, key: ImageKey) -> Message:
    if count == 0:
        return _("no image was found: data_dir holds the sub-folders 1 and 100, and the images are inside them")
    if count <= len(LABELS) + 1:
        return _("is it counting the sub-folders rather than the images inside them?")
    if len(key.files) < count <= len(key.files) + len(key.others):
        return _("files that are not images are counted too (the folder holds .DS_Store, Thumbs.db and notes.txt): "
                 "keep only the .jpg files")
    return ""


def _folder_name_hint(folder: str):
    def hint(labels: list) -> Message:
        if any(label in ("1", "100", 100) for label in labels):
            return _("the labels are the folder names; map them with {labels} to the ints 0 and 1", labels=LABELS)
        return ""
    return hint


SUITE = DatasetChecks("RMBDataset", FOLDER, probe_size=(20, 28), where=_("in its sub-folders 1 and 100"),
                      length_hint=_length_hint, label_hint=_folder_name_hint)

length = check("length")(SUITE.length)
labels = check("labels")(SUITE.labels)
rgb = check("rgb")(SUITE.rgb)
non_image_files = check("non_image_files")(SUITE.non_image_files)
transform = check("transform")(SUITE.transform)
dataloader = check("dataloader")(SUITE.dataloader)
