"""The IR: workloads as loop nests, the graph, and the reference interpreter."""
from accelmap.ir.graph import Graph, Node, PostOp, TensorInfo
from accelmap.ir.interpreter import run_graph, run_layer
from accelmap.ir.layout import ConvLayout, MatmulLayout, matmul_layout
from accelmap.ir.workload import DIMS, TENSORS, Affine, Workload, make_workload

__all__ = ["DIMS", "TENSORS", "Affine", "ConvLayout", "Graph", "MatmulLayout", "Node", "PostOp", "TensorInfo",
           "Workload", "make_workload", "matmul_layout", "run_graph", "run_layer"]
