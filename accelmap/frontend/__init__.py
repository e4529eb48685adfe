"""ONNX frontend: lowers an ONNX model into an `ir.Graph`."""
from accelmap.frontend.load import load_model, read_model
from accelmap.frontend.registry import supported_ops

__all__ = ["load_model", "read_model", "supported_ops"]
