"""Photos in, verdicts out: preprocessing, the classifier and its one loader, the gate and heatmaps."""
