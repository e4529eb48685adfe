"""accelmap: provably optimal mapping of ONNX networks onto DNN accelerators."""
__version__ = "0.1.0"
