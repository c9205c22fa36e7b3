"""The smoke test's checks of evaluating, exporting and of the Train tab (scripts/smoke-test-app.py): `evaluate`
on a tiny labelled folder and `export accurate` (every flavour), and, for the classify-only build, that training
is refused with one sentence on the command line and in the window. Standard library only."""

from __future__ import annotations

import csv
import json
import shutil
import struct
from pathlib import Path

from smoke_common import check, clean_env, run, write_ppm

# core/flavour.py's TRAINING and EXPORT, as the person reads them.
TRAINING = "Training needs the full build of Dog Breed Studio: this classify-only build has no PyTorch."
EXPORT = "ONNX export needs the full build of Dog Breed Studio: this classify-only build has no onnx package."


def tiny_labelled_set(data: Path | None, folder: Path) -> tuple[Path, bool]:
    """(folder, real): 3 breeds x 2 photos, one folder per breed, copied from $DOGBREED_DATA (into the temporary
    folder only); without it, synthetic pictures in folders named after breeds (only the report's shape counts)."""
    breeds = ("beagle", "pug", "samoyed")
    if data and (data / "labels.csv").is_file():
        with open(data / "labels.csv", newline="") as f:
            rows = [r for r in csv.DictReader(f) if r["breed"] in breeds]
        for breed in breeds:
            for row in [r for r in rows if r["breed"] == breed][:2]:
                (folder / breed).mkdir(parents=True, exist_ok=True)
                shutil.copy(data / "train" / f"{row['id']}.jpg", folder / breed)
        return folder, True
    for c, breed in enumerate(breeds):
        for i in range(2):
            write_ppm(folder / breed / f"{i}.ppm", (60 + 60 * c, 120, 200 - 60 * c), seed=10 * c + i)
    return folder, False


def check_evaluate(exe: Path, data: Path | None, home: Path, tmp: Path, report: dict) -> None:
    print("evaluate (CLI)")
    folder, real = tiny_labelled_set(data, tmp / "tiny-labelled")
    out = tmp / "evaluation-report"
    proc, took = run([str(exe), "evaluate", "--data", str(folder), "--json", "--report", str(out)], clean_env(home))
    report["evaluate_6_photos_s"] = round(took, 2)
    if not check(proc.returncode == 0, f"evaluate 6 photos: exit {proc.returncode} in {took:.1f} s"):
        print(proc.stderr[-3000:])
        return
    try:
        result = json.loads(proc.stdout)
    except ValueError:
        check(False, f"evaluate --json prints JSON: {proc.stdout[:200]!r}")
        return
    check(result.get("n") == 6 and isinstance(result.get("top1"), float), f"the report scores 6 photos: "
          f"top-1 {result.get('top1', 0):.0%}, top-5 {result.get('top5', 0):.0%}")
    figures = sorted(p.name for p in out.glob("*.png"))
    check((out / "report.html").is_file() and bool(figures), f"--report writes report.html and figures: {figures}")
    check("findfont" not in proc.stderr, "the figures found their font" + (f": {proc.stderr[-300:]}"
                                                                           if "findfont" in proc.stderr else ""))
    if real:  # ImageNet photos, which the backbone was trained on: a low bar, not an accuracy claim
        check(result.get("top5", 0) >= 0.5, "the right breed is in the top 5 for at least half the photos")


def check_train_refused(exe: Path, home: Path, tmp: Path, report: dict) -> None:
    print("train (refused: classify-only build)")
    proc, took = run([str(exe), "train", "--data", str(tmp), "--quiet"], clean_env(home))
    lines = proc.stderr.strip().splitlines()
    check(proc.returncode == 2, f"train exits with status 2 (got {proc.returncode}) in {took:.1f} s")
    check(len(lines) == 1 and TRAINING in lines[0], f"train says one line: {lines[:3]}")


def check_export(exe: Path, home: Path, tmp: Path, flavour: str, report: dict) -> None:
    """File > Export Model's work from the command line: the accurate ensemble as one ONNX file in the full app
    (written around its own graphs with onnx alone), one sentence in the classify-only app."""
    print("export")
    out = tmp / "exported" / "accurate.onnx"
    proc, took = run([str(exe), "export", "accurate", "--out", str(out)], clean_env(home))
    if flavour == "classify":
        check(proc.returncode == 2 and EXPORT in proc.stderr and not out.exists(),
              f"export refused with one sentence: {proc.stderr.strip()[:200]}")
        return
    report["export_accurate_s"] = round(took, 1)
    labels = out.with_name("labels.txt")
    ok = proc.returncode == 0 and out.is_file() and out.stat().st_size > 10_000_000 and labels.is_file()
    check(ok, f"export accurate: exit {proc.returncode} in {took:.1f} s, "
              f"{out.stat().st_size / 1e6 if out.is_file() else 0:.0f} MB" + ("" if ok else f": {proc.stderr[-800:]}"))


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24] if path.is_file() else b""
    if len(head) < 24 or head[:8] != b"\x89PNG\r\n\x1a\n":
        return 0, 0
    return struct.unpack(">II", head[16:24])


def check_train_tab(exe: Path, home: Path, screenshot: Path, report: dict) -> None:
    """The window (offscreen) switches to the Train tab, saves a screenshot and prints what the tab says
    (DOGBREED_SMOKE_TRAIN_TAB, gui/app.py): the sentence, and training cannot be started."""
    env = clean_env(home, QT_QPA_PLATFORM="offscreen", DOGBREED_NEW_INSTANCE="1",
                    DOGBREED_SMOKE_TRAIN_TAB=str(screenshot))
    proc, took = run([str(exe)], env, timeout=180)
    said = next((line for line in proc.stdout.splitlines() if line.startswith("train tab:")), "")
    check(proc.returncode == 0 and "Traceback" not in proc.stderr,
          f"window: Train tab shown and saved in {took:.1f} s (exit {proc.returncode})")
    if proc.returncode != 0:
        print(proc.stdout[-1000:], proc.stderr[-3000:])
    check(TRAINING in said, f"the Train tab says that training needs the full build: {said[:160]!r}")
    check("start enabled: False" in said and "choose folder enabled: False" in said,
          "the Train tab's controls are disabled")
    width, height = _png_size(screenshot)
    if check(width >= 400 and height >= 300, f"screenshot of the Train tab: {screenshot} ({width}x{height})"):
        report["train_tab_screenshot"] = str(screenshot)
