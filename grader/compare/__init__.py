"""Pure comparators: ``compare(student_value, reference, *, tolerances) -> Verdict``.

Each checks, in order, what can be wrong with an answer (type, device, shape, dtype, NaN,
values) and stops at the first problem with one sentence the student can act on.
"""
