"""`dogbreed-desktop export`: a model as a file other programs can run (ONNX)."""

from __future__ import annotations

import sys

from .common import EXIT_FAILED, EXIT_OK, MODEL_HELP, fail, number

HELP = "export a model to ONNX for use outside the app"


def add_arguments(p) -> None:
    p.add_argument("model", nargs="?", help=MODEL_HELP + "; an ensemble becomes one graph with an input per "
                   "image size")
    p.add_argument("--format", default="onnx", choices=("onnx",), help="file format (default: onnx)")
    p.add_argument("--out", required=True, help="the .onnx file to write; labels.txt is written beside it")
    p.add_argument("--opset", type=number(int, low=18), default=18, help="ONNX opset, from 18 to the newest the "
                   "installed onnx package knows (28 for onnx 1.23; default: 18)")


def run(args) -> int:
    from ..core.errors import UserError
    from ..core.files import DiskFull
    from ..core.flavour import EXPORT, has_onnx

    if not has_onnx():  # the classify-only build
        return fail(EXPORT)
    from ..core.export.export_onnx import export_onnx

    try:
        written = export_onnx(args.model, args.out, opset=args.opset)
    except DiskFull as e:  # a UserError too, but not a usage error: exit 1, as train and evaluate --report
        return fail(str(e), EXIT_FAILED)
    except UserError as e:
        return fail(str(e))
    except OSError as e:
        return fail(f"cannot write {args.out}: {e}")
    print(written["model"])
    print(f"labels: {written['labels']}", file=sys.stderr)
    return EXIT_OK
