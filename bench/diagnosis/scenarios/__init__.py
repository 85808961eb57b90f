"""One module per scenario: `make(env)` breaks something, `SCENARIO` says what the operator sees.

Rules, to keep them honest: the symptom is what an on-call engineer types or pastes (a log line
or exception, a vague report, a question naming the thing, an alert title), written before
looking at what triage answers, and never a runbook's own symptom text (run.py refuses those);
no parameters; the expected answer is the root cause (for an application failing because a
dependency is down, full or refusing, the dependency).
"""
