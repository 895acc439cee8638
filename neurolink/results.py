"""What a result file carries besides its data: the verified metrics under one safetensors metadata key."""

# The workload's deterministic figures (training loss per epoch, rows inferred) ride in the result's
# safetensors metadata, so they are part of the digest the providers agree on: a requester can trust
# them as much as the weights. Timings differ per provider and never go in.
METRICS_KEY = "neurolink.metrics"
