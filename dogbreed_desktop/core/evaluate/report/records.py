"""What one evaluation produced, per photo: enough to rebuild every metric, table and figure, and small enough
to cache as JSON (no probability matrix: the true class's probability, the top five and the confidence)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

FORMAT_VERSION = 1


@dataclass(frozen=True)
class PhotoRecord:
    path: str
    label: str  # as the data names it
    true: int  # model class index of the label
    top: tuple[int, ...]  # best five class indices, best first
    top_p: tuple[float, ...]  # their probabilities
    p_true: float  # probability given to the true class
    verdict: str | None = None  # "breed" | "unsure" | "not_a_dog", when the model can say so
    dog_probability: float | None = None

    @property
    def predicted(self) -> int:
        return self.top[0]

    @property
    def confidence(self) -> float:
        return self.top_p[0]

    @property
    def correct(self) -> bool:
        return self.top[0] == self.true


@dataclass
class Evaluation:
    model: str  # the model's name
    model_path: str
    data: str  # a description of the photos: folder, or "validation split of RUN"
    classes: list[str]
    class_names: list[str]
    temperature: float
    records: list[PhotoRecord] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)  # {"path", "error"}: unreadable photos
    unknown_labels: list[str] = field(default_factory=list)  # labels the model has no class for
    seconds: float = 0.0
    complete: bool = True  # False when it was stopped before the last photo

    def to_dict(self) -> dict:
        out = asdict(self)
        out["format_version"] = FORMAT_VERSION
        out["records"] = [
            [r.path, r.label, r.true, list(r.top), list(r.top_p), r.p_true, r.verdict, r.dog_probability]
            for r in self.records
        ]
        return out

    @classmethod
    def from_dict(cls, d: dict) -> "Evaluation":
        if d.get("format_version") != FORMAT_VERSION:
            raise ValueError("unknown evaluation format")
        records = [PhotoRecord(str(p), str(lab), int(t), tuple(map(int, top)), tuple(map(float, tp)), float(pt),
                               v, None if dp is None else float(dp))
                   for p, lab, t, top, tp, pt, v, dp in d["records"]]
        return cls(
            model=str(d["model"]), model_path=str(d["model_path"]), data=str(d["data"]),
            classes=list(d["classes"]), class_names=list(d["class_names"]), temperature=float(d["temperature"]),
            records=records, errors=list(d.get("errors", [])), unknown_labels=list(d.get("unknown_labels", [])),
            seconds=float(d.get("seconds", 0.0)), complete=bool(d.get("complete", True)),
        )
