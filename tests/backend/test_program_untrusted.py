"""An OUTDIR is untrusted input: corrupted loop programs, costs and weights are refused naming the layer and
the field, with exit 2 (1 for a numeric mismatch), never a traceback and never a PASS on wrong data."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from accelmap.backend import load_schedule
from accelmap.backend.run.executor import run_mapped
from accelmap.backend.run.program import check_program, load_program_doc
from accelmap.backend.run.runner import LayerRun
from accelmap.cli import main
from accelmap.errors import CheckFailed, ScheduleError

LAYER, FILE = "block/conv", "layers/001_block_conv.program.json"


def copy(outdir: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(outdir, tmp_path / "out"))


def edit(path: Path, change) -> None:
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc))


@pytest.fixture(scope="module")
def pristine(cnn_outdir: Path):
    """The schedule, the plan of LAYER and its program document, read from the pristine OUTDIR."""
    schedule = load_schedule(cnn_outdir)
    plan = schedule.layer(LAYER)
    return schedule, plan, load_program_doc(cnn_outdir, plan)


def reader_error(pristine, change) -> str:
    """The reader's (not the loader's) message for a program changed by `change`."""
    schedule, plan, doc = pristine
    doc = json.loads(json.dumps(doc))
    change(doc)
    with pytest.raises(ScheduleError) as err:
        check_program(doc, plan, schedule.arch)
    return str(err.value)


def w_fill(doc: dict) -> dict:
    return next(t for t in doc["transfers"] if t["id"] == "W.fill")


# -- the executor's reader, independent of the writer ------------------------------------------------

def test_reader_rejects_an_uncovered_dim(pristine):
    def shrink(doc):
        doc["loops"][0]["factor"] += 1
    assert f"layer '{LAYER}': {FILE}: loops" in reader_error(pristine, shrink)


def test_reader_rejects_a_wrong_base(pristine):
    def move(doc):
        w_fill(doc)["dst"]["addresses"][0] += 1
    message = reader_error(pristine, move)
    assert f"{FILE}: transfers[0].dst.addresses" in message and "a wrong base" in message


def test_reader_rejects_a_tile_that_is_not_the_planned_one(pristine):
    def grow(doc):
        w_fill(doc)["extent"][1] += 1
    assert "transfers[0].extent" in reader_error(pristine, grow)


def test_reader_rejects_a_descriptor_outside_its_buffer(pristine):
    def shrink(doc):
        fill = w_fill(doc)
        fill["dst"]["capacity_bits"] = fill["dst"]["word_bits"]
    assert "transfers[0].dst.capacity_bits" in reader_error(pristine, shrink)


def test_reader_rejects_a_descriptor_outside_its_tensor(pristine):
    def shift(doc):
        w_fill(doc)["origin"][2]["offset"] = 50
    assert "transfers[0].origin[2].offset" in reader_error(pristine, shift)


def test_reader_rejects_another_layers_program(pristine):
    def rename(doc):
        doc["layer"] = "stem/conv"
    assert "belongs to layer 'stem/conv'" in reader_error(pristine, rename)


def test_reader_rejects_a_depth_that_is_no_loop(pristine):
    def bad(doc):
        w_fill(doc)["depth"] = "zz9"
    assert "transfers[0].depth" in reader_error(pristine, bad)


def test_runner_rejects_tiles_fetched_too_rarely(cnn_outdir: Path, tmp_path: Path):
    """A fill that fires once where the mapping refills: the compute finds its operand not resident."""
    schedule = load_schedule(cnn_outdir)
    for plan in schedule.layers:
        doc = json.loads(json.dumps(load_program_doc(cnn_outdir, plan)))
        changed = [t for t in doc["transfers"] if t["kind"] == "fill" and t["depth"] is not None
                   and t["window"] is None]
        if not changed:
            continue
        changed[0]["depth"] = None
        program = check_program(doc, plan, schedule.arch)
        dram = {t: np.ones(program.shapes[t], np.float32) for t in "WIO"}
        with pytest.raises(ScheduleError, match=rf"layer '{plan.name}': loop program: \w.fill: the compute reads "
                                                r"\w outside the resident tile .* not resident"):
            LayerRun(program, dram).run()
        return
    pytest.skip("no layer refills a tile (random mappings)")  # pragma: no cover


def _run_changed(cnn_outdir: Path, change, layer: str = LAYER) -> None:
    schedule = load_schedule(cnn_outdir)
    plan = schedule.layer(layer)
    doc = json.loads(json.dumps(load_program_doc(cnn_outdir, plan)))
    change(doc)
    program = check_program(doc, plan, schedule.arch)
    LayerRun(program, {t: np.ones(program.shapes[t], np.float32) for t in "WIO"}).run()


def test_runner_rejects_a_first_write_rule_that_is_wrong(cnn_outdir: Path):
    """Drains that call every residency a first write hit O words written before."""
    def no_revisit(doc):
        for t in doc["transfers"][2:]:
            t["psum"]["revisit"] = []
    schedule = load_schedule(cnn_outdir)
    revisiting = [p.name for p in schedule.layers if load_program_doc(cnn_outdir, p)["transfers"][3]["psum"]["revisit"]]
    if not revisiting:
        pytest.skip("no layer revisits its output tiles in these random mappings")  # pragma: no cover
    for layer in revisiting:
        with pytest.raises(ScheduleError, match=rf"layer '{layer}': loop program: O.drain: O tile \d+ gets \d+ first "
                                                r"writes, it needs exactly one"):
            _run_changed(cnn_outdir, no_revisit, layer)


def test_runner_rejects_a_window_that_slides_by_the_wrong_rows(cnn_outdir: Path):
    schedule = load_schedule(cnn_outdir)
    windowed = [p.name for p in schedule.layers if load_program_doc(cnn_outdir, p)["transfers"][1]["window"]]
    if not windowed:
        pytest.skip("no sliding window in these random mappings")  # pragma: no cover

    def wrong(doc):
        doc["transfers"][1]["window"]["rows"] += 1
    with pytest.raises(ScheduleError, match=r"I.fill: the window moves the tile by .* its steady state brings"):
        _run_changed(cnn_outdir, wrong, windowed[0])


def test_validate_fails_on_a_count_that_differs(cnn_outdir: Path, monkeypatch, capsys):
    """validate holds the executor's counts against schedule.json: one word more is exit 1."""
    original = LayerRun._fills

    def one_more(self, tr):
        original(self, tr)
        if tr.tensor == "W":
            self.reads["W"] += 1
    monkeypatch.setattr(LayerRun, "_fills", one_more)
    assert main(["validate", str(cnn_outdir)]) == 1
    out = capsys.readouterr().out
    assert "count(s) differ from schedule.json's prediction FAIL" in out
    assert "layer 'stem/conv': W DRAM reads: executed" in out and out.rstrip().endswith("FAIL")


def test_validate_reports_counts_checked(cnn_outdir: Path, capsys):
    assert main(["validate", str(cnn_outdir)]) == 0
    out = capsys.readouterr().out
    assert "words moved, 3 layers, per tensor at DRAM and at its keeper: every count equals schedule.json's " \
           "prediction PASS" in out


# -- the loader: the program must be the one the recorded mapping implies ---------------------------

def test_loader_names_the_first_field_that_differs(cnn_outdir: Path, tmp_path: Path):
    out = copy(cnn_outdir, tmp_path)
    edit(out / FILE, lambda doc: doc["loops"].reverse())
    with pytest.raises(ScheduleError, match=rf"layer '{LAYER}': {FILE}: loops\[0\]\.\w+ is .*; the recorded "
                                            "mapping and buffer plan give"):
        load_schedule(out)


def test_loader_rejects_an_unknown_field(cnn_outdir: Path, tmp_path: Path):
    out = copy(cnn_outdir, tmp_path)
    edit(out / FILE, lambda doc: doc["transfers"][1].update(burst=4))
    with pytest.raises(ScheduleError, match=rf"{FILE}: transfers\[1\]\.burst is 4; .* give \"\(absent\)\""):
        load_schedule(out)


def test_loader_rejects_swapped_program_files(cnn_outdir: Path, tmp_path: Path):
    out = copy(cnn_outdir, tmp_path)

    def swap(doc):
        a, b = doc["layers"][0]["files"], doc["layers"][1]["files"]
        a["program"], b["program"] = b["program"], a["program"]
    edit(out / "schedule.json", swap)
    with pytest.raises(ScheduleError, match=r"layer 'stem/conv': layers/001_block_conv.program.json: layer: the "
                                            r"program belongs to layer 'block/conv' \(swapped files\?\)"):
        load_schedule(out)


def test_edited_energy_is_a_numeric_mismatch(cnn_outdir: Path, tmp_path: Path, capsys):
    out = copy(cnn_outdir, tmp_path)
    edit(out / "schedule.json", lambda doc: doc["layers"][1]["cost"].update(energy=2 * doc["layers"][1]["cost"]["energy"]))
    with pytest.raises(CheckFailed, match=rf"layer '{LAYER}': schedule.json: cost.energy is \d+, the cost model "
                                          r"gives \d+ for the recorded mapping"):
        load_schedule(out)
    for command in (["explain", str(out)], ["explain", str(out), "--layer", LAYER], ["validate", str(out)]):
        assert main(command) == 1
        captured = capsys.readouterr()
        assert captured.err.startswith("error: layer 'block/conv': schedule.json: cost.energy is ")
        assert "Traceback" not in captured.err and "PASS" not in captured.out


def test_edited_traffic_is_a_numeric_mismatch(cnn_outdir: Path, tmp_path: Path):
    out = copy(cnn_outdir, tmp_path)
    edit(out / "schedule.json", lambda doc: doc["layers"][0]["cost"]["traffic"][0]["W"].update(reads=1))
    with pytest.raises(CheckFailed, match=r"layer 'stem/conv': schedule.json: cost.traffic\[0\].W.reads is 1"):
        load_schedule(out)


def test_truncated_weights_are_refused(cnn_outdir: Path, tmp_path: Path, capsys):
    out = copy(cnn_outdir, tmp_path)
    data = (out / "weights.npz").read_bytes()
    (out / "weights.npz").write_bytes(data[:len(data) // 2])
    assert main(["validate", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {out / 'weights.npz'}: not a readable .npz file") and "Traceback" not in err


@pytest.mark.parametrize("change", ["addresses", "factor", "layer", "unknown", "garbage"])
def test_cli_refuses_a_corrupted_program_with_exit_2(cnn_outdir: Path, tmp_path: Path, capsys, change):
    out = copy(cnn_outdir, tmp_path)
    path = out / FILE
    if change == "garbage":
        path.write_text(path.read_text()[:100])
    else:
        edit(path, {"addresses": lambda d: w_fill(d)["dst"]["addresses"].append(7),
                    "factor": lambda d: d["loops"][-1].update(factor=d["loops"][-1]["factor"] + 1),
                    "layer": lambda d: d.update(layer="head/fc"),
                    "unknown": lambda d: d.update(note="hand-edited")}[change])
    for command in (["validate", str(out)], ["stream", str(out), "--layer", LAYER, "--limit", "3"]):
        assert main(command) == 2, change
        captured = capsys.readouterr()
        assert captured.err.startswith(f"error: layer '{LAYER}': {FILE}: "), captured.err
        assert len(captured.err.strip().splitlines()) == 1 and "PASS" not in captured.out


def test_stream_command_prints_the_expanded_records(cnn_outdir: Path, capsys):
    assert main(["stream", str(cnn_outdir), "--layer", LAYER, "--limit", "5"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(records) == 5 and records[0]["op"] == "LAYER" and records[0]["layer"] == LAYER
    assert main(["stream", str(cnn_outdir), "--layer", "nope"]) == 2
    assert "no mapped layer 'nope'" in capsys.readouterr().err


def test_run_mapped_refuses_a_program_with_other_zero_padding(cnn_outdir: Path, pristine, tmp_path: Path):
    out = copy(cnn_outdir, tmp_path)
    path = out / "layers" / "000_stem_conv.program.json"
    edit(path, lambda doc: doc["zero_padding"].update(top=0))
    schedule = pristine[0]
    plan = schedule.layer("stem/conv")
    node = schedule.graph.node("stem/conv")
    x = np.zeros((1, 3, 9, 9), np.float32)
    with pytest.raises(ScheduleError, match=r"layer 'stem/conv': .*zero_padding: \[0, 1, 1, 1\], the layer's node "
                                            r"pads its input by \[1, 1, 1, 1\]"):
        run_mapped(out, schedule, plan, node, x, schedule.graph.constants[node.inputs[1]])
