"""Would an int8 engine ship? ONNX Runtime static quantization of the built-in models' backbone graphs, measured
through the app's own Classifier (heads, temperature, adaptive mirror, gate) against the fp32 graphs, in one run.
The fp32 graphs are the engine's own: float32 arithmetic on weights stored as float16 (core/engine/graph_making.py);
quantization starts from the same weights, read back as float32 initializers.

    DOGBREED_DATA=../shared/data/dog-breed-identification python benchmarks/bench_int8.py [--fp32-convs 2]

Quantization (QDQ, what ONNX Runtime's CPU kernels fuse into int8 convolutions, u8s8 on VNNI):
- the batch norms the export left unfolded (after the "SAME"-padded strided convolutions) folded first;
- weights int8, symmetric, per output channel; activations uint8 with per-tensor ranges from the CALIBRATION
  split (training/holdout.py: 5 photos per breed, 600 photos; never the TEST split): per batch of 16 photos and
  tensor, the 1e-5 and 1 - 1e-5 quantiles, averaged over batches ("p5"; --ranges minmax takes the extremes);
- `--fp32-convs K` keeps the first K convolutions in float: per-layer sensitivity (giving one layer back its
  float inputs at a time, KL to fp32 on 96 TRAIN photos; Lite0) put the stem and block 0's depthwise convolution
  first; no few layers held most of the loss.

The rule: at the precision the app picks, against fp32 on the same photos, top-1 within 0.3 points,
log loss within 1 %, ECE within 0.3 points, gate rates unchanged, verdicts changed on at most 0.5 % of photos.
Speed is the ratio of int8 to fp32 photos/s, timed alternately in this process (the machine is shared).
Appends its table to benchmarks/results/int8.md.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from dogbreed_desktop.core.engine.engine_base import Outputs
from dogbreed_desktop.core.engine.graph_making import float32_weights, graph_file
from dogbreed_desktop.core.engine.ort_sessions import GraphSessions
from dogbreed_desktop.core.model.models import load_model
from dogbreed_desktop.core.predict.classifier import Classifier
from dogbreed_desktop.core.predict.gate import BREED
from dogbreed_desktop.core.predict.preprocess import normalize
from training.holdout import not_dogs_dir, not_dogs_split, stanford_split, wild_dev

ROOT = Path(__file__).resolve().parent.parent
QUANTILES = (1e-5, 1 - 1e-5)


def fold_batch_norms(model) -> int:
    """Fold each BatchNormalization into the Conv before it (the "SAME" padding reads that conv's shape: it reads
    the same shape from the folded output)."""
    from onnx import numpy_helper

    g = model.graph
    init = {i.name: i for i in g.initializer}
    made = {o: n for n in g.node for o in n.output}
    folded = [n for n in g.node if n.op_type == "BatchNormalization" and made[n.input[0]].op_type == "Conv"]
    for bn in folded:
        conv = made[bn.input[0]]
        eps = next((a.f for a in bn.attribute if a.name == "epsilon"), 1e-5)
        gamma, beta, mean, var = (numpy_helper.to_array(init[x]).astype(np.float64) for x in bn.input[1:5])
        w = numpy_helper.to_array(init[conv.input[1]]).astype(np.float64)
        b = numpy_helper.to_array(init[conv.input[2]]).astype(np.float64) if len(conv.input) > 2 else 0.0
        s = gamma / np.sqrt(var + eps)
        names = (conv.input[1] + ".bn_folded", conv.input[1] + ".bn_folded_bias")
        g.initializer.extend([numpy_helper.from_array((w * s[:, None, None, None]).astype(np.float32), names[0]),
                              numpy_helper.from_array(((b - mean) * s + beta).astype(np.float32), names[1])])
        conv.input[1:] = list(names)
        for other in g.node:
            if other is not bn and bn.input[0] in other.input:
                other.input[:] = [bn.output[0] if i == bn.input[0] else i for i in other.input]
        conv.output[0] = bn.output[0]
        g.node.remove(bn)
    used = {i for n in g.node for i in n.input}
    kept = [i for i in g.initializer if i.name in used]
    del g.initializer[:]
    g.initializer.extend(kept)
    return len(folded)


def calibration_stats(model, batches) -> dict[str, np.ndarray]:
    """Per float tensor that a convolution, addition, clip or pooling reads or writes: rows of (min, max, low
    quantile, high quantile), one row per batch."""
    import onnx
    import onnxruntime as ort

    m = onnx.ModelProto()
    m.CopyFrom(model)
    inits = {i.name for i in m.graph.initializer}
    wanted = dict.fromkeys(t for n in m.graph.node if n.op_type in ("Conv", "Add", "Clip", "ReduceMean", "Gemm", "Pad")
                           for t in (n.input[0], *n.output) if t and t not in inits)
    outputs = {o.name for o in m.graph.output}
    floats = {v.name for v in onnx.shape_inference.infer_shapes(m).graph.value_info
              if v.type.tensor_type.elem_type == onnx.TensorProto.FLOAT}  # not the padding's shape arithmetic
    m.graph.output.extend(onnx.helper.make_tensor_value_info(t, onnx.TensorProto.FLOAT, None)
                          for t in wanted if t in floats and t not in outputs)
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    session = ort.InferenceSession(m.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    stats: dict[str, list] = {}
    for x in batches:
        for name, v in [("image", x), *zip(names, session.run(None, {"image": x}))]:
            if v.dtype == np.float32 and v.size > 1:
                flat = v.reshape(-1)[:: max(1, v.size // 2_000_000)]
                stats.setdefault(name, []).append([v.min(), v.max(), *np.quantile(flat, QUANTILES)])
    return {k: np.array(v, np.float64) for k, v in stats.items()}


def quantize(fp32: Path, target: Path, batches, rule: str, fp32_convs: int) -> None:
    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.calibrate import TensorData, TensorsData, save_tensors_data

    model = float32_weights(onnx.load(str(fp32)))  # quantize_static reads weights from float32 initializers
    fold_batch_norms(model)
    stats = calibration_stats(model, batches)
    lo, hi = ((0, 1), (2, 3))[rule == "p5"]
    ranges = {k: TensorData(lowest=np.float32(min(v[:, lo].min() if rule == "minmax" else v[:, lo].mean(), 0)),
                            highest=np.float32(max(v[:, hi].max() if rule == "minmax" else v[:, hi].mean(), 0)))
              for k, v in stats.items()}
    keep = [n.name for n in model.graph.node if n.op_type == "Conv"][:fp32_convs]
    with tempfile.TemporaryDirectory() as tmp:
        folded, cache = Path(tmp) / "folded.onnx", Path(tmp) / "ranges.json"
        onnx.save(model, str(folded))
        save_tensors_data(TensorsData(CalibrationMethod.MinMax, ranges), cache)
        quantize_static(str(folded), str(target), None, quant_format=QuantFormat.QDQ, per_channel=True,
                        weight_type=QuantType.QInt8, activation_type=QuantType.QUInt8, nodes_to_exclude=keep,
                        op_types_to_quantize=["Conv", "Add", "Clip", "Pad", "ReduceMean", "Gemm"],
                        calibrate_method=CalibrationMethod.MinMax, calibration_cache_path=str(cache))


class GraphEngine:
    """The app's fixed-shape sessions on given graph files, one per member (the Engine protocol)."""

    name = "onnxruntime"

    def __init__(self, paths: list[Path], crops: list[int], threads: int, label: str):
        self.graphs = [GraphSessions(p, threads, c) for p, c in zip(paths, crops)]
        self.description, self.observers, self.seconds = label, [], 0.0

    def run(self, member: int, images: np.ndarray, *, feature_map: bool = False) -> Outputs:
        t = time.perf_counter()
        out = self.graphs[member].run(["features", "imagenet_logits"], np.ascontiguousarray(images, np.float32))
        self.seconds += time.perf_counter() - t
        return Outputs(out[0], out[1])


def answers(clf: Classifier, prepared: list[tuple]) -> list:
    return [r for i in range(0, len(prepared), 32) for r in clf.predict_prepared(prepared[i : i + 32], top_k=1)]


def scores(results, labels: list[str], classes: list[str]) -> dict:
    p = np.array([r.probabilities for r in results])
    y = np.array([classes.index(b) for b in labels])
    conf, right = p.max(1), p.argmax(1) == y
    edges = np.linspace(0, 1, 16)
    ece = sum(abs(right[m].mean() - conf[m].mean()) * m.mean()
              for m in ((conf > a) & (conf <= b) for a, b in zip(edges[:-1], edges[1:])) if m.any())
    return {"top1": right.mean(), "log_loss": -np.log(np.maximum(p[np.arange(len(y)), y], 1e-12)).mean(),
            "ece": ece, "not_a_dog": np.mean([r.verdict == "not_a_dog" for r in results]),
            "breed": np.mean([r.verdict == BREED for r in results])}


def speed(clfs: dict, photos: list[tuple], rounds: int = 3) -> dict[str, float]:
    """Photos/s of the backbone runs alone (decode excluded), fp32 and int8 alternately."""
    seconds = dict.fromkeys(clfs, 0.0)
    for _ in range(rounds):
        for name, clf in clfs.items():
            clf.engine.seconds = 0.0
            answers(clf, photos)
            seconds[name] += clf.engine.seconds
    return {name: rounds * len(photos) / s for name, s in seconds.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calib", type=int, default=600, help="CALIBRATION photos to fit ranges on")
    ap.add_argument("--ranges", choices=["p5", "minmax"], default="p5")
    ap.add_argument("--fp32-convs", type=int, default=2, help="first convolutions kept in float")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "int8.md")
    args = ap.parse_args()
    data = os.environ["DOGBREED_DATA"]
    split = stanford_split(data)
    sets = {"held-out Stanford Dogs": split["test"], "wild-dev": wild_dev(data)}
    not_dogs = not_dogs_split(not_dogs_dir(data))["heldout"]
    calib = split["calib"][:: max(1, len(split["calib"]) // args.calib)][: args.calib]
    rows, tmp = [], Path(tempfile.mkdtemp())
    for model in ("fast", "accurate"):
        ens = load_model(model)
        fp32 = Classifier(ens, engine="onnxruntime")
        paths, crops = [graph_file(a) for a in ens.members], [a.preprocessing.crop for a in ens.members]
        int8_paths = []
        for a, path in zip(ens.members, paths):
            target = tmp / f"{a.backbone}.int8.onnx"
            if not target.exists():
                prep = a.preprocessing
                photos = np.stack([fp32.prepare(p)[fp32.preprocessings.index(prep)] for p, _ in calib])
                quantize(path, target, (normalize(photos[i : i + 16], prep) for i in range(0, len(photos), 16)),
                         args.ranges, args.fp32_convs)
            int8_paths.append(target)
        clfs = {"fp32": Classifier(ens, engine=GraphEngine(paths, crops, args.threads, "fp32")),
                "int8": Classifier(ens, engine=GraphEngine(int8_paths, crops, args.threads, "int8"))}
        prepared = {name: [(str(p), fp32.prepare(p)) for p, _ in items] for name, items in sets.items()}
        prepared["not-dogs"] = [(str(p), fp32.prepare(p)) for p, _ in not_dogs]
        got = {k: {name: answers(c, items) for name, items in prepared.items()} for k, c in clfs.items()}
        rate = speed(clfs, prepared["held-out Stanford Dogs"][:320])
        for name, items in sets.items():
            s = {k: scores(got[k][name], [b for _, b in items], fp32.classes) for k in clfs}
            changed = np.mean([a.verdict != b.verdict for a, b in zip(got["fp32"][name], got["int8"][name])])
            rows.append((model, name, len(items), s, changed))
        rejected = {k: np.mean([r.verdict == "not_a_dog" for r in got[k]["not-dogs"]]) for k in clfs}
        changed = np.mean([a.verdict != b.verdict for a, b in zip(got["fp32"]["not-dogs"], got["int8"]["not-dogs"])])
        rows.append((model, "held-out not-dogs", len(not_dogs), rejected, changed))
        rows.append((model, "speed", 0, rate, 0.0))
        print(model, "done", flush=True)
    write(args, rows)


def write(args, rows) -> None:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT).stdout
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else ""
    lines = [f"## {args.ranges} ranges, first {args.fp32_convs} convolutions in float", "",
             f"{datetime.date.today()}, commit {commit.strip()}, {cpu}, {args.threads} threads; ranges {args.ranges} "
             f"on {args.calib} CALIBRATION photos.", "",
             "| model | photos | fp32 top-1 | int8 top-1 | fp32 log loss | int8 log loss | fp32 ECE | int8 ECE | "
             "dogs called not a dog fp32 / int8 | verdicts changed |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for model, name, n, s, changed in rows:
        if name == "speed":
            lines.append(f"| {model} | speed, backbone runs alone | | | | | | | int8 / fp32: "
                         f"**{s['int8'] / s['fp32']:.2f}x** | |")
        elif name == "held-out not-dogs":
            lines.append(f"| {model} | {n} {name}: rejected {s['fp32']:.1%} / {s['int8']:.1%} | | | | | | | | "
                         f"{changed:.1%} |")
        else:
            f, q = s["fp32"], s["int8"]
            lines.append(f"| {model} | {n} {name} | {f['top1']:.2%} | {q['top1']:.2%} | {f['log_loss']:.4f} | "
                         f"{q['log_loss']:.4f} ({q['log_loss'] / f['log_loss'] - 1:+.1%}) | {f['ece']:.2%} | "
                         f"{q['ece']:.2%} | {f['not_a_dog']:.2%} / {q['not_a_dog']:.2%} | {changed:.1%} |")
    text = "\n".join(lines) + "\n"
    print(text)
    old = args.out.read_text() if args.out.exists() else "# int8 backbones against fp32 (benchmarks/bench_int8.py)\n"
    args.out.write_text(old + "\n" + text)  # one section per run


if __name__ == "__main__":
    main()
