"""The builtins that observe numpy/torch memory sharing inside a job (w1-from-numpy),
exercised directly: they only report facts."""

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


def test_addresses_answers_sit_next_to_the_true_addresses_and_ids():
    def answer(array, tensor):
        return array.__array_interface__["data"][0], tensor.data_ptr()

    shared, copy = recipes.run_builtin("data_addresses_facts", [answer, np.arange(3.0)])
    assert shared["answer"] == shared["data"] and shared["data"][0] == shared["data"][1]
    assert copy["answer"] == copy["data"] and copy["data"][0] != copy["data"][1]
    assert shared["ids"][0] != shared["ids"][1]
