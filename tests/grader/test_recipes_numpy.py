"""The builtins that observe numpy/torch memory sharing inside a job (w1-from-numpy),
exercised directly: they only report facts and answers, which the checker may use to take
points away, never to give them."""

from __future__ import annotations

import numpy as np
import torch

from grader.sandbox import recipes


def test_shared_memory_is_seen_both_ways():
    facts = recipes.run_builtin("to_tensor_facts", [torch.from_numpy, np.arange(6, dtype=np.float32).reshape(2, 3)])
    assert facts["tensor_write_seen"] and facts["array_write_seen"] and facts["tensor"].shape == (2, 3)


def test_a_copy_is_seen_neither_way():
    facts = recipes.run_builtin("to_tensor_facts", [torch.tensor, np.arange(4, dtype=np.int64)])
    assert not facts["tensor_write_seen"] and not facts["array_write_seen"]


def test_a_non_tensor_answer_is_reported_by_type():
    assert recipes.run_builtin("to_tensor_facts", [lambda a: a.tolist(), np.zeros(3)]) == {"type": "builtins.list"}


def test_addresses_answers_are_the_students_answers_for_a_shared_a_copied_and_an_offset_tensor():
    def answer(array, tensor):
        return array.__array_interface__["data"][0], tensor.data_ptr()

    array = np.arange(6.0).reshape(2, 3)
    shared, copy, offset = recipes.run_builtin("data_addresses_answers", [answer, array])
    assert shared[0] == shared[1] and copy[0] != copy[1]
    assert offset[1] - offset[0] == array.strides[0]
