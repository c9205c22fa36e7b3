"""The inference engines (ONNX Runtime, and torch on GPUs) and the backbone graphs they run."""
