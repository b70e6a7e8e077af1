//! SQLite storage: schema migrations and the queries the API needs.

use crate::error::AppError;
use crate::wire::FaceBox;
use facenet_attendance::gallery::{self, Confirmed, GALLERY_SIZE};
use facenet_attendance::quality::Geometry;
use facenet_attendance::{Face, Reference, Verdict};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// How long a statement waits for a lock another connection holds before it fails.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Reader connections kept open between requests; more are opened under load and closed after.
const IDLE_READERS: usize = 8;

/// The database: one writer (SQLite takes one writer at a time anyway) and a pool of readers
/// that WAL lets run beside it, so lists and registers are answered while a batch is written.
/// Both are used from blocking threads only ([`crate::AppState::read`], [`crate::AppState::write`]).
pub(crate) struct Db {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
}

impl Db {
    /// Opens (creating and migrating) `dir/facenet.sqlite3`; see [`open`].
    pub(crate) fn open(dir: &Path) -> Result<Db, String> {
        let writer = open(dir)?;
        Ok(Db { path: dir.join("facenet.sqlite3"), writer: Mutex::new(writer), readers: Mutex::new(Vec::new()) })
    }

    /// The database file.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `work` on a reader connection (read-only: a write there is a bug and fails).
    pub(crate) fn read<T>(&self, work: impl FnOnce(&Connection) -> Result<T, AppError>) -> Result<T, AppError> {
        let idle = lock(&self.readers).pop();
        let conn = match idle {
            Some(conn) => conn,
            None => {
                let opened = Connection::open_with_flags(
                    &self.path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )
                .and_then(|conn| conn.busy_timeout(BUSY_TIMEOUT).map(|()| conn));
                opened.map_err(|e| self.named(e.into()))?
            }
        };
        let result = work(&conn);
        let mut idle = lock(&self.readers);
        if idle.len() < IDLE_READERS {
            idle.push(conn);
        }
        result.map_err(|e| self.named(e))
    }

    /// Runs `work` on the writer; a transaction is `conn.transaction()` inside it.
    pub(crate) fn write<T>(&self, work: impl FnOnce(&mut Connection) -> Result<T, AppError>) -> Result<T, AppError> {
        work(&mut lock(&self.writer)).map_err(|e| self.named(e))
    }

    /// A database error with the file it happened on, for the log ("disk is full" alone does
    /// not say which disk).
    fn named(&self, error: AppError) -> AppError {
        match error {
            AppError::Database(e) => AppError::DatabaseFile(self.path.display().to_string(), e),
            other => other,
        }
    }
}

/// A panic while a connection was held poisons its lock; the data is still consistent (every
/// write is one statement or a transaction), so go on.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Each entry moves the schema one version up; `PRAGMA user_version` says how far a file is.
const MIGRATIONS: &[&str] = &[
    // 1: sessions, people, crops (the image bytes live in the database), one vector per crop and model
    "CREATE TABLE sessions (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        created_at TEXT NOT NULL DEFAULT (datetime('now'))
     );
     CREATE TABLE people (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL DEFAULT (datetime('now'))
     );
     CREATE TABLE face_crops (
        id INTEGER PRIMARY KEY,
        session_id INTEGER NOT NULL REFERENCES sessions(id),
        filename TEXT NOT NULL,
        content_type TEXT NOT NULL,
        image BLOB NOT NULL,
        width INTEGER NOT NULL,
        height INTEGER NOT NULL,
        person_id INTEGER REFERENCES people(id),
        created_at TEXT NOT NULL DEFAULT (datetime('now'))
     );
     CREATE INDEX face_crops_session ON face_crops(session_id);
     CREATE TABLE embeddings (
        crop_id INTEGER NOT NULL REFERENCES face_crops(id) ON DELETE CASCADE,
        model_name TEXT NOT NULL,
        model_version TEXT NOT NULL,
        dimension INTEGER NOT NULL,
        vector BLOB NOT NULL,
        created_at TEXT NOT NULL DEFAULT (datetime('now')),
        PRIMARY KEY (crop_id, model_name)
     );",
    // 2: the classroom photos crops come from (the photo's bytes only when the page sends them),
    // and where each crop was found in its photo: box and landmarks as JSON, detector score
    "CREATE TABLE photos (
        id INTEGER PRIMARY KEY,
        session_id INTEGER NOT NULL REFERENCES sessions(id),
        filename TEXT NOT NULL,
        width INTEGER NOT NULL,
        height INTEGER NOT NULL,
        size INTEGER,
        content_type TEXT,
        image BLOB,
        created_at TEXT NOT NULL DEFAULT (datetime('now'))
     );
     CREATE INDEX photos_session ON photos(session_id);
     ALTER TABLE face_crops ADD COLUMN photo_id INTEGER REFERENCES photos(id);
     ALTER TABLE face_crops ADD COLUMN box TEXT;
     ALTER TABLE face_crops ADD COLUMN landmarks TEXT;
     ALTER TABLE face_crops ADD COLUMN score REAL;",
    // 3: the school around the lessons. Accounts (admins, teachers) with hashed tokens; classes,
    // their teachers and rosters; pupils with the school's own id, names no longer unique (the
    // table is rebuilt: SQLite cannot drop a UNIQUE); a lesson belongs to a class and starts at a
    // time; a teacher's word on a face (verdict) and marks by hand; a finalised register kept as
    // it was, its marks for reports, and every finalise and reopen. What there was joins one
    // class, "Imported" (sessions and people alike), whose teachers an admin then assigns.
    "CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        admin INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL DEFAULT (datetime('now'))
     );
     CREATE TABLE tokens (
        id INTEGER PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        hash BLOB NOT NULL UNIQUE,
        created_at TEXT NOT NULL DEFAULT (datetime('now')),
        expires_at TEXT,
        revoked_at TEXT
     );
     CREATE INDEX tokens_user ON tokens(user_id);
     CREATE TABLE classes (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        imported INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL DEFAULT (datetime('now'))
     );
     CREATE TABLE class_teachers (
        class_id INTEGER NOT NULL REFERENCES classes(id) ON DELETE CASCADE,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        PRIMARY KEY (class_id, user_id)
     );
     CREATE INDEX class_teachers_user ON class_teachers(user_id);
     CREATE TABLE people_v3 (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        external_id TEXT UNIQUE,
        created_at TEXT NOT NULL DEFAULT (datetime('now'))
     );
     INSERT INTO people_v3 (id, name, created_at) SELECT id, name, created_at FROM people;
     DROP TABLE people;
     ALTER TABLE people_v3 RENAME TO people;
     CREATE TABLE roster (
        class_id INTEGER NOT NULL REFERENCES classes(id) ON DELETE CASCADE,
        person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
        added_at TEXT NOT NULL DEFAULT (datetime('now')),
        PRIMARY KEY (class_id, person_id)
     );
     CREATE INDEX roster_person ON roster(person_id);
     ALTER TABLE sessions ADD COLUMN class_id INTEGER REFERENCES classes(id);
     ALTER TABLE sessions ADD COLUMN starts_at TEXT;
     UPDATE sessions SET starts_at = created_at;
     CREATE INDEX sessions_class ON sessions(class_id, starts_at);
     ALTER TABLE face_crops ADD COLUMN verdict TEXT CHECK (verdict IN ('person', 'nobody'));
     ALTER TABLE face_crops ADD COLUMN verdict_person_id INTEGER REFERENCES people(id);
     CREATE INDEX face_crops_person ON face_crops(person_id);
     CREATE TABLE marks (
        session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
        mark TEXT NOT NULL,
        by_name TEXT NOT NULL,
        at TEXT NOT NULL DEFAULT (datetime('now')),
        PRIMARY KEY (session_id, person_id)
     );
     CREATE TABLE registers (
        session_id INTEGER PRIMARY KEY REFERENCES sessions(id) ON DELETE CASCADE,
        finalized_at TEXT NOT NULL DEFAULT (datetime('now')),
        finalized_by TEXT NOT NULL,
        crop_ids TEXT NOT NULL,
        answer TEXT NOT NULL
     );
     CREATE TABLE register_marks (
        session_id INTEGER NOT NULL REFERENCES registers(session_id) ON DELETE CASCADE,
        person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
        mark TEXT NOT NULL,
        PRIMARY KEY (session_id, person_id)
     );
     CREATE INDEX register_marks_person ON register_marks(person_id);
     CREATE TABLE register_events (
        id INTEGER PRIMARY KEY,
        session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        action TEXT NOT NULL CHECK (action IN ('finalize', 'reopen')),
        by_name TEXT NOT NULL,
        at TEXT NOT NULL DEFAULT (datetime('now'))
     );
     INSERT INTO classes (name, imported)
        SELECT 'Imported', 1 WHERE EXISTS (SELECT 1 FROM sessions) OR EXISTS (SELECT 1 FROM people);
     UPDATE sessions SET class_id = (SELECT id FROM classes WHERE imported = 1);
     INSERT INTO roster (class_id, person_id) SELECT c.id, p.id FROM people p JOIN classes c ON c.imported = 1;",
    // 4: pupils' data rights. Each pupil's consent history and their standing (kept beside it:
    // matching reads it per lesson); when they left their last class, when they were erased
    // (attendance marks kept); the audit log, append-only (triggers refuse an update or delete).
    // Pupils of before had no consent recorded: they are `not_asked`, and their faces are no
    // longer matched until it is recorded (the safe default for children's biometric data).
    "CREATE TABLE consents (
        id INTEGER PRIMARY KEY,
        person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
        state TEXT NOT NULL CHECK (state IN ('given', 'refused', 'withdrawn')),
        by_whom TEXT NOT NULL CHECK (by_whom IN ('guardian', 'pupil')),
        purpose TEXT NOT NULL,
        recorded_by TEXT NOT NULL,
        at TEXT NOT NULL DEFAULT (datetime('now'))
     );
     CREATE INDEX consents_person ON consents(person_id, id);
     ALTER TABLE people ADD COLUMN consent TEXT NOT NULL DEFAULT 'not_asked';
     ALTER TABLE people ADD COLUMN left_at TEXT;
     ALTER TABLE people ADD COLUMN erased_at TEXT;
     UPDATE people SET left_at = datetime('now') WHERE id NOT IN (SELECT person_id FROM roster);
     CREATE TABLE audit (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL DEFAULT (datetime('now')),
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        person_id INTEGER,
        session_id INTEGER,
        class_id INTEGER,
        detail TEXT NOT NULL DEFAULT '{}'
     );
     CREATE INDEX audit_at ON audit(at);
     CREATE INDEX audit_person ON audit(person_id);
     CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
     CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;",
    // 5: what a client needs to send safely. The database's identity (random, made once): a
    // page's upload queue is kept per database, so that nothing queued for one is sent to another
    // (a restored backup, a reset, another school's server). The answers to requests that carried
    // an Idempotency-Key (idempotency.rs), by caller and key, kept a day; `about` names the crop
    // or photo an answer is about (`crop:4411`), so that erasing it erases the answer too.
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
     INSERT INTO meta (key, value) VALUES ('database_id', lower(hex(randomblob(16))));
     CREATE TABLE idempotency (
        caller TEXT NOT NULL,
        key TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        status INTEGER NOT NULL,
        content_type TEXT,
        body BLOB NOT NULL,
        created_at TEXT NOT NULL DEFAULT (datetime('now')),
        about TEXT,
        PRIMARY KEY (caller, key)
     );
     CREATE INDEX idempotency_created ON idempotency(created_at);
     CREATE INDEX idempotency_about ON idempotency(about);",
    // 6: each crop's sharpness (facenet_attendance::quality::rgb_sharpness of its decoded pixels,
    // computed at upload), for the face's quality; NULL for crops stored before (never poor for it).
    "ALTER TABLE face_crops ADD COLUMN sharpness REAL;",
    // 7: the faces a finalised register confirms (facenet_attendance::gallery::confirmed_by),
    // the references its pupils' galleries grow from; they go with the register (reopened), the
    // crop (erased, purged) or the pupil. Registers finalised before confirm none.
    "CREATE TABLE register_faces (
        session_id INTEGER NOT NULL REFERENCES registers(session_id) ON DELETE CASCADE,
        crop_id INTEGER NOT NULL REFERENCES face_crops(id) ON DELETE CASCADE,
        person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
        PRIMARY KEY (crop_id)
     );
     CREATE INDEX register_faces_person ON register_faces(person_id);",
];

/// This database's identity (`meta.database_id`).
pub(crate) fn database_id(db: &Connection) -> Result<String, AppError> {
    Ok(db.query_row("SELECT value FROM meta WHERE key = 'database_id'", [], |r| r.get(0))?)
}

/// Opens (creating) `dir/facenet.sqlite3` and brings its schema up to date.
///
/// Checks at start what would otherwise fail every write later: the file must be readable, pass
/// SQLite's `quick_check`, and take a write. Errors name the file.
pub(crate) fn open(dir: &Path) -> Result<Connection, String> {
    let path = dir.join("facenet.sqlite3");
    let fail = |what: &str, e: &dyn std::fmt::Display| format!("{}: {what}: {e}", path.display());
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: cannot create the data directory: {e}", dir.display()))?;
    // Children's biometric data: the data directory is the server's user's alone (0700).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir).map(|m| m.permissions().mode() & 0o777).unwrap_or(0o777);
        if mode != 0o700 {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                .map_err(|e| fail("cannot make its data directory private (0700)", &e))?;
        }
    }
    let conn = Connection::open(&path).map_err(|e| fail("cannot open", &e))?;
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(|e| fail("not a usable SQLite database (or a full or read-only disk)", &e))?;
    // Every commit reaches the disk before it is acknowledged: a kill -9 or a power cut loses no
    // vector the server answered for (benches/server-faults.mjs).
    conn.pragma_update(None, "synchronous", "FULL").map_err(|e| fail("cannot configure", &e))?;
    // A deleted row's bytes are overwritten, not left in free pages: deleting a pupil's face
    // must not leave it readable in the file.
    conn.pragma_update(None, "secure_delete", true).map_err(|e| fail("cannot configure", &e))?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(|e| fail("cannot configure", &e))?;
    let check: String =
        conn.pragma_query_value(None, "quick_check", |row| row.get(0)).map_err(|e| fail("cannot check", &e))?;
    if check != "ok" {
        // One line: quick_check reports each damaged page on a line of its own.
        let lines: Vec<&str> = check.lines().take(5).collect();
        return Err(fail("corrupt (PRAGMA quick_check)", &lines.join("; ")));
    }
    let version: usize =
        conn.pragma_query_value(None, "user_version", |row| row.get(0)).map_err(|e| fail("cannot read", &e))?;
    // Foreign keys are checked only after the migrations: a table rebuilt by one (SQLite's way
    // to change a constraint) is dropped and renamed with references pointing at it, which a
    // check would refuse half-way (https://sqlite.org/lang_altertable.html, "other kinds").
    // rusqlite's bundled SQLite turns them on by default; the pragma is a no-op in a transaction.
    conn.pragma_update(None, "foreign_keys", false).map_err(|e| fail("cannot configure", &e))?;
    for (i, migration) in MIGRATIONS.iter().enumerate().skip(version) {
        conn.execute_batch(&format!("BEGIN; {migration}; PRAGMA user_version = {}; COMMIT;", i + 1))
            .map_err(|e| fail(&format!("cannot migrate to schema {}", i + 1), &e))?;
    }
    let broken: Option<String> = conn
        .query_row("PRAGMA foreign_key_check", [], |r| r.get(0))
        .optional()
        .map_err(|e| fail("cannot check", &e))?;
    if let Some(table) = broken {
        return Err(fail("corrupt (PRAGMA foreign_key_check)", &format!("a row of {table} points at nothing")));
    }
    conn.pragma_update(None, "foreign_keys", true).map_err(|e| fail("cannot configure", &e))?;
    // A write that reaches the disk (page 1 into the WAL), so that a read-only file or a full
    // disk stops the start here rather than failing every write later.
    conn.pragma_update(None, "user_version", MIGRATIONS.len())
        .map_err(|e| fail("cannot write (read-only or full disk?)", &e))?;
    Ok(conn)
}

/// f32 vector ↔ little-endian bytes, as stored.
pub(crate) fn vector_to_blob(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Little-endian bytes → f32 vector.
pub(crate) fn blob_to_vector(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
}

// Every read of vectors for matching is of the served model version only: a vector of another
// version (an older projection, another weights file) lives in another space, and comparing it
// with the served one would name the wrong pupil. Such a crop counts as not embedded until the
// page or `facenet-embed` posts its vector again.

/// The embedded faces of one session for `model` (its served `version`), with their enrolment
/// label (only a pupil's whose consent is given: anyone else's face is an unlabelled one), the
/// teacher's verdict and the face's geometry ([`geometry`]), by crop id.
pub(crate) fn lesson_faces(conn: &Connection, model: &str, version: &str, session: i64) -> rusqlite::Result<Vec<Face>> {
    let mut stmt = conn.prepare(
        "SELECT c.id, c.photo_id, p.id, c.verdict, c.verdict_person_id, e.vector,
                c.width, c.height, c.box, c.landmarks, c.score, c.sharpness
         FROM face_crops c JOIN embeddings e ON e.crop_id = c.id
         LEFT JOIN people p ON p.id = c.person_id AND p.consent = 'given'
         WHERE e.model_name = ?1 AND e.model_version = ?3 AND c.session_id = ?2 ORDER BY c.id",
    )?;
    let rows = stmt.query_map(params![model, session, version], |row| {
        let verdict: Option<String> = row.get(3)?;
        let verdict = match verdict.as_deref() {
            Some("person") => row.get::<_, Option<i64>>(4)?.map(Verdict::Person),
            Some(_) => Some(Verdict::NotInClass),
            None => None,
        };
        Ok(Face {
            crop_id: row.get(0)?,
            photo_id: row.get(1)?,
            person_id: row.get(2)?,
            verdict,
            vector: blob_to_vector(&row.get::<_, Vec<u8>>(5)?),
            geometry: Some(geometry(row, 6)?),
        })
    })?;
    rows.collect()
}

/// The columns `width, height, box, landmarks, score, sharpness` of a crop, from `first` on, as
/// the quality rules read them: the box's size when the crop was cut from a photo, else the
/// crop's own (a crop uploaded alone).
pub(crate) fn geometry(row: &rusqlite::Row, first: usize) -> rusqlite::Result<Geometry> {
    let (width, height): (f32, f32) = (row.get(first)?, row.get(first + 1)?);
    let bbox: Option<FaceBox> = row.get::<_, Option<String>>(first + 2)?.and_then(|t| serde_json::from_str(&t).ok());
    let landmarks: Option<[[f32; 2]; 5]> =
        row.get::<_, Option<String>>(first + 3)?.and_then(|t| serde_json::from_str(&t).ok());
    let (width, height) = bbox.map_or((width, height), |b| (b.width as f32, b.height as f32));
    Ok(Geometry {
        width,
        height,
        score: row.get::<_, Option<f64>>(first + 4)?.map(|s| s as f32),
        landmarks,
        sharpness: row.get::<_, Option<f64>>(first + 5)?.map(|s| s as f32),
    })
}

/// The references of the pupils on `class`'s roster whose consent is given, of the served
/// `version` of `model`: their enrolled crops (of any session) and their galleries — the faces
/// finalised registers other than `session`'s confirmed, the most recent
/// [`GALLERY_SIZE`] of each pupil (`gallery::grow`).
pub(crate) fn references(
    conn: &Connection,
    model: &str,
    version: &str,
    class: i64,
    session: i64,
) -> rusqlite::Result<Vec<Reference>> {
    const MATCHABLE: &str = "(SELECT r.person_id FROM roster r JOIN people p ON p.id = r.person_id
                               WHERE r.class_id = ?2 AND p.consent = 'given')";
    let mut stmt = conn.prepare(&format!(
        "SELECT c.person_id, e.vector FROM face_crops c JOIN embeddings e ON e.crop_id = c.id
         WHERE e.model_name = ?1 AND e.model_version = ?3 AND c.person_id IN {MATCHABLE}
         ORDER BY c.id"
    ))?;
    let rows = stmt.query_map(params![model, class, version], |row| {
        Ok(Reference { person_id: row.get(0)?, vector: blob_to_vector(&row.get::<_, Vec<u8>>(1)?) })
    })?;
    let enrolled = rows.collect::<Result<_, _>>()?;
    let mut stmt = conn.prepare(&format!(
        "SELECT g.person_id, c.id, s.starts_at, e.vector, c.width, c.height, c.box, c.landmarks, c.score, c.sharpness
         FROM register_faces g JOIN face_crops c ON c.id = g.crop_id JOIN sessions s ON s.id = g.session_id
         JOIN embeddings e ON e.crop_id = c.id
         WHERE e.model_name = ?1 AND e.model_version = ?3 AND g.session_id != ?4 AND g.person_id IN {MATCHABLE}"
    ))?;
    let rows = stmt.query_map(params![model, class, version, session], |row| {
        Ok(Confirmed {
            person_id: row.get(0)?,
            crop_id: row.get(1)?,
            lesson_start: row.get(2)?,
            vector: blob_to_vector(&row.get::<_, Vec<u8>>(3)?),
            geometry: Some(geometry(row, 4)?),
        })
    })?;
    Ok(gallery::grow(enrolled, rows.collect::<Result<_, _>>()?, GALLERY_SIZE))
}

/// The stored vector of one crop and model, if any of the served `version` (one of another version
/// is replaced by a new post without `force_regenerate`).
pub(crate) fn vector_of(
    conn: &Connection,
    crop: i64,
    model: &str,
    version: &str,
) -> rusqlite::Result<Option<Vec<f32>>> {
    conn.query_row(
        "SELECT vector FROM embeddings WHERE crop_id = ?1 AND model_name = ?2 AND model_version = ?3",
        params![crop, model, version],
        |row| row.get::<_, Vec<u8>>(0),
    )
    .optional()
    .map(|b| b.map(|b| blob_to_vector(&b)))
}

/// The crops of a session without a vector of the served `version` of `model`, by id.
pub(crate) fn crops_without(conn: &Connection, session: i64, model: &str, version: &str) -> rusqlite::Result<Vec<i64>> {
    let mut stmt = conn.prepare(
        "SELECT id FROM face_crops c WHERE session_id = ?1
         AND NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.crop_id = c.id AND e.model_name = ?2 AND e.model_version = ?3)
         ORDER BY id",
    )?;
    let rows = stmt.query_map(params![session, model, version], |r| r.get(0))?;
    rows.collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_of_the_first_schema_is_migrated_with_its_rows_into_one_class() {
        let dir = std::env::temp_dir().join(format!("facenet-db-migrate-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let old = Connection::open(dir.join("facenet.sqlite3")).unwrap();
        old.execute_batch(&format!("{}; PRAGMA user_version = 1;", MIGRATIONS[0])).unwrap();
        old.execute_batch(
            "INSERT INTO sessions (name) VALUES ('old');
             INSERT INTO people (name) VALUES ('Ana');
             INSERT INTO face_crops (session_id, filename, content_type, image, width, height, person_id)
                VALUES (1, 'a.jpg', 'image/jpeg', x'00', 1, 1, 1);",
        )
        .unwrap();
        drop(old);
        let conn = open(&dir).unwrap();
        let version: usize = conn.pragma_query_value(None, "user_version", |r| r.get(0)).unwrap();
        assert_eq!(version, MIGRATIONS.len());
        let row: (String, Option<i64>, Option<String>) = conn
            .query_row("SELECT filename, photo_id, box FROM face_crops", [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap();
        assert_eq!(row, ("a.jpg".into(), None, None));
        assert_eq!(conn.query_row("SELECT COUNT(*) FROM photos", [], |r| r.get::<_, i64>(0)).unwrap(), 0);
        // Schema 3: what there was joins one class, "Imported": its sessions, its pupils on the
        // roster, their crops still theirs; names are no longer unique.
        let (class, name): (i64, String) = conn
            .query_row("SELECT id, name FROM classes WHERE imported = 1", [], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap();
        assert_eq!(name, "Imported");
        let session_class: i64 = conn.query_row("SELECT class_id FROM sessions", [], |r| r.get(0)).unwrap();
        let roster: Vec<i64> = conn
            .prepare("SELECT person_id FROM roster WHERE class_id = ?1")
            .unwrap()
            .query_map([class], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!((session_class, roster), (class, vec![1]));
        let crop_person: i64 = conn.query_row("SELECT person_id FROM face_crops", [], |r| r.get(0)).unwrap();
        assert_eq!(crop_person, 1);
        conn.execute("INSERT INTO people (name) VALUES ('Ana')", []).expect("two pupils of one name");
        let fk: Option<String> = conn.query_row("PRAGMA foreign_key_check", [], |r| r.get(0)).optional().unwrap();
        assert_eq!(fk, None);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_file_that_is_not_a_database_is_refused_at_start_naming_it() {
        let dir = std::env::temp_dir().join(format!("facenet-db-corrupt-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("facenet.sqlite3"), vec![0x42; 8192]).unwrap();
        let err = open(&dir).unwrap_err();
        assert!(err.contains("facenet.sqlite3") && err.contains("not a usable SQLite database"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
