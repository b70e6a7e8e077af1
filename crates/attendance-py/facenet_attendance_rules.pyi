"""facenet-wasm's attendance rules, from its Rust domain crate (crates/attendance)."""

Decision = tuple[int, int | None, int | None, float | None, float | None, bool]

def assign(
    faces: list[tuple[int, int | None, int | None, bytes]],
    people: list[int],
    references: list[tuple[int, bytes]],
    threshold: float,
    cluster_threshold: float,
    max_clustered: int,
) -> tuple[list[Decision], list[list[int]]]:
    """A lesson's faces to people, one-to-one per photo within ``threshold``, then the unknown
    faces clustered (average linkage within ``cluster_threshold``; past ``max_clustered`` one per
    group). Decisions are (crop_id, photo_id, person_id, distance, margin, enrolled), by crop id."""

def register_csv(lines: list[tuple[int, str, bool, list[tuple[int, float | None]]]]) -> str:
    """The register as CSV, one row per (person_id, name, present, [(crop_id, distance)])."""
