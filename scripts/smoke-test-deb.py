#!/usr/bin/env python3
"""CI: the release .debs installed, used and removed as on a user's machine (run as root).

    python3 scripts/smoke-test-deb.py [--release dist/release] [--report build/smoke-report-deb.json]

For dogbreed-studio-classify, then dogbreed-studio, from the folder scripts/release.sh fills:
  1. `apt-get install ./<package>.deb`: apt resolves the Depends (desktop-file-utils is installed first, so that
     its dpkg trigger registers the entry's MIME types as on a desktop);
  2. what it installed (`dpkg -L`): /opt/dogbreed-studio, /usr/bin/dogbreed-studio, the desktop entry and the
     icon, nothing else; the entry passes desktop-file-validate and is offered for JPEG photos ("Open with");
     every system library the app's files link (ldd) comes from a package that its Depends pull in;
  3. `dogbreed-studio --version` says the package's version; `predict --json` in a bare environment
     (env -i PATH=/usr/bin:/bin HOME=<empty>) calls Labrador photos labrador_retriever (at least 2 of 3) and,
     in the full app, the same photo saved as HEIC;
  4. the window, offscreen, classifies the photo and quits; its screenshot is kept beside --report;
  5. apt would swap in the other package (Conflicts and Replaces, `apt-get --simulate`);
  6. removed (classify: `dpkg -r`, then purged; full: `apt-get purge`): none of its files is left, nothing named
     after it is under /opt, /usr or /etc, the desktop no longer offers it, and what the app wrote in the home
     folder stays.
Standard library only; exit status 0 when every check passed.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# beside this script (Python puts its folder on the path)
from debian_package import COMMAND, FLAVOURS, PREFIX, elf_files, project_version
from smoke_common import FAILURES, ROOT, check, write_ppm

APT = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
ENTRY = Path(f"/usr/share/applications/{COMMAND}.desktop")
MIME_CACHE = Path("/usr/share/applications/mimeinfo.cache")
OWN = (PREFIX, f"/usr/bin/{COMMAND}", str(ENTRY), f"/usr/share/icons/hicolor/256x256/apps/{COMMAND}.png")


def sh(*cmd: str, env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)


def bare(home: Path, *cmd: str, **extra: str) -> list[str]:
    """The command as a double-click or a fresh terminal runs it: env -i PATH=/usr/bin:/bin HOME=..."""
    return ["env", "-i", "PATH=/usr/bin:/bin", f"HOME={home}", *(f"{k}={v}" for k, v in extra.items()), *cmd]


def installed(package: str) -> bool:
    return "install ok installed" in sh("dpkg-query", "-W", "-f=${Status}", package).stdout


def labrador_photos(data: Path | None, tmp: Path) -> list[tuple[Path, str | None]]:
    if data and (data / "labels.csv").is_file():
        with open(data / "labels.csv", newline="") as f:
            ids = [r["id"] for r in csv.DictReader(f) if r["breed"] == "labrador_retriever"][:3]
        return [(data / "train" / f"{i}.jpg", "labrador_retriever") for i in ids]
    print("  (DOGBREED_DATA not set: a synthetic picture, the breed is not checked)")
    return [(write_ppm(tmp / "synthetic.ppm", (180, 140, 90)), None)]


def heic_of(photo: Path, tmp: Path) -> Path | None:
    """The photo as a phone saves it, made with the dev venv's pillow-heif (none here: not checked)."""
    python, heic = ROOT / ".venv" / "bin" / "python", tmp / "phone.heic"
    made = python.exists() and sh(str(python), "-c", "import sys, pillow_heif; from PIL import Image; "
                                  "pillow_heif.register_heif_opener(); "
                                  "Image.open(sys.argv[1]).convert('RGB').save(sys.argv[2], format='HEIF')",
                                  str(photo), str(heic)).returncode == 0
    return heic if made else None


def check_files(package: str, report: dict) -> list[str]:
    """What dpkg says the package installed; returns the paths that must go with it."""
    paths = [p for p in sh("dpkg", "-L", package).stdout.splitlines() if p not in ("/.", "")]
    mine = [p for p in paths if p.startswith(OWN)]
    report["files"] = len(mine)
    stray = [p for p in paths if p not in mine and not (os.path.isdir(p) and any(o.startswith(p + "/") for o in OWN))]
    check(not stray, f"dpkg -L: {len(mine)} paths, all in {PREFIX}, {OWN[1]}, the entry and the icon"
          + (f"; also {stray[:5]}" if stray else ""))
    check(all(os.path.lexists(p) for p in mine), "every file dpkg lists is there")
    r = sh("desktop-file-validate", str(ENTRY))
    check(r.returncode == 0 and not (r.stdout + r.stderr).strip(),
          f"desktop-file-validate {ENTRY}: {(r.stdout + r.stderr).strip() or 'clean'}")
    offered = MIME_CACHE.is_file() and re.search(rf"^image/jpeg=.*\b{COMMAND}\.desktop", MIME_CACHE.read_text(), re.M)
    check(bool(offered), f"{MIME_CACHE} offers it for image/jpeg (Open with)")
    return mine


def check_depends(package: str) -> None:
    """Every library outside the app that its ELF files link is owned by a package its Depends pull in."""
    depends = sh("dpkg-query", "-W", "-f=${Depends}", package).stdout
    wanted = [re.split(r"[ (]", d.strip(), maxsplit=1)[0] for d in depends.split(",")]
    tree = sh("apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests", "--no-conflicts",
              "--no-breaks", "--no-replaces", "--no-enhances", *wanted).stdout
    closure = {line.split(":")[-1].strip().strip("<>") for line in tree.splitlines()} | set(wanted)
    elves = elf_files(Path(PREFIX))
    system, missing = set(), set()
    bundled = {"LD_LIBRARY_PATH": f"{PREFIX}/_internal", "PATH": "/usr/bin:/bin"}  # as the app's bootloader sets
    for i in range(0, len(elves), 100):
        for line in sh("ldd", *map(str, elves[i:i + 100]), env=bundled).stdout.splitlines():
            found = re.match(r"\s+(\S+) => (\S+)", line)
            if found and found[2] == "not":
                missing.add(found[1])
            elif found and not found[2].startswith(PREFIX):
                system.add(os.path.realpath(found[2]))
    owners: dict[str, str] = {}
    for lib in sorted(system):
        variants = (lib, lib.removeprefix("/usr")) if lib.startswith("/usr/lib") else (lib, "/usr" + lib)
        for path in variants:
            r = sh("dpkg", "-S", path)
            if r.returncode == 0:
                owners[lib] = r.stdout.split(":")[0]
                break
        else:
            owners[lib] = "?"
    outside = {lib: owner for lib, owner in owners.items() if owner not in closure}
    check(not outside, f"the {len(system)} system libraries the app links come from its Depends "
          f"({len(set(owners.values()))} packages)" + (f"; not: {outside}" if outside else ""))
    check(not missing, "no library the app links is missing" + (f": {sorted(missing)}" if missing else ""))


def check_use(flavour: str, version: str, photos, home: Path, tmp: Path, shots: Path, report: dict) -> None:
    said = sh(*bare(home, COMMAND, "--version")).stdout.split()
    check(said[-1:] == [version], f"{COMMAND} --version: {' '.join(said)}")
    start = time.perf_counter()
    r = sh(*bare(home, COMMAND, "predict", "--json", *(str(p) for p, _ in photos)), timeout=300)
    report["predict_s"] = round(time.perf_counter() - start, 1)
    verdicts = [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
    if not check(r.returncode == 0 and len(verdicts) == len(photos),
                 f"predict --json {len(photos)} photo(s) in a bare environment: exit {r.returncode}"):
        print(r.stderr[-2000:])
    right = sum(v.get("breed") == truth for v, (_, truth) in zip(verdicts, photos))
    for v, (path, _) in zip(verdicts, photos):
        print(f"    {path.name}: {v.get('breed')} {v.get('probability', 0):.1%}")
    if photos[0][1]:
        check(right >= min(2, len(photos)), f"Labrador photos called labrador_retriever: {right} of {len(photos)}")
    heic = heic_of(photos[0][0], tmp) if flavour == "cpu" else None
    if heic:
        r = sh(*bare(home, COMMAND, "predict", "--json", str(heic)), timeout=300)
        out = json.loads(r.stdout.splitlines()[0]) if r.stdout.strip() else {}
        check(r.returncode == 0 and out.get("breed") == verdicts[0].get("breed"),
              f"the photo as HEIC: {out.get('breed') or out.get('error')}")
    shot = shots / f"smoke-deb-{FLAVOURS[flavour].package}.png"
    shot.unlink(missing_ok=True)
    start = time.perf_counter()
    r = sh(*bare(home, COMMAND, str(photos[0][0]), LANG="C.UTF-8", QT_QPA_PLATFORM="offscreen",  # as a desktop has
                 DOGBREED_NEW_INSTANCE="1",
                 DOGBREED_SMOKE_EXIT_AFTER_VERDICT="1", DOGBREED_SMOKE_SCREENSHOT=str(shot)), timeout=300)
    report["window_first_verdict_s"] = round(time.perf_counter() - start, 1)
    if not check(r.returncode == 0 and "Traceback" not in r.stdout + r.stderr,
                 f"the window (offscreen) shows the verdict and quits: exit {r.returncode}"):
        print(r.stderr[-2000:])
    size = shot.is_file() and tuple(int.from_bytes(shot.read_bytes()[o:o + 4], "big") for o in (16, 20))
    if check(bool(size) and size[0] >= 400 and size[1] >= 300, f"screenshot of the window: {shot} {size}"):
        report["screenshot"] = str(shot)


def named_after_it() -> list[str]:
    """Anything under /opt, /usr or /etc with the app's name in its own name."""
    return sh("find", "/opt", "/usr", "/etc", "-iname", "*dogbreed*").stdout.splitlines()


def check_removed(package: str, files: list[str], before: list[str], home: Path, purge_with_apt: bool,
                  report: dict) -> None:
    start = time.perf_counter()
    r = sh("apt-get", "purge", "-y", "-qq", package, env=APT) if purge_with_apt else sh("dpkg", "-r", package)
    # dpkg keeps a directory that still holds files: fine for /opt and /usr/share, not for the app's own.
    kept = [d for d in re.findall(r"directory '(.+?)' not empty", r.stdout + r.stderr) if d.startswith(OWN)]
    if not check(r.returncode == 0 and not kept, f"{'apt-get purge' if purge_with_apt else 'dpkg -r'} {package}"
                 + (f": left {kept}" if kept else "")):
        print((r.stdout + r.stderr)[-2000:])
    report["remove_s"] = round(time.perf_counter() - start, 1)
    left = [p for p in files if os.path.lexists(p)]
    check(not left, f"none of its {len(files)} paths is left" + (f": {left[:5]}" if left else ""))
    check(not os.path.lexists(PREFIX), f"{PREFIX} is gone")
    left = sorted(set(named_after_it()) - set(before))
    check(not left, "nothing named after it under /opt, /usr or /etc" + (f": {left[:5]}" if left else ""))
    check(not (MIME_CACHE.is_file() and f"{COMMAND}.desktop" in MIME_CACHE.read_text()), "no longer offered for photos")
    if not purge_with_apt:
        r = sh("dpkg", "-P", package)
        check(r.returncode == 0 and not installed(package), f"dpkg -P {package}")
    status = sh("dpkg-query", "-W", "-f=${Status}", package).stdout
    check(not installed(package) and "config-files" not in status, f"purged (dpkg: {status or 'unknown'})")
    check(any(home.rglob("*")), "what the app wrote in the home folder stays")


def smoke(deb: Path, flavour: str, other: Path | None, photos, tmp: Path, shots: Path, report: dict) -> None:
    package = FLAVOURS[flavour].package
    print(f"{deb.name} ({deb.stat().st_size / 1e6:.1f} MB)")
    report.update(deb=deb.name, deb_bytes=deb.stat().st_size)
    before = named_after_it()
    start = time.perf_counter()
    r = sh("apt-get", "install", "-y", "-qq", "--no-install-recommends", str(deb.resolve()), env=APT)
    if r.returncode != 0:  # a fresh machine's package lists may be missing or stale
        sh("apt-get", "update", "-qq", env=APT)
        r = sh("apt-get", "install", "-y", "-qq", "--no-install-recommends", str(deb.resolve()), env=APT)
    report["install_s"] = round(time.perf_counter() - start, 1)
    if not check(r.returncode == 0 and installed(package), f"apt-get install ./{deb.name} in {report['install_s']} s"):
        print(r.stderr[-2000:])
        return
    files = check_files(package, report)
    check_depends(package)
    home = tmp / f"home-{flavour}"
    home.mkdir()
    version = sh("dpkg-query", "-W", "-f=${Version}", package).stdout
    check(version == project_version(), f"the package's version is the project's: {version}")
    check_use(flavour, version, photos, home, tmp, shots, report)
    if other:
        r = sh("apt-get", "install", "--simulate", str(other.resolve()), env=APT)
        check(f"Remv {package}" in r.stdout, f"installing {other.name} would remove {package} (Conflicts)")
    check_removed(package, files, before, home, purge_with_apt=flavour == "cpu", report=report)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--release", type=Path, default=ROOT / "dist" / "release")
    p.add_argument("--report", type=Path, help="write the measurements here as JSON (screenshots beside it)")
    args = p.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root: it installs and removes packages")
    version = project_version()
    debs = {f: args.release / f"{FLAVOURS[f].package}_{version}_amd64.deb" for f in ("classify", "cpu")}
    for package in (f.package for f in FLAVOURS.values()):  # what an earlier, interrupted run left
        if sh("dpkg-query", "-W", package).returncode == 0:
            sh("dpkg", "-P", package)
    if sh("dpkg", "-s", "desktop-file-utils").returncode != 0:
        sh("apt-get", "install", "-y", "-qq", "desktop-file-utils", env=APT)
    data = os.environ.get("DOGBREED_DATA")
    shots = (args.report.parent if args.report else ROOT / "build").resolve()
    shots.mkdir(parents=True, exist_ok=True)
    report: dict = {}
    with tempfile.TemporaryDirectory(prefix="dogbreed-deb-") as tmp_name:
        tmp = Path(tmp_name)
        photos = labrador_photos(Path(data) if data else None, tmp)
        for flavour, deb in debs.items():
            if not check(deb.is_file(), f"{deb} is there (scripts/release.sh)"):
                continue
            other = next((d for f, d in debs.items() if f != flavour and d.is_file()), None)
            smoke(deb, flavour, other, photos, tmp, shots, report.setdefault(FLAVOURS[flavour].package, {}))
    report["failures"] = FAILURES
    if args.report:
        args.report.write_text(json.dumps(report, indent=2) + "\n")
    print("deb smoke test " + ("PASSED" if not FAILURES else f"FAILED: {len(FAILURES)} check(s)"))
    return 0 if not FAILURES else 1


if __name__ == "__main__":
    sys.exit(main())
