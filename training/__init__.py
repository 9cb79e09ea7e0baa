"""Self-training of deep anomaly detectors without labels (installed as ``hadinfer.training``).

``hadinfer train`` and the ``adapt`` detector use it.  The runtime never imports this
package directly: ``adapt`` reaches the detector registry through the
``hadinfer.detectors`` entry point (:mod:`.detector_entry`).
"""
