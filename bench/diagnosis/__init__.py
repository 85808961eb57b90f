"""The diagnosis benchmark: faults nobody wrote a test for, told in the operator's words.

Each scenario (bench/diagnosis/scenarios/) breaks one thing in a live shop that also holds
healthy services and problems of its own, gives triage only what an operator would (the
symptom, the inventory; no `--param`), and checks whether the first cause triage names is the
root cause a reviewer expects. See world.py (the shop), scenario.py (asking, scoring), run.py.
"""
