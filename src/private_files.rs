//! Keyhold's state is secrets in plain text (the embedded cluster's store, the sessions, the TLS
//! key, the admin token, kubeconfigs), so it is its owner's alone: directories 0700, files 0600.

use std::fs::{DirBuilder, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum PrivateDirError {
    #[error("cannot use data directory {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("the data directory {path} holds secrets in plain text but is open to group or others (mode {mode:03o}); make it private with: chmod -R go= {path}")]
    Exposed { path: PathBuf, mode: u32 },
}

/// Every file the process creates from now on is 0600 and every directory 0700, whichever
/// library creates it (SQLite's database and journals, redb's file).
pub fn restrict_new_files() {
    // SAFETY: umask only swaps the process's file-creation mask; it cannot fail.
    unsafe { libc::umask(0o077) };
}

/// Creates `dir` and missing parents 0700; an existing one is left as it is.
pub fn create_dir(dir: &Path) -> io::Result<()> {
    DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

/// Creates `dir` (and missing parents) 0700, or checks that an existing one is its owner's alone.
pub fn private_dir(dir: &Path) -> Result<(), PrivateDirError> {
    let io = |source| PrivateDirError::Io { path: dir.to_path_buf(), source };
    create_dir(dir).map_err(io)?;
    let mode = std::fs::metadata(dir).map_err(io)?.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(PrivateDirError::Exposed { path: dir.to_path_buf(), mode });
    }
    Ok(())
}

/// Writes `path` as a new 0600 file: written beside it under a fresh name, then renamed over it.
/// A symlink at `path` is replaced, never followed, and an existing file's looser mode goes with
/// the old file. A missing parent directory is created 0700.
pub fn write_private(path: &Path, contents: &[u8]) -> io::Result<()> {
    let name = path.file_name().ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the path names no file"))?;
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    create_dir(dir)?;
    let temporary = dir.join(format!(".{}.{}", name.to_string_lossy(), uuid::Uuid::new_v4().simple()));
    // `create_new` is O_EXCL: it makes a new file or fails, and never opens one through a symlink.
    let written = OpenOptions::new().write(true).create_new(true).mode(0o600).open(&temporary).and_then(|mut file| {
        file.write_all(contents)?;
        file.sync_all()
    });
    let renamed = written.and_then(|()| std::fs::rename(&temporary, path));
    if renamed.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    renamed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::symlink_metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_new_directory_is_private_and_an_open_one_is_refused() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("a/b");
        private_dir(&dir).unwrap();
        assert_eq!((mode(&root.path().join("a")), mode(&dir)), (0o700, 0o700));
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o750)).unwrap();
        let message = private_dir(&dir).unwrap_err().to_string();
        assert!(message.contains("mode 750") && message.contains("chmod -R go="), "{message}");
    }

    #[test]
    fn writing_replaces_a_symlink_and_a_loose_file_with_a_private_file() {
        let dir = tempfile::tempdir().unwrap();
        let (victim, link, loose) = (dir.path().join("victim"), dir.path().join("link"), dir.path().join("loose"));
        std::fs::write(&victim, "untouched").unwrap();
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        write_private(&link, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "untouched");
        assert_eq!((std::fs::read_to_string(&link).unwrap().as_str(), mode(&link)), ("new", 0o600));

        std::fs::write(&loose, "old").unwrap();
        std::fs::set_permissions(&loose, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_private(&loose, b"new").unwrap();
        assert_eq!(mode(&loose), 0o600);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 3, "no temporary file left behind");
    }
}
