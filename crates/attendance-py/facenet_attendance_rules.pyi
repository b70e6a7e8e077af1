"""facenet-wasm's attendance rules, from its Rust domain crate (crates/attendance)."""

# (crop_id, photo_id, person_id, distance, margin, enrolled, by_teacher, unsure person_id, doubt code):
# an unsure face has person_id None and whom it looks like, with why ("small_face", …, "close_call")
Decision = tuple[int, int | None, int | None, float | None, float | None, bool, bool, int | None, str | None]
# (width, height, detector score, five [x, y] landmarks, sharpness): the box's size, else the crop's
Geometry = tuple[float, float, float | None, list[list[float]] | None, float | None]
# (present, late, excused, absent, rate): rate = (present + late) / (present + late + absent)
Counts = tuple[int, int, int, int, float | None]
Lesson = tuple[int, str, str, bool]  # (session_id, name, starts_at, finalized)
Pupil = tuple[int, str, str | None]  # (person_id, name, external_id)
Recorded = tuple[int, int, str]  # (session_id, person_id, mark) of a finalised register

def assign(
    faces: list[tuple[int, int | None, int | None, int | str | None, bytes, Geometry | None]],
    people: list[int],
    references: list[tuple[int, bytes]],
    threshold: float,
    cluster_threshold: float,
    max_clustered: int,
) -> tuple[list[Decision], list[list[int]]]:
    """A lesson's faces (crop_id, photo_id, enrolled as, the teacher's verdict — None, "nobody" or
    a person id —, vector, geometry) to the roster ``people``, one-to-one per photo within
    ``threshold``; poor faces and close calls (margin under 0.05) unsure; then the unknown faces clustered (average linkage within ``cluster_threshold``; past
    ``max_clustered`` one per group). Decisions by crop id."""

def register(
    people: list[tuple[int, str]], decisions: list[Decision], marks: list[tuple[int, str]]
) -> list[tuple[int, str, bool, str, bool, list[Decision], list[Decision]]]:
    """The register over the roster: (person_id, name, present, mark, by_hand, their decisions,
    the unsure decisions that look like them)."""

def confirmed_by(
    people: list[tuple[int, str]], decisions: list[Decision], marks: list[tuple[int, str]]
) -> list[tuple[int, int]]:
    """The faces the register over these decisions and marks confirms once finalised,
    (crop_id, person_id): each face that counted for a pupil marked present, except enrolled ones."""

def gallery(confirmed: list[tuple[int, int, str, Geometry | None]], size: int) -> list[int]:
    """Which confirmed faces (person_id, crop_id, lesson start, geometry) become references, by
    index, most recent first: per pupil the ``size`` most recent that are not poor."""

GALLERY_SIZE: int  # the most confirmed faces a pupil's gallery keeps, in both backends

def register_csv(
    lines: list[tuple[int, str, bool, str, bool, list[tuple[int, float | None]], list[tuple[int, str]]]]
) -> str:
    """The register as CSV (with a BOM), one row per (person_id, name, present, mark, by_hand,
    [(crop_id, distance)], [(unsure crop_id, doubt)])."""

def sharpness(rgb: bytes, width: int, height: int) -> float | None:
    """A crop's sharpness from its RGB pixels (variance of the Laplacian of its 601 grey)."""

def reference_concerns(geometry: Geometry) -> list[tuple[str, str]]:
    """Why a face cannot be a pupil's reference: [(code, words)], empty when it can."""

def class_report(
    lessons: list[Lesson], pupils: list[Pupil], recorded: list[Recorded]
) -> list[tuple[int, str, str | None, list[str | None], Counts]]:
    """Pupils × lessons: each pupil's mark per lesson (None where not finalised) and counts."""

def class_report_csv(lessons: list[Lesson], pupils: list[Pupil], recorded: list[Recorded]) -> str:
    """The same table as CSV (UTF-8 with a BOM, formula-safe)."""

def counts(marks: list[str]) -> Counts:
    """How many of each mark, and the rate."""

def validate_vector(
    models: list[tuple[str, int]], served_version: str, model: str, version: str | None, values: list[float]
) -> bytes:
    """The vector as stored (f32 LE) if it fits the served model; ValueError with the reason if not."""

def lesson_start(text: str) -> str:
    """``YYYY-MM-DD HH:MM[:SS]`` or ISO ``…T…[Z]`` → ``YYYY-MM-DD HH:MM:SS``; ValueError otherwise."""

def day(text: str) -> str:
    """A checked ``YYYY-MM-DD``; ValueError otherwise."""

PURGE_KINDS: list[str]  # the kinds a purge counts, in order

def consent_standing(records: list[tuple[str, str]]) -> str:
    """A consent history's standing, oldest (state, by) first: each party's last word counts, a
    refusal or withdrawal wins; only "given" lets the pupil's face be used."""

def retention_defaults() -> dict[str, int | bool]:
    """The default schedule: lesson_faces_days, photos_days, leavers_days, template_max_days, keep_attendance_of_erased."""

def retention_notice(
    lesson_faces_days: int, photos_days: int, leavers_days: int, template_max_days: int, keep_attendance_of_erased: bool
) -> list[str]:
    """The schedule in words, one line per rule, for a notice to parents."""

def reenrolment(oldest: str, today: str, template_max_days: int) -> tuple[str, bool]:
    """When a pupil enrols again: (the day their oldest reference face, taken at ``oldest``, is
    erased; whether ``today`` is within REENROL_NOTICE_DAYS of it). ValueError on a bad day."""

REENROL_NOTICE_DAYS: int  # how long before that day the teacher is asked

def audit_csv(lines: list[tuple[int, str, str, str, int | None, int | None, int | None, str]]) -> str:
    """The audit log as CSV after a BOM: (id, at, actor, action, person_id, session_id, class_id,
    detail as compact JSON) per entry, every text field formula-safe."""

BOM: str  # what every CSV here starts with (UTF-8 byte order mark)

def csv_field(value: str) -> str:
    """A CSV field: quoted when it holds a comma, quote or line break; a leading = + - @ made harmless."""

def image_keeps_as_is(data: bytes) -> bool:
    """Whether an uploaded image may be stored byte for byte: a JPEG without metadata segments
    (EXIF, XMP, ICC, comments); anything else is stored re-encoded from its pixels."""
