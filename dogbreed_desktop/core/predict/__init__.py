"""Photos in, verdicts out: decoding and preprocessing, the classifier, the gate and heatmaps."""
