"""The release packages without building an app (scripts/release.sh, scripts/debian_package.py): one version
everywhere, the .deb's control file and desktop entries, a .deb of a stand-in app, the tarball's install.sh.
CI builds, installs and removes the real packages (.ci/run: scripts/smoke-test-deb.py)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import debian_package as deb  # noqa: E402

from dogbreed_desktop import __version__  # noqa: E402


def _fields(control: str) -> dict[str, str]:
    """A deb822 paragraph: continuation lines (a leading space) join their field."""
    fields: dict[str, str] = {}
    for line in control.splitlines():
        if line.startswith(" "):
            fields[key] += "\n" + line
        else:
            key, value = line.split(":", 1)
            fields[key] = value.strip()
    return fields


def test_one_version_everywhere(capsys):
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in meta["project"] and meta["project"]["dynamic"] == ["version"]
    assert deb.project_version() == __version__
    from dogbreed_desktop.cli import main

    assert main(["--version"]) == 0
    assert capsys.readouterr().out.split() == ["dogbreed-desktop", __version__]
    about = (ROOT / "dogbreed_desktop" / "gui" / "about.py").read_text()
    assert "Dog Breed Studio {__version__}" in about  # the About box (its HTML needs a QApplication)
    # The changelog: [Unreleased] first, then this version, newest first (Keep a Changelog).
    headings = [line for line in (ROOT / "CHANGELOG.md").read_text().splitlines() if line.startswith("## ")]
    assert headings[0] == "## [Unreleased]"
    assert headings[1].startswith(f"## [{__version__}] - ")


@pytest.mark.parametrize("flavour", ["cpu", "classify"])
def test_control_file(flavour):
    libraries = deb.qt_libraries()
    assert "libxcb-cursor0" in libraries and "xvfb" not in libraries  # what the app needs, not the tests
    fields = _fields(deb.control(flavour, "0.2.0", 4321, libraries, "2.28"))
    package = {"cpu": "dogbreed-studio", "classify": "dogbreed-studio-classify"}[flavour]
    other = {"cpu": "dogbreed-studio-classify", "classify": "dogbreed-studio"}[flavour]
    assert (fields["Package"], fields["Version"], fields["Architecture"]) == (package, "0.2.0", "amd64")
    assert fields["Installed-Size"] == "4321"
    assert fields["Depends"].split(", ") == ["libc6 (>= 2.28)", *libraries]
    assert fields["Conflicts"] == fields["Replaces"] == other  # one /usr/bin/dogbreed-studio at a time
    synopsis, *body = fields["Description"].splitlines()
    assert synopsis and all(line.startswith(" ") and len(line) <= 80 for line in body)
    assert _fields(deb.control(flavour, "0.2.0", 1, [], None))["Depends"] == "libc6"


def test_desktop_entries():
    """The installed entries start /usr/bin/dogbreed-studio; the full app also opens phone photos (HEIC)."""
    entries = {f: deb.desktop_entry(f) for f in deb.FLAVOURS}
    for text in entries.values():
        assert "\nExec=dogbreed-studio %F\n" in text and "\nTryExec=dogbreed-studio\n" in text
        assert "image/jpeg;" in text and "\nIcon=dogbreed-studio\n" in text
    assert "image/heic;" in entries["cpu"] and "image/heic" not in entries["classify"]


@pytest.mark.skipif(not shutil.which("desktop-file-validate"), reason="needs desktop-file-utils")
@pytest.mark.parametrize("flavour", [None, "cpu", "classify"])
def test_desktop_entry_validates(flavour, tmp_path):
    """No error, warning or hint (a hint such as two main categories shows the app twice in menus)."""
    path = deb.DESKTOP
    if flavour:
        path = tmp_path / "dogbreed-studio.desktop"
        path.write_text(deb.desktop_entry(flavour))
    r = subprocess.run(["desktop-file-validate", str(path)], capture_output=True, text=True)
    assert r.returncode == 0 and not (r.stdout + r.stderr).strip(), r.stdout + r.stderr


def _stand_in_app(folder: Path, flavour: str, version: str = __version__) -> Path:
    """A built app's layout with a shell script for the executable."""
    (folder / "_internal" / "resources").mkdir(parents=True)
    exe = folder / "DogBreedStudio"
    exe.write_text("#!/bin/sh\necho stand-in \"$@\"\n")
    exe.chmod(0o755)
    shutil.copy(ROOT / "resources" / "icon.png", folder / "_internal" / "resources" / "icon.png")
    (folder / "_internal" / "build-info.json").write_text(json.dumps({"flavour": flavour, "app_version": version}))
    return folder


@pytest.mark.skipif(not shutil.which("dpkg-deb"), reason="needs dpkg-deb")
def test_deb_of_a_stand_in_app(tmp_path):
    app = _stand_in_app(tmp_path / "app", "classify")
    built = deb.build_deb(app, "classify", tmp_path / "out", work=tmp_path / "work")
    assert built.name == f"dogbreed-studio-classify_{__version__}_amd64.deb"
    info = subprocess.run(["dpkg-deb", "-f", str(built)], capture_output=True, text=True, check=True).stdout
    fields = _fields(info)
    assert fields["Package"] == "dogbreed-studio-classify" and fields["Version"] == __version__
    assert fields["Conflicts"] == "dogbreed-studio" and fields["Depends"].startswith("libc6")
    listing = subprocess.run(["dpkg-deb", "-c", str(built)], capture_output=True, text=True, check=True).stdout
    rows = {line.split()[5]: line for line in listing.splitlines()}
    assert rows["./opt/dogbreed-studio/DogBreedStudio"].startswith("-rwxr-xr-x root/root")
    assert "./usr/bin/dogbreed-studio -> /opt/dogbreed-studio/DogBreedStudio" in listing
    for path in ("./usr/share/applications/dogbreed-studio.desktop",
                 "./usr/share/icons/hicolor/256x256/apps/dogbreed-studio.png",
                 "./opt/dogbreed-studio/_internal/resources/icon.png"):
        assert path in rows
    assert all(p.startswith(("./opt/dogbreed-studio", "./usr/")) or p in ("./", "./opt/") for p in rows)
    assert not (tmp_path / "work").exists() or not any((tmp_path / "work").iterdir())  # staging cleaned up
    # A build of another flavour or version in dist/ is never packaged under this one.
    with pytest.raises(SystemExit, match="not cpu"):
        deb.build_deb(app, "cpu", tmp_path / "out", work=tmp_path / "work")
    old = _stand_in_app(tmp_path / "old", "classify", version="0.0.1")
    with pytest.raises(SystemExit, match="0.0.1"):
        deb.build_deb(old, "classify", tmp_path / "out", work=tmp_path / "work")


def test_tarball_install_sh_finds_the_app_beside_it(tmp_path):
    """An unpacked tarball: DogBreedStudio-<version>/{DogBreedStudio/, install.sh, dogbreed-studio.desktop}."""
    top = tmp_path / f"DogBreedStudio-{__version__}"
    _stand_in_app(top / "DogBreedStudio", "cpu")
    for name in ("install.sh", "dogbreed-studio.desktop"):
        shutil.copy(ROOT / "packaging" / "linux" / name, top / name)
    home = tmp_path / "home"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home)}
    r = subprocess.run(["bash", str(top / "install.sh")], env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    installed = home / ".local" / "opt" / "DogBreedStudio" / "DogBreedStudio"
    assert subprocess.run([str(home / ".local" / "bin" / "DogBreedStudio"), "x"], capture_output=True,
                          text=True).stdout == "stand-in x\n"
    entry = (home / ".local" / "share" / "applications" / "dogbreed-studio.desktop").read_text()
    assert f'Exec="{installed}" %F' in entry
    r = subprocess.run(["bash", str(top / "install.sh"), "--uninstall"], env=env, capture_output=True, text=True)
    assert r.returncode == 0 and not installed.exists()


def test_release_scripts_parse():
    for script in ("scripts/release.sh", "scripts/qt-system-libs.sh"):
        r = subprocess.run(["bash", "-n", str(ROOT / script)], capture_output=True, text=True)
        assert r.returncode == 0, f"{script}: {r.stderr}"
    # the packages' scripts, with the standard library only (they run before any venv exists)
    r = subprocess.run([sys.executable, "-I", "-c", "import sys, runpy; sys.path.insert(0, 'scripts'); "
                        "runpy.run_path('scripts/smoke-test-deb.py', run_name='not_main')"],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    workflow = (ROOT / ".github" / "workflows" / "release.yml").read_text()
    for runner in ("ubuntu-latest", "windows-latest", "macos-latest"):
        assert runner in workflow
