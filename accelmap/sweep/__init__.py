"""Design-space sweeps: a base arch, axes to vary, models and objectives; every (design, unique workload,
objective) a task on Dask (an embedded LocalCluster, or a scheduler's cluster); a results table with
Pareto fronts, sweep.html, and the Pareto designs as arch YAMLs.

    load_spec(SPEC.yaml) -> SweepSpec             # every field checked; SweepSpecError names each problem
    run_sweep(spec, graphs, out_dir) -> SweepResult
"""
from accelmap.sweep.driver import SweepResult, run_sweep
from accelmap.sweep.run import SweepInterrupted, SweepProgress
from accelmap.sweep.spec import SweepSpec, load_spec
from accelmap.sweep.table import SweepRow

__all__ = ["SweepInterrupted", "SweepProgress", "SweepResult", "SweepRow", "SweepSpec", "load_spec", "run_sweep"]
