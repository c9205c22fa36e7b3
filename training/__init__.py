"""Qt-free retraining: preflight, split, feature cache and the transfer-learning loop."""
