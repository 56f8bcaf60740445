"""A class of w2-rmb-lenet submissions for the similarity tests and benchmark.

- ``ind_*.py``: independent correct solutions, each written its own way;
- planted copies of them, made as a copier makes them: identifiers renamed, functions (and
  methods) reordered, comments replaced, the layout rewritten (``ast.unparse``), some pasted into
  a notebook or split into a zip project;
- students who copied only the course's scripts (reference/_course/: the dataset, LeNet, the
  seed helper, and lesson 6's training loop made into ``train_rmb``), each with their own edits.

Pairs within a family (a solution and its copies) are planted; every other pair is independent.
"""

from __future__ import annotations

import ast
import dataclasses
import io
import itertools
import json
import random
import re
import zipfile
from pathlib import Path

from grader.similarity import Source

FOLDER = Path(__file__).resolve().parent
REPOSITORY = FOLDER.parents[2]
INDEPENDENT = sorted(FOLDER.glob("ind_*.py"))
COURSE = REPOSITORY / "reference" / "_course"
KEPT = {"train_rmb", "self", "super", "print", "range", "len", "int", "float", "list", "dict", "sorted", "max", "min",
        "isinstance", "round", "enumerate", "zip", "sum", "str", "tuple", "open"}
WORDS = ("alpha", "beta", "gamma", "delta", "omega", "sigma", "kappa", "theta", "zeta", "lam", "rho", "tau", "phi")
COMMENTS = ("# my own helper", "# TODO tidy up", "# written for the homework", "# see lecture notes",
            "# this part trains", "# handles the data")


@dataclasses.dataclass(frozen=True)
class Student:
    source: Source
    family: str          # pairs within a family are planted copies


# ---------------------------------------------------------------------- a copier's edits
class _Renamer(ast.NodeTransformer):
    def __init__(self, names: dict[str, str]):
        self.names = names

    def _new(self, name: str) -> str:
        return self.names.get(name, name)

    def visit_Name(self, node):
        node.id = self._new(node.id)
        return node

    def visit_arg(self, node):
        node.arg = self._new(node.arg)
        return node

    def visit_FunctionDef(self, node):
        node.name = self._new(node.name)
        self.generic_visit(node)
        return node

    def visit_ClassDef(self, node):
        node.name = self._new(node.name)
        self.generic_visit(node)
        return node

    def visit_Attribute(self, node):
        self.generic_visit(node)
        if isinstance(node.value, ast.Name) and node.value.id == "self":
            node.attr = self._new(node.attr)
        return node


def _defined(tree: ast.Module) -> list[str]:
    """The names the author chose: functions, classes, arguments, variables, attributes of self."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not node.name.startswith("__"):
            found.append(node.name)
        elif isinstance(node, ast.arg):
            found.append(node.arg)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            found.append(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store) \
                and isinstance(node.value, ast.Name) and node.value.id == "self":
            found.append(node.attr)
    return [name for name in dict.fromkeys(found) if name not in KEPT]


def _reordered(body: list[ast.stmt], rng: random.Random) -> list[ast.stmt]:
    """Definitions shuffled (methods too); imports and other statements stay where they are."""
    spots = [i for i, node in enumerate(body) if isinstance(node, (ast.FunctionDef, ast.ClassDef))]
    moved = [body[i] for i in spots]
    rng.shuffle(moved)
    body = list(body)
    for i, node in zip(spots, moved):
        if isinstance(node, ast.ClassDef):
            node.body = _reordered(node.body, rng)
        body[i] = node
    return body


def planted_copy(text: str, seed: int, *, rename: bool = True, reorder: bool = True, recomment: bool = True) -> str:
    rng = random.Random(seed)
    tree = ast.parse(text)
    if rename:
        words = itertools.cycle(rng.sample(WORDS, len(WORDS)))
        tree = _Renamer({name: f"{next(words)}_{i}" for i, name in enumerate(_defined(tree))}).visit(tree)
    if reorder:
        tree.body = _reordered(tree.body, rng)
    out = ast.unparse(tree)   # comments gone, layout and quotes rewritten
    if recomment:
        out = re.sub(r"^(\s*)(def|class) ", lambda m: f"{m.group(1)}{rng.choice(COMMENTS)}\n{m.group(0)}", out,
                     flags=re.MULTILINE)
    return out + "\n"


def course_copy(seed: int) -> str:
    """The course's script as one student hands it in: a few numbers and names of their own."""
    rng = random.Random(seed)
    text = course_module()
    edits = [("MAX_EPOCH = 10", f"MAX_EPOCH = {rng.choice((12, 15, 20))}"),
             ("LR = 0.01", f"LR = {rng.choice((0.005, 0.02, 0.03))}"),
             ("BATCH_SIZE = 16", f"BATCH_SIZE = {rng.choice((8, 24, 32))}"),
             ("set_seed()", f"set_seed({rng.randrange(2, 100)})"),
             ("net.initialize_weights()\n", "")]
    for old, new in rng.sample(edits, 3):
        text = text.replace(old, new)
    if rng.random() < 0.5:
        text = re.sub(r"\n\s*# =+ step .*", "", text)
    return text + f"\n# student {seed}\n"


def course_module() -> str:
    """The course's scripts pasted into one module, the training loop made into train_rmb."""
    parts = [(COURSE / name).read_text(encoding="utf-8") for name in ("my_dataset.py", "lenet.py", "common_tools.py")]
    script = (COURSE / "train_lenet.py").read_text(encoding="utf-8")
    body = script[script.index("# 参数设置"):script.index("train_x = range")]
    body = re.sub(r"\nsplit_dir = .*\ntrain_dir = .*\nvalid_dir = .*\n", "\n", body)
    loop = "def train_rmb(train_dir, valid_dir):\n    set_seed()\n" + "".join(
        f"    {line}" if line.strip() else line for line in body.splitlines(keepends=True)) + "    return net\n"
    return "\n\n".join(parts + [loop])


def notebook(text: str) -> bytes:
    """The module pasted into a notebook, one cell per top-level statement group."""
    cells, current = [], []
    for line in text.splitlines(keepends=True):
        if re.match(r"(def|class|# |@)", line) and current and not current[-1].startswith("#"):
            cells.append(current)
            current = []
        current.append(line)
    cells.append(current)
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {},
                       "cells": [{"cell_type": "code", "metadata": {}, "source": cell, "outputs": [],
                                  "execution_count": None} for cell in cells]}).encode()


def zipped(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(f"project/{name}", text)
    return buffer.getvalue()


def split_project(text: str) -> dict[str, str]:
    """The module split in two: its classes in models.py, the rest in submission.py."""
    tree = ast.parse(text)
    imports = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    classes = [n for n in tree.body if isinstance(n, ast.ClassDef)]
    rest = [n for n in tree.body if n not in classes and n not in imports]
    head = ast.unparse(imports)
    return {"models.py": head + "\n\n" + ast.unparse(classes) + "\n",
            "submission.py": head + "\nfrom models import *\n\n" + ast.unparse(rest) + "\n"}


# ---------------------------------------------------------------------- the class
def corpus() -> list[Student]:
    """Five independent solutions, six planted copies of them (one solution copied twice: a
    cluster of three), four students who copied only the course's script."""
    texts = {path.stem: path.read_text(encoding="utf-8") for path in INDEPENDENT}
    names = sorted(texts)
    students = [Student(Source(f"ind-{i}", f"{name}.py", texts[name].encode()), name) for i, name in enumerate(names)]
    seq, folder, tensors, globbed, loop = names_in_order(names)
    planted = [
        (seq, "copy-renamed.py", planted_copy(texts[seq], 1, reorder=False, recomment=False).encode()),
        (folder, "copy-reordered.py", planted_copy(texts[folder], 2, rename=False).encode()),
        (tensors, "copy-notebook.ipynb", notebook(planted_copy(texts[tensors], 3))),
        (globbed, "copy-project.zip", zipped(split_project(planted_copy(texts[globbed], 4)))),
        (loop, "copy-one.py", planted_copy(texts[loop], 5).encode()),
        (loop, "copy-two.py", planted_copy(texts[loop], 6).encode()),
    ]
    students += [Student(Source(f"copy-{i}", filename, content), family)
                 for i, (family, filename, content) in enumerate(planted)]
    students += [Student(Source(f"course-{i}", "submission.py", course_copy(i).encode()), f"course-{i}")
                 for i in range(4)]
    return students


def names_in_order(names: list[str]) -> tuple[str, ...]:
    order = ("ind_sequential", "ind_imagefolder", "ind_tensors", "ind_glob", "ind_dict_loop")
    assert sorted(order) == names, names
    return order


def planted_pair(students: dict[str, Student], a: str, b: str) -> bool:
    return students[a].family == students[b].family


def bases() -> list[Source]:
    """The course's code and the pack's starter, as the service gathers them."""
    course = sorted((REPOSITORY / "reference" / "_course").glob("*.py"))
    starter = REPOSITORY / "reference" / "w2-rmb-lenet" / "starter.py"
    return [Source(path.name, path.name, path.read_bytes()) for path in [*course, starter]]


def big_class(size: int, seed: int = 0) -> list[Source]:
    """``size`` submissions for the benchmark: the corpus, then more of the same kinds (copies
    edited afresh, course scripts with their own edits), so that sizes and overlaps are a class's."""
    rng = random.Random(seed)
    found = [student.source for student in corpus()]
    texts = [path.read_text(encoding="utf-8") for path in INDEPENDENT]
    while len(found) < size:
        n = len(found)
        text = course_copy(n) if rng.random() < 0.4 else planted_copy(rng.choice(texts), n)
        found.append(Source(f"extra-{n}", "submission.py", text.encode()))
    return found[:size]
