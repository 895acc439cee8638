"""Declarative workloads a job can ask for; each runs as one rank and returns an Outcome."""

from typing import TYPE_CHECKING

from neurolink.spec import BenchmarkWorkload, InferenceWorkload, TrainWorkload

if TYPE_CHECKING:
    from node.worker.context import Outcome, RankContext


def run_workload(ctx: "RankContext") -> "Outcome":
    """Run the spec's workload as `ctx.rank` of `ctx.world_size`."""
    workload = ctx.spec.workload
    if isinstance(workload, InferenceWorkload):
        from node.worker.workloads.inference import run_inference

        return run_inference(ctx, workload)
    if isinstance(workload, TrainWorkload):
        from node.worker.workloads.train import run_train

        return run_train(ctx, workload)
    assert isinstance(workload, BenchmarkWorkload)
    from node.worker.workloads.benchmark import run_benchmark

    return run_benchmark(ctx, workload)
