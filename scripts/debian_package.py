#!/usr/bin/env python3
"""The Linux release packages of a built app (scripts/release.sh): the version, the .deb's control file, desktop
entry and file tree, built with dpkg-deb. Standard library only: it runs before any venv exists.

    debian_package.py version                     the version pyproject.toml declares
    debian_package.py deb FLAVOUR APP OUT_DIR     package APP (a PyInstaller folder) as FLAVOUR's .deb in OUT_DIR
    debian_package.py desktop FLAVOUR             the desktop entry the .deb installs

The .deb puts the app in /opt/dogbreed-studio, the whole CLI at /usr/bin/dogbreed-studio (a link to the app's
executable), the desktop entry ("Open with" for photos, by MIME type) and the icon under /usr/share. No
maintainer scripts: dpkg's triggers refresh the desktop and icon caches, and the user's runs and settings stay in
their home folder, so removing the package removes every file it brought.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PREFIX = "/opt/dogbreed-studio"
COMMAND = "dogbreed-studio"  # /usr/bin/dogbreed-studio, and the desktop entry's and icon's name
DESKTOP = ROOT / "packaging" / "linux" / "dogbreed-studio.desktop"
MAINTAINER = "Dog Breed Studio developers <noreply@dogbreed-studio.invalid>"  # no public address yet


@dataclass(frozen=True)
class Flavour:
    package: str
    synopsis: str
    about: str  # the Description's last paragraph
    mime_types: tuple[str, ...] = ()  # beyond the source desktop entry's


SUMMARY = ("Drop dog photos on a window and see the breed, with the probabilities over 120 breeds. Nothing is "
           f"downloaded at run time. The command line is {COMMAND} (predict, evaluate, serve, train).")
# The two conflict: both are /usr/bin/dogbreed-studio and /opt/dogbreed-studio.
FLAVOURS = {
    "cpu": Flavour("dogbreed-studio", "dog breed classifier for your photos, retrains offline",
                   "The full app, on the CPU: it classifies, evaluates and serves, and retrains on your own "
                   "labelled photos, locally.",
                   ("image/heic", "image/heif")),  # phone photos: pillow-heif is bundled in this flavour only
    "classify": Flavour("dogbreed-studio-classify", "dog breed classifier for your photos (classify-only)",
                        "The classify-only app (no PyTorch, a third of the size): it classifies, evaluates and "
                        "serves; retraining needs the full package, dogbreed-studio."),
}


def project_version(root: Path = ROOT) -> str:
    """pyproject.toml's version: its own, or the attribute it names as the dynamic one (a literal assignment)."""
    meta = tomllib.loads((root / "pyproject.toml").read_text("utf-8"))
    if "version" in meta["project"]:
        return meta["project"]["version"]
    module, attr = meta["tool"]["setuptools"]["dynamic"]["version"]["attr"].rsplit(".", 1)
    path = root / Path(*module.split("."))
    source = (path / "__init__.py" if path.is_dir() else path.with_suffix(".py")).read_text("utf-8")
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == attr for t in node.targets):
            return ast.literal_eval(node.value)
    raise SystemExit(f"pyproject.toml names {module}.{attr} as the version, and it is not there")


def qt_libraries(root: Path = ROOT) -> list[str]:
    """The Debian packages Qt needs at run time, as scripts/qt-system-libs.sh knows them."""
    out = subprocess.run(["bash", str(root / "scripts" / "qt-system-libs.sh"), "--runtime"], check=True,
                         capture_output=True, text=True).stdout
    return out.split()


def elf_files(folder: Path) -> list[Path]:
    """The executables and shared libraries in `folder` (links left out)."""
    def elf(path: Path) -> bool:
        with open(path, "rb") as f:
            return f.read(4) == b"\x7fELF"

    return [p for p in sorted(folder.rglob("*")) if p.is_file() and not p.is_symlink() and elf(p)]


def glibc_needed(app: Path) -> str | None:
    """The newest GLIBC_x.y symbol version any of the app's ELF files asks for (objdump, from binutils), or None
    when objdump is missing. PyInstaller bundles every library but glibc's, so this is libc6's lower bound."""
    if not shutil.which("objdump"):
        print("debian_package: no objdump (binutils): libc6 without a version in Depends", file=sys.stderr)
        return None
    elves = elf_files(app)
    found: set[tuple[int, ...]] = set()
    for i in range(0, len(elves), 200):
        dump = subprocess.run(["objdump", "-p", *map(str, elves[i:i + 200])], capture_output=True, text=True).stdout
        found |= {tuple(map(int, v.split("."))) for v in re.findall(r"\bGLIBC_(\d+(?:\.\d+)+)\b", dump)}
    return ".".join(map(str, max(found))) if found else None


def control(flavour: str, version: str, installed_kib: int, libraries: list[str], glibc: str | None) -> str:
    """The DEBIAN/control file."""
    f = FLAVOURS[flavour]
    others = [o.package for o in FLAVOURS.values() if o is not f]
    depends = [f"libc6 (>= {glibc})" if glibc else "libc6", *libraries]
    return "\n".join([
        f"Package: {f.package}",
        f"Version: {version}",
        "Architecture: amd64",
        f"Maintainer: {MAINTAINER}",
        f"Installed-Size: {installed_kib}",
        f"Depends: {', '.join(depends)}",
        f"Conflicts: {', '.join(others)}",
        f"Replaces: {', '.join(others)}",
        "Section: graphics",
        "Priority: optional",
        f"Description: {f.synopsis}",
        *(" " + line for line in textwrap.wrap(SUMMARY, 72, break_on_hyphens=False)),
        " .",
        *(" " + line for line in textwrap.wrap(f.about, 72, break_on_hyphens=False)),
    ]) + "\n"


def desktop_entry(flavour: str) -> str:
    """packaging/linux/dogbreed-studio.desktop, started as /usr/bin/dogbreed-studio, with the flavour's MIME
    types (the file managers' "Open with")."""
    lines = []
    for line in DESKTOP.read_text("utf-8").splitlines():
        key = line.split("=", 1)[0]
        if key == "Exec":
            line = f"Exec={COMMAND} %F"
        elif key == "TryExec":
            line = f"TryExec={COMMAND}"
        elif key == "MimeType":
            types = [t for t in line.split("=", 1)[1].split(";") if t]
            line = "MimeType=" + "".join(f"{t};" for t in types + [t for t in FLAVOURS[flavour].mime_types
                                                                  if t not in types])
        lines.append(line)
    return "\n".join(lines) + "\n"


def stage(app: Path, flavour: str, version: str, tree: Path, glibc: str | None) -> Path:
    """The .deb's file tree in `tree` (emptied first); the app's files are hard links where the disk allows."""
    if not (app / "DogBreedStudio").is_file():
        raise SystemExit(f"no built app at {app}")
    shutil.rmtree(tree, ignore_errors=True)
    opt = tree / PREFIX.lstrip("/")
    opt.parent.mkdir(parents=True)
    shutil.copytree(app, opt, symlinks=True, copy_function=_link_or_copy)
    (tree / "usr/bin").mkdir(parents=True)
    os.symlink(f"{PREFIX}/DogBreedStudio", tree / "usr/bin" / COMMAND)
    applications = tree / "usr/share/applications"
    applications.mkdir(parents=True)
    (applications / f"{COMMAND}.desktop").write_text(desktop_entry(flavour), "utf-8")
    icons = tree / "usr/share/icons/hicolor/256x256/apps"  # resources/icon.png is 256 x 256
    icons.mkdir(parents=True)
    shutil.copy(app / "_internal/resources/icon.png", icons / f"{COMMAND}.png")
    for d in [tree, *(p for p in tree.rglob("*") if p.is_dir() and not p.is_symlink())]:
        d.chmod(0o755)  # whatever the umask was
    files = sorted(p for p in tree.rglob("*") if p.is_file() and not p.is_symlink())
    installed_kib = sum(-(-p.stat().st_size // 1024) for p in files)
    debian = tree / "DEBIAN"
    debian.mkdir()
    (debian / "control").write_text(control(flavour, version, installed_kib, qt_libraries(), glibc), "utf-8")
    (debian / "md5sums").write_text("".join(f"{_md5(p)}  {p.relative_to(tree)}\n" for p in files), "utf-8")
    for p in debian.iterdir():
        p.chmod(0o644)
    return tree


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _md5(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def build_deb(app: Path, flavour: str, out: Path, work: Path = ROOT / "build" / "deb") -> Path:
    """Stage APP in WORK and build `<package>_<version>_amd64.deb` in OUT."""
    version = project_version()
    info = app / "_internal" / "build-info.json"
    if info.is_file():  # a stale or foreign build in dist/ must not be shipped under this version
        built = json.loads(info.read_text())
        if (built.get("flavour"), built.get("app_version")) != (flavour, version):
            raise SystemExit(f"{app} is a {built.get('flavour')} build of {built.get('app_version')}, "
                             f"not {flavour} {version}: build it again (scripts/build-app.sh {flavour})")
    package = FLAVOURS[flavour].package
    tree = stage(app, flavour, version, work / package, glibc_needed(app))
    out.mkdir(parents=True, exist_ok=True)
    deb = out / f"{package}_{version}_amd64.deb"
    # zstd -10: on torch's libraries as small as xz -1 and 2.5 times as fast (xz -6, dpkg's default, is 8 % smaller
    # and 20 times slower: minutes of CI). Every dpkg with the Depends' libraries (Debian 12, Ubuntu 22.04 on)
    # reads it.
    subprocess.run(["dpkg-deb", "--root-owner-group", "-Zzstd", "-z10", "--build", str(tree), str(deb)],
                   check=True, stdout=subprocess.DEVNULL)
    shutil.rmtree(tree)
    return deb


def main(argv: list[str]) -> None:
    if argv[:1] == ["version"]:
        print(project_version())
    elif argv[:1] == ["desktop"] and len(argv) == 2:
        sys.stdout.write(desktop_entry(argv[1]))
    elif argv[:1] == ["deb"] and len(argv) == 4:
        print(build_deb(Path(argv[2]).resolve(), argv[1], Path(argv[3]).resolve()))
    else:
        raise SystemExit(__doc__.split("\n\n")[1])


if __name__ == "__main__":
    main(sys.argv[1:])
