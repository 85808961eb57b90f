"""`triage import`: Markdown troubleshooting guides -> runbook YAML and a coverage report."""

from runbooks.importer.guide import (
    NO_SYMPTOMS,
    ImportResult,
    Measurement,
    import_guide,
    measure,
    run_import,
    write_runbooks,
)

__all__ = [
    "NO_SYMPTOMS",
    "ImportResult",
    "Measurement",
    "import_guide",
    "measure",
    "run_import",
    "write_runbooks",
]
