"""A model as one ONNX file other runtimes can use."""
