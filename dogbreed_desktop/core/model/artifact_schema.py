"""What a model file must hold before the app trusts it: one table of field checks, run once at load time.

A model file is data from anywhere. Every metadata field is typed and range-checked here, and every tensor
is checked for dtype, shape and finite values, so a crafted or damaged file is refused with one message
instead of loading and then printing "nan%", reversing the ranking, or asking for 100,000-pixel images.

To add a field (a gate threshold, an ensemble manifest...), append a `Rule` to `METADATA_RULES` (and a
`TensorRule` to `TENSOR_RULES` for its tensors); `validate` runs them all.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass
from typing import Any, Callable

from .specs import BACKBONES

# Preprocessing sizes a model may ask for. 16 is the smallest a training config allows; past 1024 a photo
# costs more memory than it can gain in accuracy (backbones here are trained at 224-260).
MIN_SIZE, MAX_SIZE = 16, 1024
MAX_CLASSES = 100_000
MAX_NAME_CHARS = 200

Check = Callable[[Any], "str | None"]  # None when the value is fine, else what is wrong with it


class SchemaError(ValueError):
    """A model file whose contents break the rules below, with a message fit to show the user."""


@dataclass(frozen=True)
class Rule:
    key: str  # dotted path into the metadata, e.g. "preprocessing.resize"
    check: Check
    required: bool = True


# --- field checks ------------------------------------------------------------------------------------------

def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def integer(lo: int, hi: int) -> Check:
    def check(v):
        if not (_is_number(v) and float(v).is_integer()):
            return f"must be a whole number, not {_show(v)}"
        if not lo <= v <= hi:
            return f"must be between {lo} and {hi}, not {v}"
        return None

    return check


def number(lo: float = -math.inf, hi: float = math.inf, *, above: float | None = None) -> Check:
    def check(v):
        if not _is_number(v) or not math.isfinite(v):
            return f"must be a finite number, not {_show(v)}"
        if above is not None and not v > above:
            return f"must be greater than {above:g}, not {v:g}"
        if not lo <= v <= hi:
            return f"must be between {lo:g} and {hi:g}, not {v:g}"
        return None

    return check


def numbers(count: int, each: Check) -> Check:
    def check(v):
        if not isinstance(v, list) or len(v) != count:
            return f"must be a list of {count} numbers, not {_show(v)}"
        for x in v:
            problem = each(x)
            if problem:
                return f"value {_show(x)} {problem}"
        return None

    return check


def text(max_chars: int = MAX_NAME_CHARS, *, empty: bool = False) -> Check:
    def check(v):
        if not isinstance(v, str):
            return f"must be text, not {_show(v)}"
        if not v.strip() and not empty:
            return "must not be empty"
        if len(v) > max_chars:
            return f"is longer than {max_chars} characters"
        if any(unicodedata.category(c) in ("Cc", "Cs") for c in v):
            return f"holds control characters ({_show(v)})"
        return None

    return check


def one_of(*allowed: Any) -> Check:
    def check(v):
        return None if v in allowed else f"must be one of {', '.join(map(repr, allowed))}, not {_show(v)}"

    return check


def mapping(v: Any) -> str | None:
    return None if isinstance(v, dict) else f"must be a JSON object, not {_show(v)}"


def class_name_problem(name: Any) -> str | None:
    """What makes `name` unusable as a class name (datasets use this to leave such labels out)."""
    return text()(name)


def class_list(v: Any) -> str | None:
    if not isinstance(v, list) or not v:
        return f"must be a non-empty list of class names, not {_show(v)}"
    if len(v) > MAX_CLASSES:
        return f"has {len(v)} classes (at most {MAX_CLASSES})"
    name = text()
    for c in v:
        problem = name(c)
        if problem:
            return f"entry {_show(c)} {problem}"
    seen = set()
    dupes = sorted({c for c in v if c in seen or seen.add(c)})
    if dupes:
        return f"names a class more than once ({', '.join(map(repr, dupes[:5]))})"
    return None


def backbone_weights(v: Any) -> str | None:
    if not isinstance(v, dict):
        return f"must be a JSON object, not {_show(v)}"
    source = v.get("source")
    if source == "package":
        for key in ("package", "sha256"):
            if text()(v.get(key)):
                return f"{key} must be text"
    elif source == "torchvision":
        if text()(v.get("weights")):
            return "weights must be text"
    elif source != "embedded":
        return f"source must be package, torchvision or embedded, not {_show(source)}"
    return None


def boolean(v: Any) -> str | None:
    return None if isinstance(v, bool) else f"must be true or false, not {_show(v)}"


def gate(v: Any) -> str | None:
    """The "not a dog" gate (core.predict.gate.Gate.to_dict()), or null for a model without one."""
    if v is None:
        return None
    if not isinstance(v, dict):
        return f"must be a JSON object or null, not {_show(v)}"
    checks = {"method": one_of("dog_mass"), "threshold": number(0.0, 1.0), "scale": number(-1e3, 1e3),
              "shift": number(-1e3, 1e3)}
    for key, check in checks.items():
        if key not in v:
            return f"lacks {key!r}"
        problem = check(v[key])
        if problem:
            return f"{key} {problem}"
    if not 0.0 < v["threshold"] < 1.0:
        return f"threshold must lie strictly between 0 and 1, not {v['threshold']:g}"
    if "unknown_share" in v:  # absent in files made before the "unknown_breed" verdict
        problem = number(-math.inf, 1.0, above=0.0)(v["unknown_share"])
        if problem:
            return f"unknown_share {problem}"
    return None


def _show(v: Any) -> str:
    r = ascii(v)  # ascii(): control characters in a crafted value never reach the terminal raw
    return r if len(r) <= 60 else r[:57] + "..."


METADATA_RULES: list[Rule] = [
    Rule("format", one_of("dogbreed-model")),
    Rule("format_version", integer(1, 1)),
    Rule("name", text(empty=True), required=False),
    Rule("backbone", one_of(*BACKBONES)),
    Rule("backbone_weights", backbone_weights),
    Rule("classes", class_list),
    Rule("class_names", lambda v: class_list(v) if v is not None else None, required=False),
    Rule("preprocessing", mapping),
    Rule("preprocessing.resize", integer(MIN_SIZE, MAX_SIZE)),
    Rule("preprocessing.crop", integer(MIN_SIZE, MAX_SIZE)),
    Rule("preprocessing.mean", numbers(3, number(-10.0, 10.0))),
    Rule("preprocessing.std", numbers(3, number(hi=100.0, above=1e-6))),
    Rule("preprocessing.interpolation", one_of("bicubic", "bilinear"), required=False),
    # Logits are divided by it: 0, negative (ranking reversed), tiny (overflow) or NaN make nonsense.
    Rule("temperature", number(0.01, 100.0), required=False),
    Rule("metrics", mapping, required=False),
    Rule("provenance", mapping, required=False),
    Rule("test_time_mirror", boolean, required=False),  # average each photo with its mirror image
    Rule("gate", gate, required=False),  # absent in older files: the default gate for dog breeds
]


def _lookup(meta: dict, key: str) -> tuple[bool, Any]:
    value: Any = meta
    for part in key.split("."):
        if not isinstance(value, dict) or part not in value:
            return False, None
        value = value[part]
    return True, value


def validate_metadata(meta: Any) -> None:
    """Raise SchemaError naming the first field that breaks its rule."""
    if not isinstance(meta, dict):
        raise SchemaError(f"its metadata must be a JSON object, not {_show(meta)}")
    for rule in METADATA_RULES:
        present, value = _lookup(meta, rule.key)
        if not present:
            if rule.required:
                raise SchemaError(f"its metadata lacks {rule.key!r}")
            continue
        problem = rule.check(value)
        if problem:
            raise SchemaError(f"{rule.key} {problem}")
    spec, weights = BACKBONES[meta["backbone"]], meta["backbone_weights"]
    if weights["source"] == "package" and not spec.offline:
        raise SchemaError(f"backbone_weights: {meta['backbone']} weights do not come from a package")
    if weights["source"] == "torchvision" and weights.get("weights") != spec.torchvision_weights:
        raise SchemaError(f"backbone_weights: {meta['backbone']} uses {spec.torchvision_weights}, "
                          f"not {_show(weights.get('weights'))}")
    prep = meta["preprocessing"]
    if prep["crop"] > prep["resize"]:
        raise SchemaError(f"preprocessing crop ({prep['crop']}) must not exceed resize ({prep['resize']})")


# --- tensors ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TensorRule:
    prefix: str  # tensor names starting with this
    shape: Callable[[dict, str], "tuple[int, ...] | None"]  # the shape it must have, None = any
    required: tuple[str, ...] = ()  # names under this prefix that must be present


def _head_shape(meta: dict, name: str) -> tuple[int, ...]:
    n, dim = len(meta["classes"]), BACKBONES[meta["backbone"]].feature_dim
    return (n, dim) if name == "head.weight" else (n,)


TENSOR_RULES: list[TensorRule] = [
    TensorRule("head.", _head_shape, required=("head.weight", "head.bias")),
    TensorRule("backbone.", lambda meta, name: None),  # keys and shapes checked when loaded into the network
]


def validate_tensors(meta: dict, tensors: dict) -> None:
    """Every tensor float and finite, of a known kind and the shape its metadata implies (numpy arrays)."""
    import numpy as np

    for name, t in tensors.items():
        rule = next((r for r in TENSOR_RULES if name.startswith(r.prefix)), None)
        if rule is None:
            raise SchemaError(f"it holds an unexpected tensor {_show(name)}")
        if not np.issubdtype(t.dtype, np.floating):
            raise SchemaError(f"tensor {name} must hold floating-point numbers, not {t.dtype}")
        want = rule.shape(meta, name)
        if want is not None and tuple(t.shape) != want:
            raise SchemaError(f"tensor {name} has shape {tuple(t.shape)}; {meta['backbone']} with "
                              f"{len(meta['classes'])} classes needs {want}")
        if not bool(np.isfinite(t).all()):
            raise SchemaError(f"tensor {name} holds NaN or infinite values")
    for rule in TENSOR_RULES:
        for name in rule.required:
            if name not in tensors:
                raise SchemaError(f"it lacks the tensor {name}")
    embedded = meta["backbone_weights"]["source"] == "embedded"
    has_backbone = any(n.startswith("backbone.") for n in tensors)
    if embedded and not has_backbone:
        raise SchemaError("it says its backbone weights are embedded, but holds none")
    if has_backbone and not embedded:
        raise SchemaError("it holds backbone weights but says they come from elsewhere")


def validate(meta: Any, tensors: dict) -> None:
    validate_metadata(meta)
    validate_tensors(meta, tensors)
