"""Self-training of deep anomaly detectors without labels (installed as ``hadinfer.training``).

Not built yet: see the self-training issue. Nothing here is imported by the runtime.
"""
