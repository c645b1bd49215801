"""What every package of borderwatch may import: the foundation under detectors/, alerts/ and streams/.

It imports nothing of ours, so it sits below every import edge (docs/ARCHITECTURE.md).
"""
