"""ONNX -> Graph: read, name nodes, settle initializers, fix input shapes, fold constants, infer shapes,
convert, clean up."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, numpy_helper, version_converter

from accelmap.errors import ModelError, ShapeError, UnsupportedOp
from accelmap.frontend.fold import fold_constants
from accelmap.frontend.shapes import graph_values, inferred, static_shape
from accelmap.frontend.lowering import Lowering, OnnxNode
from accelmap.frontend.naming import describe_node, name_unnamed_nodes
from accelmap.frontend.passes import CLEANUPS, rewrite_to_fixpoint
from accelmap.frontend.registry import convert
from accelmap.ir.graph import Graph, TensorInfo

MIN_OPSET = 7
QUANTISED_OPS = {"QuantizeLinear", "DequantizeLinear", "QLinearConv", "QLinearMatMul", "ConvInteger",
                 "MatMulInteger", "DynamicQuantizeLinear", "QLinearAdd", "QLinearMul"}


def read_model(source: str | Path | onnx.ModelProto) -> tuple[onnx.ModelProto, str]:
    """Load an ONNX model (external data resolved beside the file); returns (model, display name)."""
    if isinstance(source, onnx.ModelProto):
        return source, source.graph.name or "model"
    path = Path(source)
    if not path.is_file():
        raise ModelError(f"{path}: no such file")
    try:
        model = onnx.load(str(path), load_external_data=False)
        onnx.external_data_helper.load_external_data_for_model(model, str(path.parent))
    except FileNotFoundError as err:
        raise ModelError(f"{path}: external data file missing ({err.filename}); keep it beside the model") from None
    except Exception as err:  # protobuf raises several unrelated types on corrupt input
        raise ModelError(f"{path}: not a readable ONNX model ({type(err).__name__}: {err}); "
                         f"check the file is complete and is an ONNX ModelProto") from None
    if not model.graph.node:
        raise ModelError(f"{path}: not an ONNX model, or an empty graph (no nodes)")
    return model, str(path)


def model_opset(model: onnx.ModelProto) -> int:
    """The default-domain opset the model imports."""
    for entry in model.opset_import:
        if entry.domain in ("", "ai.onnx"):
            return int(entry.version)
    return 1


def _check_supported(model: onnx.ModelProto, where: str, generated: dict[str, int]) -> None:
    for node in model.graph.node:
        if node.op_type in QUANTISED_OPS:
            ref = describe_node(node.name, node.op_type, tuple(node.output), generated.get(node.name))
            raise UnsupportedOp(f"{where}: {ref} is {node.op_type}: quantised (QDQ) models are not "
                                f"supported yet; export the float model instead")


def _upgrade_old_opset(model: onnx.ModelProto, where: str, generated: dict[str, int]) -> onnx.ModelProto:
    """A model older than MIN_OPSET (early PyTorch and Caffe2 exports are opset 6) through
    onnx.version_converter to MIN_OPSET; node names, generated ones included, survive it."""
    opset = model_opset(model)
    if opset >= MIN_OPSET:
        return model
    for node in model.graph.node:
        if node.domain in ("", "ai.onnx") and not onnx.defs.has(node.op_type):
            ref = describe_node(node.name, node.op_type, tuple(node.output), generated.get(node.name))
            raise UnsupportedOp(f"{where}: opset {opset} is older than the oldest supported ({MIN_OPSET}), and "
                                f"{ref} is {node.op_type}, an experimental op later removed from ONNX, so "
                                f"onnx.version_converter cannot upgrade the model; re-export it with opset "
                                f"{MIN_OPSET} or newer")
    _per_channel_prelu_slopes(model)
    try:
        return version_converter.convert_version(model, MIN_OPSET)
    except Exception as err:  # the converter raises RuntimeError or its own assertion types
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise UnsupportedOp(f"{where}: opset {opset} is older than the oldest supported ({MIN_OPSET}), and "
                            f"onnx.version_converter cannot upgrade it ({first}); re-export the model with "
                            f"opset {MIN_OPSET} or newer") from None


def _per_channel_prelu_slopes(model: onnx.ModelProto) -> None:
    """Before opset 7 a PRelu slope of shape (C,) applied per channel; from 7 it broadcasts numpy-style, so
    (the version converter leaves it) each such slope is given shape (C, 1, ..., 1) as a new initializer."""
    stored = {t.name: t for t in model.graph.initializer}
    shaped = inferred(model)
    ranks = {v.name: len(v.type.tensor_type.shape.dim) for v in list(shaped.graph.input) + list(
        shaped.graph.value_info) if v.type.tensor_type.HasField("shape")}
    for node in model.graph.node:
        if node.op_type != "PRelu" or node.input[1] not in stored or ranks.get(node.input[0], 0) < 3:
            continue
        slope = numpy_helper.to_array(stored[node.input[1]])
        if slope.ndim != 1 or slope.size == 1:
            continue
        name = f"{node.input[1]}/per_channel"
        if name not in stored:
            per_channel = slope.reshape((-1,) + (1,) * (ranks[node.input[0]] - 2))
            stored[name] = numpy_helper.from_array(per_channel, name)
            model.graph.initializer.append(stored[name])
            if any(value.name == node.input[1] for value in model.graph.input):  # IR 3: listed as an input too
                model.graph.input.append(onnx.helper.make_tensor_value_info(name, stored[name].data_type,
                                                                            per_channel.shape))
        node.input[1] = name


def _settle_initializers(model: onnx.ModelProto, initializers_as_inputs: bool) -> None:
    """Before IR 4 every initializer was also listed as a graph input (its default value).

    Normally those are constants: they leave the input list, and the model is
    stamped IR 4 so shape inference reads them as initializers. With
    `initializers_as_inputs` they stay inputs the caller feeds, and their
    stored values are dropped.
    """
    stored = {t.name for t in model.graph.initializer}
    listed = [value for value in model.graph.input if value.name in stored]
    if not listed:
        return
    if initializers_as_inputs:
        overridable = {value.name for value in listed}
        kept = [t for t in model.graph.initializer if t.name not in overridable]
        del model.graph.initializer[:]
        model.graph.initializer.extend(kept)
        return
    inputs = [value for value in model.graph.input if value.name not in stored]
    del model.graph.input[:]
    model.graph.input.extend(inputs)
    model.ir_version = max(model.ir_version, 4)


def _set_input_shapes(model: onnx.ModelProto, overrides: dict[str, tuple[int, ...]], where: str) -> None:
    initializers = {t.name for t in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in initializers]
    names = {i.name for i in inputs}
    for name in overrides:
        if name not in names:
            raise ShapeError(f"{where}: --input-shape names {name!r}, but the model's inputs are "
                             f"{', '.join(sorted(names))}")
    dynamic = []
    for value in inputs:
        _check_input_type(value, where)
        dims = value.type.tensor_type.shape.dim
        if value.name in overrides:
            shape = overrides[value.name]
            del dims[:]
            for d in shape:
                dims.add().dim_value = int(d)
        elif not value.type.tensor_type.HasField("shape") or any(not d.HasField("dim_value") for d in dims):
            dynamic.append(value)
    if dynamic:
        raise ShapeError(f"{where}: {_dynamic_inputs_message(dynamic)}")


def _dynamic_inputs_message(values: list) -> str:
    """What to give for the inputs without a static shape: each one's shape as declared, and the
    --input-shape options to add, the fixed dims as they are and a placeholder (N1, N2, ...) for each
    other one, one placeholder per symbolic name ("input_ids=1xN1 ... N1: your size for 's70'")."""
    shown, options, placeholders, meaning = [], [], {}, []
    for value in values:
        dims = value.type.tensor_type.shape.dim
        if not dims:
            shown.append(f"{value.name!r} [unknown rank]")
            options.append(f"--input-shape {value.name}=1x3x224x224 (its rank is unknown: your sizes)")
            continue
        shown.append(f"{value.name!r} [" + "x".join(d.dim_param or (str(d.dim_value) if d.HasField("dim_value")
                                                                     else "?") for d in dims) + "]")
        parts = []
        for k, d in enumerate(dims):
            if d.HasField("dim_value"):
                parts.append(str(d.dim_value))
                continue
            key = d.dim_param or (value.name, k)
            if key not in placeholders:
                placeholders[key] = f"N{len(placeholders) + 1}"
                meaning.append(f"{placeholders[key]}: your size for " + (f"{d.dim_param!r}" if d.dim_param else
                                                                         f"dim {k} of {value.name!r}"))
            parts.append(placeholders[key])
        options.append(f"--input-shape {value.name}=" + "x".join(parts))
    what = "input " + shown[0] + " has a dynamic shape" if len(shown) == 1 else \
        "inputs " + ", ".join(shown) + " have dynamic shapes"
    return f"{what}; give {'it' if len(shown) == 1 else 'them'} with {' '.join(options)}" + \
        (f" ({'; '.join(meaning)})" if meaning else "")


def _forget_symbolic_shapes(model: onnx.ModelProto) -> None:
    """Drop the exporter's symbolic intermediate and output shapes ([1, s53, 32]) once the inputs are static.

    Shape inference merges what it infers with what the file declares, so a
    stale symbolic dim would survive; the static shapes are inferred afresh.
    """
    static = [value for value in model.graph.value_info if static_shape(value) is not None]
    del model.graph.value_info[:]
    model.graph.value_info.extend(static)
    for value in model.graph.output:
        if value.type.HasField("tensor_type") and static_shape(value) is None:
            value.type.tensor_type.ClearField("shape")


def _check_input_type(value: onnx.ValueInfoProto, where: str) -> None:
    """A graph input must hold numbers or booleans (strings, complex numbers and the like map to nothing)."""
    elem = value.type.tensor_type.elem_type
    if elem and np.dtype(onnx.helper.tensor_dtype_to_np_dtype(elem)).kind not in "biuf":
        raise ModelError(f"{where}: input {value.name!r} is a tensor of {TensorProto.DataType.Name(elem).lower()}; "
                         "accelmap maps tensors of numbers")


def _tensor_table(model: onnx.ModelProto) -> dict[str, TensorInfo]:
    table: dict[str, TensorInfo] = {}
    for value in graph_values(model):
        shape = static_shape(value)
        if shape is None:
            continue
        elem_type = value.type.tensor_type.elem_type
        dtype = onnx.helper.tensor_dtype_to_np_dtype(elem_type) if elem_type else np.float32
        table[value.name] = TensorInfo(value.name, shape, np.dtype(dtype).name)
    return table


def load_model(source: str | Path | onnx.ModelProto, input_shapes: dict[str, tuple[int, ...]] | None = None,
               initializers_as_inputs: bool = False) -> Graph:
    """Lower an ONNX model (a path or a ModelProto) into a verified Graph.

    Initializers that the file also lists as graph inputs (the IR 3
    convention) are constants unless `initializers_as_inputs`.
    """
    model, where = read_model(source)
    if model is source:                  # the caller's own: lowering edits the model (names, opset, initializers)
        model = _copy(model)
    generated = name_unnamed_nodes(model.graph)
    _check_supported(model, where, generated)
    model = _upgrade_old_opset(model, where, generated)
    opset = model_opset(model)
    _settle_initializers(model, initializers_as_inputs)
    _set_input_shapes(model, dict(input_shapes or {}), where)
    _forget_symbolic_shapes(model)
    constants = {t.name: _initializer(t, where) for t in model.graph.initializer}
    try:
        model = fold_constants(model, constants)
        shaped = inferred(model)
    except (onnx.onnx_cpp2py_export.shape_inference.InferenceError, ValueError) as err:
        raise ModelError(f"{where}: shape inference failed: {err}") from None
    tensors = {name: info for name, info in _tensor_table(shaped).items() if name not in constants}
    ctx = Lowering(tensors, constants, opset)
    for proto in model.graph.node:
        node = OnnxNode.from_proto(proto, generated)
        if all(out in constants for out in node.outputs):
            continue
        ctx.current = node
        try:
            convert(node, ctx)
        except (UnsupportedOp, ShapeError) as err:
            raise type(err)(f"{where}: {err}") from None
    initializers = set(constants)
    graph_inputs = [i.name for i in model.graph.input if i.name not in initializers]
    outputs = [o.name for o in model.graph.output]
    graph = Graph(model.graph.name or Path(where).stem, ctx.nodes, ctx.tensors, ctx.constants,
                  graph_inputs, [ctx.resolve(o) for o in outputs], opset)
    try:
        graph.verify()
    except ValueError as err:  # a graph ONNX does not reject, e.g. an output no node produces
        raise ModelError(f"{where}: malformed graph: {err}") from None
    graph = rewrite_to_fixpoint(graph, CLEANUPS)
    _restore_output_names(graph, outputs)
    return graph.verify()


def _copy(model: onnx.ModelProto) -> onnx.ModelProto:
    """A deep copy of a ModelProto."""
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    return copy


def _initializer(tensor: onnx.TensorProto, where: str) -> np.ndarray:
    """An initializer's array; a ModelError when its data does not match its declared shape and type."""
    try:
        return numpy_helper.to_array(tensor)
    except (ValueError, TypeError) as err:
        raise ModelError(f"{where}: initializer {tensor.name!r} is corrupt ({err}); re-export the model") from None


def _restore_output_names(graph: Graph, outputs: list[str]) -> None:
    """Graph outputs keep their ONNX names even when an alias or fusion renamed them."""
    from accelmap.ir.graph import Node

    for i, (original, current) in enumerate(zip(outputs, list(graph.outputs))):
        if original == current:
            continue
        graph.tensors[original] = TensorInfo(original, graph.tensors[current].shape, graph.tensors[current].dtype) \
            if current in graph.tensors else TensorInfo(original, tuple(graph.constants[current].shape),
                                                        str(graph.constants[current].dtype))
        graph.nodes.append(Node(f"{original}/Identity", "Identity", (current,), (original,), {}))
        graph.outputs[i] = original
