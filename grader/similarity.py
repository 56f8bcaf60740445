"""Code similarity between the submissions of one assignment, the course's own code subtracted.

MOSS's method (Schleimer, Wilkerson and Aiken, "Winnowing", SIGMOD 2003) with the library
``copydetect``: the Python is normalised (identifiers become ``V``, function names ``F``, class
names ``O``, strings ``S``; comments and whitespace vanish), and the k-grams of that text are
hashed and winnowed into fingerprints.  Renamed variables, changed comments and whitespace leave
the normalised text as it was, and reordered functions leave the set of fingerprints as it was.
Every k-gram of a base file (the pack's starter, the course's published scripts in
``reference/_course/``, a file an instructor adds) is removed from every submission's
fingerprints first, so students who all start from the course's script are not flagged for it.

copydetect hashes, winnows, subtracts the bases and measures each pair's overlap.  Ours: the
normaliser (copydetect's substitutions, read with Python's tokenizer: five times as fast as its
Pygments lexer), a k-gram hash that is the same in every process, and the score's denominator.

A pair's score is the larger of its two similarities: the share of each submission's normalised
code that the other also has and no base has.  The share is of the whole submission, base code
included (copydetect divides by what is left once the bases are subtracted, which makes the few
lines that two students wrote around the same course script look like a full copy); the larger
of the two, so that a copy padded with code of its own still ranks by what was copied.  Matched
regions pair the fingerprints found once on each side into runs that advance in both
submissions together, and give each run's line range on both sides.

The service (api/services/similarity.py) chooses the submissions and the bases; this module
knows nothing of it.  Notebooks and zips are read by the engine's own readers
(grader/submission.py); only their Python files are compared.
"""

from __future__ import annotations

import bisect
import builtins
import dataclasses
import io
import itertools
import keyword
import logging
import re
import tokenize
from collections.abc import Iterable, Sequence

import copydetect.utils
import numpy as np
from copydetect import CodeFingerprint, compare_files
from copydetect.utils import filter_code
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from grader.i18n import Message
from grader.submission import NOTEBOOK_CELLS, SubmissionError, load_submission

NOISE = 25          # k: the shortest match counted, in characters of normalised code (copydetect's default)
GUARANTEE = 30      # every match at least this long is found (the window is GUARANTEE - NOISE + 1)
WINDOW = GUARANTEE - NOISE + 1
THRESHOLD = 0.5     # pairs at or above it are linked into clusters
CLUSTER_SIZE = 3    # the fewest submissions a cluster has
REGIONS = 20        # matched regions shown per pair at most
COURSE_CODE = "_course"   # reference/_course/: the course's published scripts, a base of every assignment
READ_LIMIT = 1 << 30      # stored uploads were held to the limits when they were submitted
# Two fingerprints continue one matched region while both sides advance by at most this much.
GAP = NOISE + WINDOW

BASE = np.uint64(1_000_003)   # of the k-gram hash below
logging.getLogger("copydetect").setLevel(logging.ERROR)


def stable_kgram_hashes(string: str, k: int) -> np.ndarray:
    """The hashes of every k-gram of ``string``: a polynomial hash of its code points modulo 2**64.
    copydetect hashes with Python's ``hash()``, which is salted anew in each process, so that the
    same submissions would get other fingerprints, hence other scores, in each API worker and each
    run of the command; this one gives the same everywhere (and is vectorised)."""
    codes = np.frombuffer(string.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    if len(codes) < k:
        return np.array([], dtype=np.int64)
    powers = BASE ** np.arange(k - 1, -1, -1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        return (np.lib.stride_tricks.sliding_window_view(codes, k) * powers).sum(axis=1).view(np.int64)


copydetect.utils.hashed_kgrams = stable_kgram_hashes   # get_document_fingerprints looks it up when called


@dataclasses.dataclass(frozen=True)
class Source:
    """An upload to compare, or a base: ``key`` names it in the report."""

    key: str
    filename: str
    content: bytes


@dataclasses.dataclass(frozen=True)
class Region:
    file: str
    start: int          # first line, 1-based, in that file
    end: int            # last line, inclusive

    def json(self) -> dict:
        return {"file": self.file, "start": self.start, "end": self.end}


KEPT_NAMES = frozenset(dir(builtins)) | frozenset(keyword.kwlist) | frozenset(keyword.softkwlist)
DROPPED = frozenset({tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
                     tokenize.ENCODING, tokenize.ENDMARKER})


def normalise(text: str) -> tuple[str, np.ndarray]:
    """copydetect's normalisation (its ``filter_code``), read with Python's own tokenizer, which is
    about ten times as fast as Pygments: a name becomes ``V`` (a defined function's ``F``, a
    class's ``O``), a string ``S``; keywords, builtins, numbers and operators stay; comments and
    layout go.  Returns the normalised text and, for each of its characters, the offset in
    ``text`` it came from.  Code Python cannot tokenize is normalised by copydetect (Pygments)."""
    lines = list(itertools.accumulate((len(line) for line in text.splitlines(keepends=True)), initial=0))
    out: list[str] = []
    origin: list[int] = []
    previous = ""
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type in DROPPED:
                continue
            at = lines[token.start[0] - 1] + token.start[1]
            shown = _normalised(token, previous)
            previous = token.string
            out.append(shown)
            origin += [at] * len(shown) if len(shown) == 1 else range(at, at + len(shown))
    except (tokenize.TokenError, SyntaxError):
        return _pygments(text)
    return "".join(out), np.array(origin, dtype=np.int64)


def _normalised(token: tokenize.TokenInfo, previous: str) -> str:
    if token.type == tokenize.NAME and token.string not in KEPT_NAMES:
        return {"def": "F", "class": "O"}.get(previous, "V")
    if token.type == tokenize.STRING:
        return "S"
    return token.string


def _pygments(text: str) -> tuple[str, np.ndarray]:
    normalised, offsets = filter_code(text, "code.py")
    at = np.arange(len(normalised), dtype=np.int64)
    if len(offsets):
        at = at + offsets[:, 1][np.clip(np.searchsorted(offsets[:, 0], at), 0, offsets.shape[0] - 1)]
    return normalised, at


class Document:
    """A submission's Python files as one text (in file order), normalised and fingerprinted."""

    def __init__(self, key: str, files: dict[str, str], boilerplate: np.ndarray):
        self.key = key
        self.names = sorted(files, key=_natural)
        self.text = "".join(_ended(files[name]) for name in self.names)
        self.firsts = list(itertools.accumulate((_ended(files[n]).count("\n") for n in self.names), initial=0))[:-1]
        self.newlines = [i for i, char in enumerate(self.text) if char == "\n"]
        self.files = {_shown(name): _ended(files[name]).splitlines() for name in self.names}
        normalised, self.origin = normalise(self.text)
        self.fingerprint = CodeFingerprint(f"{key}.py", NOISE, WINDOW, boilerplate, filter=False,
                                           fp=io.StringIO(normalised))

    @property
    def empty(self) -> bool:
        return not self.fingerprint.hashes

    @property
    def own(self) -> float:
        """The share of the normalised code left once the bases are subtracted."""
        return self.fingerprint.token_coverage / max(len(self.fingerprint.filtered_code), 1)

    def region(self, start: int, end: int) -> Region:
        """The lines that hold characters [start, end) of the text, in the file that holds ``start``."""
        first, last = (bisect.bisect_left(self.newlines, at) for at in (start, max(start, end - 1)))
        index = bisect.bisect_right(self.firsts, first) - 1
        following = self.firsts[index + 1] if index + 1 < len(self.firsts) else len(self.newlines) + 1
        return Region(_shown(self.names[index]), first - self.firsts[index] + 1,
                      min(last, following - 1) - self.firsts[index] + 1)

    def raw(self, start: int, end: int) -> tuple[int, int]:
        """Characters [start, end) of the normalised text -> the characters of the text they came from."""
        if not len(self.origin):
            return 0, 0
        last = min(end, len(self.origin)) - 1
        return int(self.origin[start]), int(self.origin[last]) + 1


@dataclasses.dataclass
class Pair:
    a: str
    b: str
    similarity: tuple[float, float]     # the share of a's, of b's normalised code that the other has, bases aside
    tokens: int                         # normalised characters of a that b has too
    regions: list[tuple[Region, Region, int]] = dataclasses.field(default_factory=list)

    @property
    def score(self) -> float:
        return max(self.similarity)


@dataclasses.dataclass
class Report:
    pairs: list[Pair]                   # every pair compared, best first
    clusters: list[list[str]]           # keys, CLUSTER_SIZE or more, linked by pairs >= the threshold
    skipped: dict[str, Message]         # key -> why it could not be read
    empty: list[str]                    # keys with no code left once the bases are subtracted
    documents: dict[str, Document]

    def add_regions(self, pairs: Iterable[Pair]) -> None:
        """Fill in the matched regions of these pairs (the shown ones: the rest need none)."""
        for pair in pairs:
            pair.regions = regions(self.documents[pair.a], self.documents[pair.b])


# ---------------------------------------------------------------------- reading
def python_files(source: Source, entry: str) -> dict[str, str]:
    """The Python files of an upload, read as the grader reads them (the notebook's cells, the
    zip's .py files); raises SubmissionError."""
    bundle = load_submission(source.filename, source.content, entry, READ_LIMIT)
    driver = entry if source.filename.lower().endswith(".ipynb") else None
    files = {name: data.decode("utf-8", "replace") for name, data in bundle.files.items()
             if name.endswith(".py") and name != driver}
    if source.filename.lower().endswith(".py") and list(files) == [entry]:
        return {source.filename: files[entry]}   # regions name the file the student uploaded, not the entry
    return files


def boilerplate(bases: Iterable[Source], entry: str) -> np.ndarray:
    """Every k-gram hash of the bases (copydetect's boilerplate: winnowed with a window of 1)."""
    hashes = [np.fromiter(CodeFingerprint(f"{base.key}.py", NOISE, 1, filter=False,
                                          fp=io.StringIO(normalise(text)[0])).hashes, dtype=np.int64)
              for base in bases for text in _readable(base, entry)]
    return np.unique(np.concatenate(hashes)) if hashes else np.array([], dtype=np.int64)


def _readable(base: Source, entry: str) -> list[str]:
    try:
        return list(python_files(base, entry).values())
    except SubmissionError:
        return []


def documents(sources: Sequence[Source], bases: Iterable[Source], entry: str) -> tuple[list[Document],
                                                                                      dict[str, Message]]:
    subtracted = boilerplate(bases, entry)
    found, skipped = [], {}
    for source in sources:
        try:
            found.append(Document(source.key, python_files(source, entry), subtracted))
        except SubmissionError as exc:
            skipped[source.key] = exc.message
    return found, skipped


# ---------------------------------------------------------------------- comparing
def compare(sources: Sequence[Source], bases: Iterable[Source], entry: str, threshold: float = THRESHOLD) -> Report:
    """Every pair of the sources, best first, and the clusters the pairs >= threshold make."""
    docs, skipped = documents(sources, bases, entry)
    compared = [doc for doc in docs if not doc.empty]
    pairs = [_pair(a, b) for a, b in itertools.combinations(compared, 2)]
    pairs.sort(key=lambda p: (-p.score, -p.tokens, p.a, p.b))
    keys = [doc.key for doc in compared]
    return Report(pairs, clusters(keys, [p for p in pairs if p.score >= threshold]), skipped,
                  [doc.key for doc in docs if doc.empty], {doc.key: doc for doc in docs})


def _pair(a: Document, b: Document) -> Pair:
    tokens, similarity, _slices = compare_files(a.fingerprint, b.fingerprint)
    return Pair(a.key, b.key, (round(float(similarity[0] * a.own), 4), round(float(similarity[1] * b.own), 4)),
                int(tokens))


def clusters(keys: Sequence[str], links: Iterable[Pair]) -> list[list[str]]:
    """Connected components (scipy) of CLUSTER_SIZE or more keys, largest first."""
    index = {key: i for i, key in enumerate(keys)}
    edges = np.array([(index[p.a], index[p.b]) for p in links], dtype=np.int64).reshape(-1, 2)
    graph = coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(len(keys), len(keys)))
    _count, labels = connected_components(graph, directed=False)
    groups: dict[int, list[str]] = {}
    for key, label in zip(keys, labels):
        groups.setdefault(int(label), []).append(key)
    found = [sorted(group) for group in groups.values() if len(group) >= CLUSTER_SIZE]
    return sorted(found, key=lambda group: (-len(group), group))


# ---------------------------------------------------------------------- matched regions
def regions(a: Document, b: Document, limit: int = REGIONS) -> list[tuple[Region, Region, int]]:
    """The matched regions of a pair, longest first: (region of a, region of b, normalised
    characters matched)."""
    fa, fb = a.fingerprint, b.fingerprint
    shared = fa.hashes & fb.hashes
    # Fingerprints found once on each side anchor the regions (as in patience diff): one seen
    # many times (``self.x = x``) would join unrelated places.
    points = sorted((fa.hash_idx[h][0], fb.hash_idx[h][0]) for h in shared
                    if len(fa.hash_idx[h]) == 1 and len(fb.hash_idx[h]) == 1)
    runs: list[list[tuple[int, int]]] = []
    for i, j in points:
        run = next((r for r in reversed(runs[-8:]) if 0 < i - r[-1][0] <= GAP and 0 < j - r[-1][1] <= GAP), None)
        if run is None:
            runs.append([(i, j)])
        else:
            run.append((i, j))
    spans = [(r[0][0], r[-1][0] + NOISE, r[0][1], r[-1][1] + NOISE) for r in runs]
    spans = _longest_apart(spans)[:limit]
    found = []
    for start_a, end_a, start_b, end_b in spans:
        found.append((a.region(*a.raw(start_a, end_a)), b.region(*b.raw(start_b, end_b)), int(end_a - start_a)))
    return found


def _longest_apart(spans: list[tuple[int, int, int, int]]) -> list[tuple[int, int, int, int]]:
    """The spans, longest first, without those that overlap a longer one on either side (by more
    than the k-gram tail that adjacent matches share)."""
    kept: list[tuple[int, int, int, int]] = []
    for span in sorted(spans, key=lambda s: (s[0] - s[1], s[0])):
        if not any(_overlap(span[0], span[1], k[0], k[1]) or _overlap(span[2], span[3], k[2], k[3]) for k in kept):
            kept.append(span)
    return kept


def _overlap(start: int, end: int, other_start: int, other_end: int) -> bool:
    return min(end, other_end) - max(start, other_start) > NOISE


def _natural(name: str) -> list:
    """cell_2.py before cell_10.py."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def _ended(text: str) -> str:
    return text if text.endswith("\n") else text + "\n"


def _shown(name: str) -> str:
    """A notebook's cell file is shown as the notebook's cell."""
    prefix = f"{NOTEBOOK_CELLS}/cell_"
    if name.startswith(prefix) and name.endswith(".py"):
        return f"cell {name[len(prefix):-3]}"
    return name
