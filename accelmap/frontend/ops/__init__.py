"""Converter families, one module per family of ONNX ops."""
