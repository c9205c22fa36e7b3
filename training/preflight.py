"""Look at a labelled folder before training: what is there, what is broken, what will be used.

Every file is read once: its content hash (the feature cache key and the duplicate test) and a decode check
(JPEGs at 1/8 scale). A file that still fails when training decodes it is skipped and reported by the run.

Each file's outcome is kept with its size and modification time (`PreflightReport.checks`). The Train tab
hands them to its training process (`write_checks`, `train --checks FILE`), whose own preflight then reads
again only the files that changed since (`read_checks`, `preflight(known=...)`): not the whole folder twice.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from dogbreed_desktop.core.control import Control
from dogbreed_desktop.core.files import sha256_of
from dogbreed_desktop.core.datasets import LabelledImage, LabelledSet, first_per_group, load_labelled_set
from dogbreed_desktop.core.predict.preprocess import MAX_PIXELS, not_a_regular_file, reserve_pixels

MIN_PER_CLASS = 2  # one image to train on and one to validate with
CHECKS_SCHEMA = 1


@dataclass(frozen=True)
class Sample:
    """One usable labelled image."""

    path: Path
    label: str
    subset: str  # "train"/"val" when the folder was already split, else ""
    digest: str  # the file's sha256, its first 32 hex digits (core.files.sha256_of)


@dataclass
class PreflightReport:
    root: Path
    layout: str
    samples: list[Sample]  # readable, de-duplicated, in classes large enough to split
    unreadable: list[tuple[Path, str]] = field(default_factory=list)
    non_images: list[Path] = field(default_factory=list)
    labels_without_images: list[str] = field(default_factory=list)
    images_without_labels: list[Path] = field(default_factory=list)
    duplicates: list[list[Path]] = field(default_factory=list)  # groups of identical files; the first is kept
    conflicting_duplicates: list[list[Path]] = field(default_factory=list)  # identical files, different labels: none kept
    too_small: dict[str, int] = field(default_factory=dict)  # classes left out, with their usable image count
    unreadable_folders: list[tuple[Path, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # how the data was understood (e.g. columns swapped)
    # absolute path -> {"stamp": [size, mtime_ns], "digest", "error"}: each checked file's outcome
    checks: dict[str, dict] = field(default_factory=dict, repr=False)
    reused: int = 0  # checks taken from `known` (an earlier preflight of the same, unchanged files)

    @property
    def classes(self) -> list[str]:
        return sorted({s.label for s in self.samples})

    def counts(self) -> dict[str, int]:
        out = {c: 0 for c in self.classes}
        for s in self.samples:
            out[s.label] += 1
        return out

    @property
    def ok(self) -> bool:
        return len(self.classes) >= 2

    def problems(self) -> list[str]:
        """One line per kind of problem found (empty when the folder is clean)."""
        lines = list(self.notes)
        if self.unreadable_folders:
            folder, why = self.unreadable_folders[0]
            lines.append(f"{len(self.unreadable_folders)} folder(s) could not be read and were skipped, "
                         f"e.g. {folder} ({why})")
        if self.unreadable:
            path, why = self.unreadable[0]
            lines.append(f"{len(self.unreadable)} unreadable image(s) skipped, e.g. {path.name}: {why}")
        if self.non_images:
            lines.append(f"{len(self.non_images)} file(s) that are not images ignored")
        if self.labels_without_images:
            lines.append(f"{len(self.labels_without_images)} label(s) in labels.csv without an image")
        if self.images_without_labels:
            lines.append(f"{len(self.images_without_labels)} image(s) without a label ignored")
        extra = sum(len(g) - 1 for g in self.duplicates)
        if extra:
            lines.append(f"{extra} exact duplicate(s) dropped ({len(self.duplicates)} group(s))")
        if self.conflicting_duplicates:
            n = sum(len(g) for g in self.conflicting_duplicates)
            lines.append(f"{n} identical image(s) with different labels dropped")
        if self.too_small:
            names = ", ".join(f"{c} ({n})" for c, n in sorted(self.too_small.items())[:5])
            lines.append(f"{len(self.too_small)} class(es) with fewer than {MIN_PER_CLASS} images left out: {names}")
        if not self.ok and self.unreadable and not self.samples:
            lines.append("none of the images could be read: there is nothing to train on")
        elif not self.ok:
            lines.append("at least two classes with two images each are needed to train")
        return lines

    def summary(self) -> str:
        counts = self.counts()
        low = min(counts.values(), default=0)
        high = max(counts.values(), default=0)
        head = (f"{len(self.samples)} images in {len(counts)} classes ({low}-{high} per class), "
                f"layout: {self.layout}")
        return "\n".join([head] + ["  " + p for p in self.problems()])

    def to_dict(self) -> dict:
        return {
            "root": str(self.root),
            "layout": self.layout,
            "images": len(self.samples),
            "counts": self.counts(),
            "unreadable": [{"path": str(p), "error": e} for p, e in self.unreadable],
            "non_images": [str(p) for p in self.non_images],
            "labels_without_images": list(self.labels_without_images),
            "images_without_labels": [str(p) for p in self.images_without_labels],
            "duplicates": [[str(p) for p in g] for g in self.duplicates],
            "conflicting_duplicates": [[str(p) for p in g] for g in self.conflicting_duplicates],
            "too_small": dict(self.too_small),
            "unreadable_folders": [{"path": str(p), "error": e} for p, e in self.unreadable_folders],
            "notes": list(self.notes),
            "reused_checks": self.reused,
        }


def _check(item: LabelledImage) -> tuple[str | None, str | None]:
    """(digest, None) for a file that decodes as an image, else (None, reason)."""
    problem = not_a_regular_file(item.path)  # FIFOs, devices and link loops are never opened
    if problem:
        return None, problem
    try:
        digest = sha256_of(item.path, 32)
    except OSError as e:
        return None, f"cannot read file ({e.strerror or e})"
    try:
        with Image.open(item.path) as img:
            w, h = img.size
            if w * h > MAX_PIXELS or w == 0 or h == 0:
                return None, f"unusable size {w}x{h}"
            # Decode, so truncated files are caught here rather than training on none; JPEGs decode at
            # 1/8 scale, which still reads every byte.
            img.draft("RGB", (max(1, w // 8), max(1, h // 8)))
            with reserve_pixels(img.size[0] * img.size[1]):
                img.load()
    except Exception as e:  # UnidentifiedImageError, SyntaxError, struct errors from damaged headers...
        return None, f"not a readable image ({type(e).__name__}: {e})"
    return digest, None


def _stamp(path: Path) -> list[int] | None:
    """[size, mtime_ns]: what tells an unchanged file from a changed one without reading it."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns]


def _check_or_reuse(item: LabelledImage, known: dict[str, dict]) -> dict:
    """The file's check: the known one when the file has the same size and modification time, else a new one
    (the stamp is taken before reading, so a file changed while being read is checked again next time)."""
    stamp = _stamp(item.path)
    prior = known.get(os.path.abspath(item.path))
    if stamp is not None and prior is not None and prior.get("stamp") == stamp:
        return {**prior, "reused": True}
    digest, error = _check(item)
    return {"stamp": stamp, "digest": digest, "error": error}


def write_checks(report: PreflightReport, path: Path) -> None:
    """The report's per-file checks, for another process's `preflight(known=read_checks(path))`."""
    from dogbreed_desktop.core.files import write_text

    write_text(Path(path), json.dumps({"schema": CHECKS_SCHEMA, "root": str(report.root), "checks": report.checks}))


def read_checks(path: str | Path) -> dict[str, dict]:
    """`write_checks`'s checks; empty (so every file is checked) when the file is missing, damaged or from
    another version."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        checks = data["checks"] if data.get("schema") == CHECKS_SCHEMA else {}
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return {}
    if not isinstance(checks, dict):
        return {}
    good = (lambda c: isinstance(c, dict) and isinstance(c.get("stamp"), list)
            and (isinstance(c.get("digest"), str) != isinstance(c.get("error"), str)))
    return {k: {"stamp": c["stamp"], "digest": c.get("digest"), "error": c.get("error")}
            for k, c in checks.items() if good(c)}


def preflight(root: str | Path | LabelledSet, *, control: Control | None = None,
              per_class: int | None = None, known: dict[str, dict] | None = None) -> PreflightReport:
    """Scan `root` (raises core.datasets.DatasetError when it holds no labelled set, core.control.Stopped when
    `control` asks to stop). `known`: checks of an earlier preflight (`read_checks`), reused for the files
    that have not changed."""
    data = root if isinstance(root, LabelledSet) else load_labelled_set(root)
    items = sorted(data.items, key=lambda i: (i.label, str(i.path)))
    if per_class:
        items = first_per_group(items, per_class, key=lambda i: (i.label, i.subset))
    report = PreflightReport(
        root=data.root,
        layout=data.layout,
        samples=[],
        non_images=list(data.non_images),
        labels_without_images=list(data.labels_without_images),
        images_without_labels=list(data.images_without_labels),
        unreadable_folders=list(data.unreadable_folders),
        notes=list(data.notes),
    )
    by_digest: dict[str, list[LabelledImage]] = {}
    workers = max(1, min(8, (os.cpu_count() or 1) * 2))
    with ThreadPoolExecutor(workers, thread_name_prefix="preflight") as pool:
        for n, (item, check) in enumerate(zip(items, pool.map(lambda i: _check_or_reuse(i, known or {}), items)), 1):
            digest, error = check["digest"], check["error"]
            report.reused += bool(check.pop("reused", False))
            report.checks[os.path.abspath(item.path)] = check
            if error:
                report.unreadable.append((item.path, error))
            else:
                by_digest.setdefault(digest, []).append(item)
            if control:
                if n % 256 == 0 or n == len(items):
                    control.progress(n, len(items), "checking images")
                control.raise_if_stopped("stopped while checking images")
    usable: list[Sample] = []
    for digest, group in by_digest.items():
        if len({i.label for i in group}) > 1:
            report.conflicting_duplicates.append([i.path for i in group])
            continue
        if len(group) > 1:
            report.duplicates.append([i.path for i in group])
        first = group[0]
        usable.append(Sample(first.path, first.label, first.subset, digest))
    report.duplicates.sort()
    counts: dict[str, int] = {}
    train_counts: dict[str, int] = {}
    for s in usable:
        counts[s.label] = counts.get(s.label, 0) + 1
        train_counts[s.label] = train_counts.get(s.label, 0) + (s.subset in ("", "train"))
    if data.layout == "split":
        small = {c: n for c, n in counts.items() if train_counts[c] == 0}
    else:
        small = {c: n for c, n in counts.items() if n < MIN_PER_CLASS}
    report.too_small = small
    report.samples = sorted((s for s in usable if s.label not in small), key=lambda s: (s.label, str(s.path)))
    return report
