"""A small helper that writes an ONNX graph op by op, with exporter-style names and seeded weights.

Node names follow the PyTorch exporter (`/layer1/0/conv1/Conv`, output
`/layer1/0/conv1/Conv_output_0`); parameter names follow PyTorch's
`state_dict` (`layer1.0.conv1.weight`). Every weight comes from one
`numpy.random.Generator` with a fixed seed, drawn in construction order, so a
network serialises to the same bytes on every build.
"""
from __future__ import annotations

import math

import numpy as np
import onnx
from onnx import helper, numpy_helper

OPSET = 17
IR_VERSION = 8  # the lowest IR that carries opset 17, so older onnxruntime releases load the file too


class GraphBuilder:
    """Collects the nodes and initializers of one network, then packs them into a model."""

    def __init__(self, name: str, seed: int = 0) -> None:
        self.name = name
        self.rng = np.random.default_rng(seed)
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: dict[str, onnx.TensorProto] = {}
        self._node_names: set[str] = set()

    # --- tensors -------------------------------------------------------------

    def initializer(self, name: str, values: np.ndarray) -> str:
        """Add a weight tensor under a name that must be new; return the name."""
        if name in self.initializers:
            raise ValueError(f"{self.name}: initializer {name!r} added twice")
        self.initializers[name] = numpy_helper.from_array(values, name)
        return name

    def constant(self, name: str, values: np.ndarray) -> str:
        """Add a constant shared by many nodes (shapes, clip bounds) once; return its name."""
        if name not in self.initializers:
            self.initializer(name, values)
        return name

    def random(self, name: str, shape: tuple[int, ...], std: float, mean: float = 0.0) -> str:
        """Add a float32 weight drawn uniformly with the given mean and standard deviation."""
        values = self.rng.random(shape, dtype=np.float32)
        values -= np.float32(0.5)
        values *= np.float32(std * math.sqrt(12.0))  # U(-a, a) has std a / sqrt(3)
        values += np.float32(mean)
        return self.initializer(name, values)

    # --- nodes ---------------------------------------------------------------

    def op(self, op_type: str, inputs: list[str], scope: str, **attrs: object) -> str:
        """Append a node named `{scope}/{op_type}` (`_1`, `_2`... on repeats); return its output."""
        name = f"{scope}/{op_type}"
        repeat = 0
        while name in self._node_names:
            repeat += 1
            name = f"{scope}/{op_type}_{repeat}"
        self._node_names.add(name)
        output = f"{name}_output_0"
        self.nodes.append(helper.make_node(op_type, inputs, [output], name=name, **attrs))
        return output

    def conv(self, x: str, scope: str, c_in: int, c_out: int, kernel: int, stride: int = 1,
             group: int = 1, bias: bool = False) -> str:
        """Square 'same'-padded convolution with He-scaled weights [c_out, c_in/group, k, k]."""
        fan_in = c_in // group * kernel * kernel
        inputs = [x, self.random(f"{_param(scope)}.weight", (c_out, c_in // group, kernel, kernel),
                                 std=math.sqrt(2.0 / fan_in))]
        if bias:
            inputs.append(self.random(f"{_param(scope)}.bias", (c_out,), std=0.1))
        pad = kernel // 2
        return self.op("Conv", inputs, scope, dilations=[1, 1], group=group,
                       kernel_shape=[kernel, kernel], pads=[pad] * 4, strides=[stride, stride])

    def batch_norm(self, x: str, scope: str, channels: int, gamma: float = 1.0) -> str:
        """Inference BatchNormalization with random scale near `gamma` and running stats near (0, 1)."""
        prefix = _param(scope)
        inputs = [x,
                  self.random(f"{prefix}.weight", (channels,), std=0.1 * gamma, mean=gamma),
                  self.random(f"{prefix}.bias", (channels,), std=0.1),
                  self.random(f"{prefix}.running_mean", (channels,), std=0.1),
                  self.random(f"{prefix}.running_var", (channels,), std=0.1, mean=1.0)]
        return self.op("BatchNormalization", inputs, scope, epsilon=1e-5)

    def gemm(self, x: str, scope: str, c_in: int, c_out: int) -> str:
        """Fully connected layer as Gemm with a PyTorch-layout weight [c_out, c_in] (transB=1)."""
        prefix = _param(scope)
        weight = self.random(f"{prefix}.weight", (c_out, c_in), std=math.sqrt(2.0 / c_in))
        bias = self.random(f"{prefix}.bias", (c_out,), std=0.1)
        return self.op("Gemm", [x, weight, bias], scope, alpha=1.0, beta=1.0, transB=1)

    def linear(self, x: str, scope: str, c_in: int, c_out: int) -> str:
        """Fully connected layer as transformers export it: MatMul by a weight [c_in, c_out], Add a bias."""
        prefix = _param(scope)
        weight = self.random(f"{prefix}.weight", (c_in, c_out), std=math.sqrt(1.0 / c_in))
        bias = self.random(f"{prefix}.bias", (c_out,), std=0.1)
        return self.op("Add", [self.op("MatMul", [x, weight], scope), bias], scope)

    def layer_norm(self, x: str, scope: str, size: int) -> str:
        """LayerNormalization (opset 17) over the last axis."""
        prefix = _param(scope)
        scale = self.random(f"{prefix}.weight", (size,), std=0.1, mean=1.0)
        bias = self.random(f"{prefix}.bias", (size,), std=0.1)
        return self.op("LayerNormalization", [x, scale, bias], scope, axis=-1, epsilon=1e-12)

    # --- model ---------------------------------------------------------------

    def model(self, inputs: list[onnx.ValueInfoProto], result: str,
              output: onnx.ValueInfoProto) -> onnx.ModelProto:
        """Pack the graph; the node producing `result` is renamed to write the graph output."""
        if any(result in node.input for node in self.nodes):
            raise ValueError(f"{self.name}: the graph output {result!r} also feeds other nodes")
        producer = next(node for node in self.nodes if result in node.output)
        producer.output[:] = [output.name if name == result else name for name in producer.output]
        model = helper.make_model(helper.make_graph(self.nodes, self.name, inputs, [output]),
                                  opset_imports=[helper.make_opsetid("", OPSET)],
                                  ir_version=IR_VERSION, producer_name="accelmap.zoo")
        model.graph.initializer.extend(self.initializers.values())  # added last: copied once, not twice
        return model


def tensor(name: str, elem_type: int, shape: list[int]) -> onnx.ValueInfoProto:
    """A graph input or output declaration with a static shape."""
    return helper.make_tensor_value_info(name, elem_type, shape)


def _param(scope: str) -> str:
    """PyTorch parameter prefix of a node scope: `/layer1/0/conv1` -> `layer1.0.conv1`."""
    return scope.strip("/").replace("/", ".")
