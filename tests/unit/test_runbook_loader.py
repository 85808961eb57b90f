"""The runbook loader: the built-in library and the base runbook load, and a library of files
reports every error of every file.
"""

from __future__ import annotations

from pathlib import Path

from runbooks.loader import LIBRARY, load_library, load_runbook
from tests.unit.runbook_loader_helpers import BASE, edited, write

# ---------------------------------------------------------------------------------------------
# The built-in library and the base runbook


def test_the_built_in_library_loads_without_errors() -> None:
    library = load_library()
    assert [str(error) for error in library.errors] == []
    assert "redis-out-of-memory" in library.runbooks
    assert library.paths["redis-out-of-memory"] == LIBRARY / "redis-out-of-memory.yaml"
    runbook = library.runbooks["redis-out-of-memory"]
    assert [step.id for step in runbook.checks] == ["memory", "keys", "persistence"]
    assert [cause.id for cause in runbook.causes] == [
        "maxmemory-noeviction",
        "keys-without-ttl",
        "bgsave-failing",
    ]
    assert runbook.verify == ["memory"]


def test_the_base_runbook_is_valid_and_keeps_yaml_1_2_booleans(tmp_path: Path) -> None:
    runbook = load_runbook(write(tmp_path, BASE))
    assert runbook.id == "redis-oom"
    # `on:` is a key here, not the YAML 1.1 boolean True.
    assert [step.on for step in runbook.checks] == ["cache", "cache"]
    assert runbook.checks[1].with_ == {"pattern": "$pattern", "expect_ttl": True}
    assert [fix.kind for fix in runbook.causes[0].fixes] == ["action", "run"]
    assert runbook.params["pattern"].required is False


# ---------------------------------------------------------------------------------------------
# The library: every file, every error


def test_one_broken_file_never_hides_the_others(tmp_path: Path) -> None:
    bad_yaml = write(tmp_path, "id: a\ntitle: [oops\n", "a-broken.yaml")
    bad_check = write(
        tmp_path,
        edited(("id: redis-oom", "id: other"), ("use: redis.memory", "use: redis.memroy")),
        "b-broken.yml",
    )
    write(tmp_path, BASE, "c-good.yaml")
    (tmp_path / "notes.txt").write_text("not a runbook")

    library = load_library([tmp_path])

    assert [str(error) for error in library.errors] == [
        f"{bad_yaml}:3:1: invalid YAML: did not find expected ',' or ']'",
        f"{bad_check}:9:10: unknown check 'redis.memroy'; did you mean redis.memory or "
        "redis.keys or redis.latency?",
    ]
    assert list(library.runbooks) == ["redis-oom"]
    assert library.paths == {"redis-oom": tmp_path / "c-good.yaml"}


def test_a_runbook_id_used_by_two_files_is_reported_at_the_second_id(tmp_path: Path) -> None:
    first = write(tmp_path, BASE, "a.yaml")
    second = write(tmp_path, "# the same runbook, copied\n" + BASE, "b.yaml")

    library = load_library([tmp_path])

    assert [str(error) for error in library.errors] == [
        f"{second}:2:5: id 'redis-oom' is already used by {first}"
    ]
    assert library.paths == {"redis-oom": first}


def test_load_library_takes_files_and_folders(tmp_path: Path) -> None:
    folder = tmp_path / "more"
    folder.mkdir()
    write(folder, edited(("id: redis-oom", "id: nested")), "nested.yaml")
    single = write(tmp_path, BASE, "single.yaml")
    library = load_library([single, folder, LIBRARY])
    assert {"nested", "redis-oom", "redis-out-of-memory"} <= set(library.runbooks)
    assert len(library.runbooks) == 2 + len(load_library([LIBRARY]).runbooks)
    assert library.errors == []
