"""Which layers of an int8 backbone cost accuracy? From the fully quantized graph (bench_int8's quantization, with
the clips kept so that every quantized tensor has a float twin), each layer in turn reads float inputs and float
weights again; the KL divergence of the fast model's breed probabilities (and of the ImageNet head's) to fp32's,
on TRAIN photos, says how much of the loss that layer held.

    DOGBREED_DATA=../shared/data/dog-breed-identification python benchmarks/int8_sensitivity.py [--photos 96]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import numpy as np
from bench_int8 import calibration_stats, fold_batch_norms

from dogbreed_desktop.core.engine.graph_making import float32_weights, graph_file
from dogbreed_desktop.core.model.models import load_model
from dogbreed_desktop.core.predict.preprocess import normalize, prepare
from training.holdout import stanford_split


def session(model, crop: int):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    for name, size in zip(("batch", "height", "width"), (32, crop, crop)):
        opts.add_free_dimension_override_by_name(name, size)
    return ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])


def log_softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(1, keepdims=True)
    return z - np.log(np.exp(z).sum(1, keepdims=True))


def float_layer(model, fp32_weights: dict, name: str):
    """`model` with node `name` reading the float tensors its quantize-dequantize pairs stood for."""
    import onnx

    m = onnx.ModelProto()
    m.CopyFrom(model)
    node = next(n for n in m.graph.node if n.name == name)
    made = {o: n for n in m.graph.node for o in n.output}
    have = {i.name for i in m.graph.initializer}
    for k, tensor in enumerate(node.input):
        dq = made.get(tensor)
        if dq is None or dq.op_type != "DequantizeLinear":
            continue
        q = made.get(dq.input[0])
        if q is not None and q.op_type == "QuantizeLinear":
            node.input[k] = q.input[0]
        elif dq.input[0].endswith("_quantized") and dq.input[0][: -len("_quantized")] in fp32_weights:
            original = dq.input[0][: -len("_quantized")]
            if original not in made and original not in have:
                m.graph.initializer.append(fp32_weights[original])
                have.add(original)
            node.input[k] = original
    return m


def main() -> None:
    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.calibrate import TensorData, TensorsData, save_tensors_data

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--photos", type=int, default=96, help="TRAIN photos to score on")
    ap.add_argument("--calib", type=int, default=600, help="CALIBRATION photos to fit ranges on")
    args = ap.parse_args()
    split = stanford_split(os.environ["DOGBREED_DATA"])
    art = load_model("fast").members[0]
    prep = art.preprocessing
    photos = lambda items: normalize(np.stack([prepare(p, prep) for p, _ in items]), prep)  # noqa: E731
    calib = photos(split["calib"][:: max(1, len(split["calib"]) // args.calib)])
    x = photos(split["train"][:: max(1, len(split["train"]) // args.photos)][: args.photos // 32 * 32])
    model = float32_weights(onnx.load(str(graph_file(art))))  # weights as float32 initializers, no Casts
    fold_batch_norms(model)
    stats = calibration_stats(model, (calib[i : i + 16] for i in range(0, len(calib), 16)))
    ranges = {k: TensorData(lowest=np.float32(min(v[:, 2].mean(), 0)), highest=np.float32(max(v[:, 3].mean(), 0)))
              for k, v in stats.items()}
    with tempfile.TemporaryDirectory() as tmp:
        folded, cache, q = Path(tmp) / "f.onnx", Path(tmp) / "r.json", Path(tmp) / "q.onnx"
        onnx.save(model, str(folded))
        save_tensors_data(TensorsData(CalibrationMethod.MinMax, ranges), cache)
        quantize_static(str(folded), str(q), None, quant_format=QuantFormat.QDQ, per_channel=True,
                        weight_type=QuantType.QInt8, activation_type=QuantType.QUInt8,
                        op_types_to_quantize=["Conv", "Add", "Clip", "Pad", "ReduceMean", "Gemm"],
                        calibrate_method=CalibrationMethod.MinMax, calibration_cache_path=str(cache),
                        extra_options={"QDQKeepRemovableActivations": True})
        qmodel = onnx.load(str(q))
    w, b = art.head_weight.astype(np.float32), art.head_bias.astype(np.float32)

    def heads(m) -> tuple[np.ndarray, np.ndarray]:
        s = session(m, prep.crop)
        f, i = (np.concatenate(o) for o in zip(*(s.run(["features", "imagenet_logits"], {"image": x[j : j + 32]})
                                                 for j in range(0, len(x), 32))))
        return log_softmax(f @ w.T + b), log_softmax(i)

    ref = heads(model)
    kl = lambda got: [float((np.exp(r) * (r - g)).sum(1).mean()) for r, g in zip(ref, got)]  # noqa: E731
    base = kl(heads(qmodel))
    print(f"all int8: breed KL {base[0]:.5f}, ImageNet KL {base[1]:.5f}")
    weights = {i.name: i for i in model.graph.initializer}
    rows = []
    for node in qmodel.graph.node:
        if node.op_type in ("Conv", "Add", "Clip", "ReduceMean", "Gemm"):
            rows.append((node.name, node.op_type, *kl(heads(float_layer(qmodel, weights, node.name)))))
    print("| layer in float | op | breed KL | change | ImageNet KL | change |\n|---|---|---|---|---|---|")
    for name, op, breed, imagenet in sorted(rows, key=lambda r: r[2]):
        print(f"| {name} | {op} | {breed:.5f} | {breed - base[0]:+.5f} | {imagenet:.5f} | {imagenet - base[1]:+.5f} |")


if __name__ == "__main__":
    main()
