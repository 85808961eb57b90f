"""`triage import`: Markdown troubleshooting guides -> runbook YAML and a coverage report."""

from runbooks.importer.guide import (
    ImportResult,
    Measurement,
    import_guide,
    measure,
    run_import,
    write_runbooks,
)

__all__ = ["ImportResult", "Measurement", "import_guide", "measure", "run_import", "write_runbooks"]
