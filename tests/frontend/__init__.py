"""Frontend tests: every converter and some classic blocks, checked against onnxruntime."""
