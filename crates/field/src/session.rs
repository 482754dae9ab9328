//! The signed-in session, kept between runs: the server, the bearer token
//! and what `/api/me` said (the account, its documents, its affinity), in
//! one JSON file in the OS's config directory that only its owner can read
//! (the token is as good as the password until it expires).

use std::{
    fs,
    io::Write,
    path::{Path, PathBuf},
};

use serde::{Deserialize, Serialize};

/// Bigger than any session file: one read of a larger file is refused, not
/// taken into memory.
const MAX_SESSION_FILE: u64 = 1 << 20;

#[derive(Clone, Serialize, Deserialize)]
pub struct Session {
    /// The server's base URL, `https://portal.example` (no trailing `/`).
    pub server: String,
    pub token: String,
    pub account_id: String,
    pub partner_id: Option<String>,
    pub name: String,
    /// When the server will stop taking the token (RFC 3339).
    pub expires_at: String,
    /// What a proxy in front of several nodes routes by.
    #[serde(default)]
    pub affinity: String,
    /// The account's documents: (id, kind), its own first.
    pub documents: Vec<(String, String)>,
    /// This installation's device, the second half of its peer id.
    pub device: String,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("server", &self.server)
            .field("token", &"<hidden>")
            .field("account_id", &self.account_id)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// The account's own document of `kind` (its pipeline, its account
    /// view).
    pub fn document(&self, kind: &str) -> Option<&str> {
        self.documents
            .iter()
            .find(|(_, k)| k == kind)
            .map(|(id, _)| id.as_str())
    }

    /// The peer id the server expects: `<account>/<device>`.
    pub fn peer_id(&self) -> String {
        format!("{}/{}", self.account_id, self.device)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("not signed in: run `portal-field sign-in --server <url> --email <email>` first")]
    Missing,
    #[error("the session file {0} cannot be read ({1}); sign in again")]
    Unreadable(PathBuf, String),
    #[error("cannot keep the session in {0}: {1}")]
    Write(PathBuf, std::io::Error),
}

/// Where the files live: the session in `config`, the store in `data`.
#[derive(Debug, Clone)]
pub struct Home {
    pub config: PathBuf,
    pub data: PathBuf,
}

impl Home {
    /// `dir` for both when given (`--home`, `PORTAL_FIELD_HOME`), else the
    /// OS's own: `~/.config/portal-field` and `~/.local/share/portal-field`
    /// on Linux, `~/Library/Application Support/portal-field` on macOS,
    /// `%APPDATA%\portal-field` on Windows.
    pub fn new(dir: Option<PathBuf>) -> Result<Home, SessionError> {
        if let Some(dir) = dir {
            return Ok(Home {
                config: dir.clone(),
                data: dir,
            });
        }
        let missing = || {
            SessionError::Unreadable(
                PathBuf::from("~"),
                "this system names no home directory; pass --home".into(),
            )
        };
        Ok(Home {
            config: dirs::config_dir().ok_or_else(missing)?.join("portal-field"),
            data: dirs::data_dir().ok_or_else(missing)?.join("portal-field"),
        })
    }

    pub fn session_file(&self) -> PathBuf {
        self.config.join("session.json")
    }

    pub fn store_file(&self) -> PathBuf {
        self.data.join("field.sqlite3")
    }

    pub fn load(&self) -> Result<Session, SessionError> {
        let path = self.session_file();
        let unreadable = |why: String| SessionError::Unreadable(path.clone(), why);
        let file = match fs::File::open(&path) {
            Ok(file) => file,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Err(SessionError::Missing);
            }
            Err(error) => return Err(unreadable(error.to_string())),
        };
        let mut text = String::new();
        std::io::Read::read_to_string(
            &mut std::io::Read::take(file, MAX_SESSION_FILE + 1),
            &mut text,
        )
        .map_err(|e| unreadable(e.to_string()))?;
        if text.len() as u64 > MAX_SESSION_FILE {
            return Err(unreadable("it is too large".into()));
        }
        serde_json::from_str(&text).map_err(|e| unreadable(e.to_string()))
    }

    /// Writes the session: a new file beside the old, owner-only from its
    /// creation, renamed over it (a crash leaves one or the other).
    pub fn save(&self, session: &Session) -> Result<(), SessionError> {
        let path = self.session_file();
        let failed = |error| SessionError::Write(path.clone(), error);
        create_private_dir(&self.config).map_err(failed)?;
        let partial = self.config.join("session.json.partial");
        let _ = fs::remove_file(&partial);
        let mut file = private_file(&partial).map_err(failed)?;
        let text = serde_json::to_vec_pretty(session).map_err(|e| failed(e.into()))?;
        file.write_all(&text).map_err(failed)?;
        file.sync_all().map_err(failed)?;
        fs::rename(&partial, &path).map_err(failed)
    }

    /// Forgets the session (`sign-out`); the local store stays.
    pub fn forget(&self) -> Result<(), SessionError> {
        match fs::remove_file(self.session_file()) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                Err(SessionError::Write(self.session_file(), error))
            }
            _ => Ok(()),
        }
    }
}

/// A directory only its owner may enter (0700 on Unix).
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// A new file only its owner may read or write (0600 on Unix), from the
/// moment it exists.
fn private_file(path: &Path) -> std::io::Result<fs::File> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn home() -> (tempfile::TempDir, Home) {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::new(Some(dir.path().join("home"))).unwrap();
        (dir, home)
    }

    fn session() -> Session {
        Session {
            server: "http://127.0.0.1:1".into(),
            token: "secret-token".into(),
            account_id: "a-ben".into(),
            partner_id: Some("p-ben".into()),
            name: "Ben".into(),
            expires_at: "2027-01-01T00:00:00Z".into(),
            affinity: String::new(),
            documents: vec![("doc-1".into(), "pipeline".into())],
            device: "field-1".into(),
        }
    }

    #[test]
    fn a_session_is_kept_for_its_owner_only_and_read_back() {
        let (_dir, home) = home();
        assert!(matches!(home.load(), Err(SessionError::Missing)));
        home.save(&session()).unwrap();
        home.save(&session()).unwrap();
        let read = home.load().unwrap();
        assert_eq!(read.peer_id(), "a-ben/field-1");
        assert_eq!(read.document("pipeline"), Some("doc-1"));
        assert!(!format!("{read:?}").contains("secret-token"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&home.session_file()), 0o600);
            assert_eq!(mode(&home.config), 0o700);
        }
        home.forget().unwrap();
        home.forget().unwrap();
        assert!(matches!(home.load(), Err(SessionError::Missing)));
    }

    #[test]
    fn a_broken_or_huge_session_file_is_refused_with_what_to_do() {
        let (_dir, home) = home();
        create_private_dir(&home.config).unwrap();
        for text in [
            "not json".to_owned(),
            "{\"server\": 1}".to_owned(),
            format!("\"{}\"", "x".repeat(2 << 20)),
            "[".repeat(100_000),
        ] {
            fs::write(home.session_file(), &text).unwrap();
            let error = home.load().unwrap_err();
            assert!(matches!(error, SessionError::Unreadable(..)), "{error}");
            assert!(error.to_string().contains("sign in again"));
        }
    }
}
