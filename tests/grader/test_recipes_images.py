"""The image-dataset recipe and builtin: a DataLoader with worker processes over a student's
Dataset, run inside a confined job (with the default process limit; below about 12 the workers
cannot start their threads), and its failures reported at the student's line."""

from __future__ import annotations

import os

import pytest
import torch
from PIL import Image

from grader.sandbox import recipes
from grader.sandbox.host import JobLimits, Sandbox, SandboxConfig
from grader.student import Student, StudentError
from grader.values import Recipe, StudentTensor

SLOT = int(os.environ.get("TORCHGRADE_SANDBOX_SLOT", "0")) + 200

DATASET = b"""
from PIL import Image
from torch.utils.data import Dataset


class Shades(Dataset):
    def __init__(self, count, transform, broken=None):
        self.count, self.transform, self.broken = count, transform, broken

    def __len__(self):
        return self.count

    def __getitem__(self, index):
        if index == self.broken:
            raise ValueError(f"item {index} is broken")
        return self.transform(Image.new("RGB", (30, 20), (index * 20, 0, 0))), index
"""


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(SandboxConfig(slot=SLOT)) as warm:
        yield warm


def student_in(sandbox, limits: JobLimits) -> Student:
    student = Student(sandbox.job(limits, seed=0), "shades.py")
    student.install({"shades.py": DATASET})
    student.import_module()
    return student


def loader_batches(student: Student, count: int, broken=None) -> list:
    dataset = student.call("Shades", count, Recipe("resize_to_tensor", (4, 6)), broken)
    return student.builtin("dataloader_batches", dataset, 4, True, 2)


def test_resize_to_tensor_builds_the_transform_the_checker_recomputes():
    tensor = recipes.build("resize_to_tensor", [4, 6])(Image.new("RGB", (30, 20), (255, 0, 0)))
    assert tensor.shape == (3, 4, 6) and tensor[0].eq(1).all() and tensor[1:].eq(0).all()


def test_two_workers_run_inside_the_job_and_every_item_comes_once(sandbox):
    student = student_in(sandbox, JobLimits(wall_s=30))
    try:
        batches = loader_batches(student, 10)
    finally:
        student.job.close()
    assert [len(labels.tensor) for _, labels in batches] == [4, 4, 2]
    assert all(isinstance(images, StudentTensor) and images.shape[1:] == (3, 4, 6) for images, _ in batches)
    assert sorted(torch.cat([labels.tensor for _, labels in batches]).tolist()) == list(range(10))


def test_a_worker_failure_is_reported_at_the_students_line(sandbox):
    student = student_in(sandbox, JobLimits(wall_s=30))
    try:
        with pytest.raises(StudentError) as raised:
            loader_batches(student, 10, broken=7)
    finally:
        student.job.close()
    assert raised.value.type_name == "ValueError"
    assert raised.value.message.startswith("Caught ValueError in DataLoader worker process ")
    assert raised.value.message.endswith(". ValueError: item 7 is broken (line 15 of shades.py)")
