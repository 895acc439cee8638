"""A requester's metrics.json: verified figures, the chain's timeline, throughput floors from it."""

from coordinator.jobmetrics import SlotTimes, Timeline, assemble

BENCH = {"kind": "benchmark", "flop_per_rank": 4 * 10**12, "sha256": ["aa", "bb"]}


def test_a_benchmark_gets_a_rate_floor_per_provider_from_its_claim_to_commit_time() -> None:
    slots = (SlotTimes("0xA", 100, 104), SlotTimes("0xB", 100, 100), SlotTimes("0xC", 101, None))
    metrics = assemble(7, {"file": "job-7-result.json"}, BENCH, Timeline(99, 110, slots))
    assert metrics["submit_to_settled_s"] == 11
    by = {p["address"]: p for p in metrics["providers"]}
    assert by["0xA"]["claim_to_commit_s"] == 4 and by["0xA"]["tflops_at_least"] == 2.0  # 8e12 flop / 4 s
    assert by["0xB"]["tflops_at_least"] == 8.0, "a gap under a block's second counts as one second"
    assert "committed_at" not in by["0xC"] and "tflops_at_least" not in by["0xC"]


def test_a_result_that_counts_no_work_gets_no_rate_and_no_logs_means_no_timeline() -> None:
    loss = {"final_loss": 0.5, "steps": 4}
    timed = assemble(3, {}, loss, Timeline(1, 2, (SlotTimes("0xA", 1, 2),)))
    assert "tflops_at_least" not in timed["providers"][0] and timed["verified"] == loss
    assert assemble(3, {"cid": "bafy"}, loss, None) == {
        "job_id": 3,
        "result": {"cid": "bafy"},
        "verified": loss,
    }
