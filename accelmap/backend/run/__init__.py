"""Running an OUTDIR: the executor and its memories, validation against onnxruntime, the deep simulator."""
