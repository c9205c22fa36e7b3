"""Would an int8 backbone ship? ONNX Runtime static quantization (QDQ, per-channel weights) of the fast model's
EfficientNet-Lite0 graph, against its fp32 graph, on held-out Stanford Dogs photos (training/holdout.py TEST split;
ImageNet-pretrained backbones may have seen them, so the figures flatter both alike).

    DOGBREED_DATA=../shared/data/dog-breed-identification python benchmarks/bench_int8.py [--per-breed 5]

Calibration reads the CALIBRATION split only. Prints top-1, ECE and images/s of each, through the fast model's
own head, temperature and mirror. The rule (issue 17): int8 ships only if top-1 stays within 0.3 points and ECE
<= 2 %.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np


def batches(items, clf, size=32):
    for i in range(0, len(items), size):
        chunk = items[i : i + size]
        yield np.stack([clf.prepare(p)[0] for p, _ in chunk]), [b for _, b in chunk]


def measure(session, clf, items) -> tuple[float, float, float]:
    from dogbreed_desktop.core.predict.classifier import softmax
    from dogbreed_desktop.core.predict.preprocess import normalize

    m = clf.members[0]
    prep = clf.preprocessings[0]
    probs, labels, seconds = [], [], 0.0
    for x, names in batches(items, clf):
        x = normalize(x, prep)
        x = np.concatenate([x, x[..., ::-1]])
        t = time.perf_counter()
        f = session.run(["features"], {"image": np.ascontiguousarray(x)})[0]
        seconds += time.perf_counter() - t
        f = (f[: len(f) // 2] + f[len(f) // 2 :]) / 2
        probs.append(softmax((f @ m.weight + m.bias) / clf.temperature))
        labels += [clf.classes.index(n) for n in names]
    p, y = np.concatenate(probs), np.array(labels)
    top1 = float((p.argmax(1) == y).mean())
    conf, correct = p.max(1), p.argmax(1) == y
    edges = np.linspace(0, 1, 16)
    ece = sum(abs(correct[(conf > lo) & (conf <= hi)].mean() - conf[(conf > lo) & (conf <= hi)].mean())
              * ((conf > lo) & (conf <= hi)).mean() for lo, hi in zip(edges[:-1], edges[1:])
              if ((conf > lo) & (conf <= hi)).any())
    return top1, float(ece), 2 * len(items) / seconds


def main() -> None:
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from dogbreed_desktop.core.predict.classifier import Classifier
    from dogbreed_desktop.core.engine.graph_making import graph_file
    from dogbreed_desktop.core.engine.ort_sessions import open_graph
    from training.holdout import stanford_split
    from dogbreed_desktop.core.predict.preprocess import normalize

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--per-breed", type=int, default=5, help="test photos per breed (of 10)")
    ap.add_argument("--calib", type=int, default=320, help="calibration photos")
    args = ap.parse_args()
    split = stanford_split(os.environ["DOGBREED_DATA"])
    test = [it for i, it in enumerate(split["test"]) if i % 10 < args.per_breed]
    calib = split["calib"][:: max(1, len(split["calib"]) // args.calib)][: args.calib]
    clf = Classifier.load("fast", device="cpu")
    fp32 = graph_file(clf.artifact)

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = (
                {"image": np.ascontiguousarray(normalize(x, clf.preprocessings[0]))} for x, _ in batches(calib, clf, 16)
            )

        def get_next(self):
            return next(self.it, None)

    with tempfile.TemporaryDirectory() as tmp:
        pre, q = Path(tmp) / "pre.onnx", Path(tmp) / "int8.onnx"
        quant_pre_process(str(fp32), str(pre), skip_symbolic_shape=True)
        quantize_static(str(pre), str(q), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                        weight_type=QuantType.QInt8, activation_type=QuantType.QUInt8,
                        extra_options={"CalibMovingAverage": True})
        threads = os.cpu_count() or 2
        rows = {"fp32": measure(open_graph(fp32, threads), clf, test), "int8": measure(open_graph(q, threads), clf, test)}
    print(f"{len(test)} held-out Stanford Dogs photos (+ mirror), calibration {len(calib)} photos")
    print("| backbone graph | top-1 | ECE | images/s |")
    print("|---|---|---|---|")
    for name, (top1, ece, ips) in rows.items():
        print(f"| {name} | {top1:.1%} | {ece:.1%} | {ips:.0f} |")
    drop = rows["fp32"][0] - rows["int8"][0]
    ships = drop <= 0.003 and rows["int8"][1] <= 0.02
    print(f"int8 top-1 change: {-drop:+.1%} points; ships: {'yes' if ships else 'no'}")


if __name__ == "__main__":
    main()
