"""Checks for w2-rmb-lenet: the student's ``train_rmb`` trains on the mounted synthetic RMB split
(see data.py), and the model it returns is judged on test images it never saw, sent as the
normalised tensors the statement describes, with the model in eval mode on the CPU (the
sandbox's ``predict``).

Every check asks for the same call with the same seed, so the model is trained once per
submission (calls are memoised) and the score does not depend on which check runs first; a
training that raises is not memoised, so each check tries it again (and shows the same error).
"""

from __future__ import annotations

import functools
from pathlib import Path

import torch

from grader.checks import Verdict, check, failed, first_failure, passed
from grader.compare import tensors
from grader.i18n import Message, Text, catalogue_beside
from grader.student import StudentError
from grader.values import Handle, StudentTensor, describe

from .data import LABELS

_ = catalogue_beside(__file__)
TRAIN_SEED = 1
REQUIRED_ACCURACY = 0.95
COURSE_SETUP = _("the course's setup gets there: Resize((32, 32)), RandomCrop(32, padding=4), ToTensor and "
                 "Normalize with the ImageNet mean and std; LeNet(classes=2); 10 epochs of batches of 16; SGD lr 0.01, "
                 "momentum 0.9")

# What a batch holding a 1- or 4-channel image raises, in the transforms or in the collation.
NOT_RGB_SYMPTOMS = ("must match the size of tensor b (3)", "doesn't match the broadcast shape [3,",
                    "stack expects each tensor to be equal size", "Trying to resize storage that is not resizable",
                    "to have 3 channels, but got")
NOT_RGB = _("the training folders hold a grayscale JPEG and an RGBA PNG saved as .jpg, like the course's data: open "
            "every image with Image.open(path).convert('RGB')")


@functools.lru_cache(maxsize=2)
def _test_set(private: Path) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Normalised inputs, the same images without Normalize, and their labels."""
    return tuple(torch.load(private / name) for name in ("test_inputs.pt", "test_unnormalised.pt", "test_labels.pt"))


def _model(student, ctx) -> Handle | Verdict:
    """The trained model, or the verdict on what came back instead."""
    folders = (f"{ctx.data_dir}/rmb_split/train", f"{ctx.data_dir}/rmb_split/valid")
    try:
        model = student.call("train_rmb", *folders, seed=TRAIN_SEED)
    except StudentError as exc:
        not_rgb = any(symptom in exc.message for symptom in NOT_RGB_SYMPTOMS)
        return failed(Text.join("\n", [exc.feedback(show_message=ctx.visible), *([NOT_RGB] if not_rgb else [])]))
    if isinstance(model, Handle):
        return model
    return failed(_("train_rmb(train_dir, valid_dir) should return the trained model (an nn.Module), but it returned "
                    "{value}", value=describe(model)))


def _logits(student, model: Handle, inputs: torch.Tensor) -> StudentTensor:
    return student.builtin("predict", model, inputs, what=f"your model(x) for x of shape {list(inputs.shape)}")


def _logits_verdict(out, rows: int) -> Verdict:
    what = _("your model's output for {rows} images", rows=rows)
    return first_failure(
        lambda: tensors.is_tensor(out, what=what),
        lambda: tensors.shape_matches(out, [rows, len(LABELS)], what=what, why=_("one logit per class")),
        lambda: passed() if out.tensor.is_floating_point() else failed(_(
            "{what} has dtype {dtype}, expected floating-point logits", what=what, dtype=str(out.dtype))),
        lambda: passed() if bool(torch.isfinite(out.tensor).all()) else failed(_(
            "{what} holds NaN or infinite values: did the training diverge?", what=what)),
    )


def _accuracy(out: StudentTensor, labels: torch.Tensor) -> float:
    return float((out.tensor.argmax(dim=1) == labels).double().mean())


def _shortfall_hint(student, model: Handle, out: StudentTensor, unnormalised: torch.Tensor,
                    labels: torch.Tensor) -> Message:
    """Why a model falls short, when its predictions show it."""
    predicted = out.tensor.argmax(dim=1)
    if 1.0 - _accuracy(out, labels) >= REQUIRED_ACCURACY:
        return _("the opposite of each prediction would be right: the labels are swapped, {labels} is the mapping",
                 labels=LABELS)
    if bool((predicted == predicted[0]).all()):
        note = {label: denomination for denomination, label in LABELS.items()}[int(predicted[0])]
        return _("it predicts {note} yuan for every image (did the training diverge, or stop learning?); {setup}",
                 note=note, setup=COURSE_SETUP)
    raw = _logits(student, model, unnormalised)
    if _logits_verdict(raw, len(labels)).ok and _accuracy(raw, labels) >= REQUIRED_ACCURACY:
        return _("on the same images without Normalize it reaches {accuracy:.3f}: the test images are normalised "
                 "with the ImageNet mean and std, so train with that same transforms.Normalize",
                 accuracy=_accuracy(raw, labels))
    return COURSE_SETUP


@check("returns_model")
def returns_model(student, ctx) -> Verdict:
    model = _model(student, ctx)
    if isinstance(model, Verdict):
        return model
    try:
        parameters = student.builtin("module_parameters", model, what="model.named_parameters()")
    except StudentError:
        return failed(_("train_rmb returned {value}, which is not an nn.Module", value=model.describe()))
    return passed() if parameters else failed(_("the returned model has no parameters: return the network you trained"))


@check("output_shape")
def output_shape(student, ctx) -> Verdict:
    model = _model(student, ctx)
    if isinstance(model, Verdict):
        return model
    inputs, _, _ = _test_set(ctx.private_dir)
    return _logits_verdict(_logits(student, model, inputs), len(inputs))


@check("accuracy")
def accuracy(student, ctx) -> Verdict:
    model = _model(student, ctx)
    if isinstance(model, Verdict):
        return model
    inputs, unnormalised, labels = _test_set(ctx.private_dir)
    out = _logits(student, model, inputs)
    shape = _logits_verdict(out, len(inputs))
    if not shape.ok:
        return shape
    reached = _("accuracy {accuracy:.3f} on {count} test images the model never saw ({each} of each note)",
                accuracy=_accuracy(out, labels), count=len(labels), each=len(labels) // len(LABELS))
    if _accuracy(out, labels) >= REQUIRED_ACCURACY:
        return passed(reached)
    return failed(_("{reached}, expected at least {required}: {hint}", reached=reached, required=REQUIRED_ACCURACY,
                    hint=_shortfall_hint(student, model, out, unnormalised, labels)))
