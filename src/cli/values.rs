//! Reading values: from flags, files, a kubectl Secret file, stdin, or a prompt that does not echo.
//! A value is read once and sent once; no message here ever repeats one (or anything a value could
//! have been typed into by mistake, such as a field name: those are named by position).

use std::io::{IsTerminal, Read, Write};
use std::path::Path;

use crate::domain::credential::{CredentialType, FieldError};
use crate::domain::new_credential::SecretValues;
use crate::domain::project_secrets::parse_env_file;
use crate::domain::secret_file::read_secret_file;

use super::CliError;
use super::args::Values;

/// The values a command was given, for a credential of `credential_type`; a field none of the
/// flags gave is asked for at a prompt when a person is at the terminal.
pub fn gather(values: &Values, credential_type: CredentialType) -> Result<SecretValues, CliError> {
    if let Some(path) = &values.secret_file {
        let file = read_secret_file(&read(path, "--from-secret-file")?)?;
        if file.credential_type() != credential_type {
            return Err(FieldError::new("file", format!("The file's Secret makes a credential of type {}, not {}", file.credential_type().label(), credential_type.label())).into());
        }
        return Ok(file.values);
    }
    let fields = SecretValues::fields(credential_type);
    if values.password_stdin && !fields.iter().any(|(_, secret)| *secret) {
        return Err(CliError::Usage("--password-stdin: a generic secret's values come from --from-literal, --from-file or --from-env-file".into()));
    }
    if values.password_stdin && values.env_file.as_deref() == Some(Path::new("-")) {
        return Err(CliError::Usage("--password-stdin and --from-env-file - both read stdin: give one of them a file".into()));
    }
    // A field the type does not have is named by its flag and position, never by its text: that
    // may be a value typed in the wrong place.
    let known = |name: &str, place: String| match credential_type == CredentialType::Generic || fields.iter().any(|(field, _)| *field == name) {
        true => Ok(()),
        false => {
            let names: Vec<&str> = fields.iter().map(|(field, _)| *field).collect();
            Err(CliError::Usage(format!("{place}: not a field of a {} credential, which takes {}", credential_type.label(), names.join(", "))))
        }
    };
    let mut pairs: Vec<(String, String)> = Vec::new();
    if let Some(path) = &values.env_file {
        for (i, entry) in parse_env_file(&read(path, "--from-env-file")?)?.into_iter().enumerate() {
            known(&entry.key, format!("--from-env-file, entry {}", i + 1))?;
            pairs.push((entry.key, entry.value));
        }
    }
    let secret = |name: &str| credential_type == CredentialType::Generic || fields.iter().any(|(field, secret)| *secret && *field == name);
    let mut in_history = false;
    for (i, literal) in values.literals.iter().enumerate() {
        let (name, value) = split(literal, "from-literal", i)?;
        known(&name, format!("--from-literal #{}", i + 1))?;
        in_history |= secret(&name);
        pairs.push((name, value));
    }
    if in_history {
        eprintln!("warning: a value given with --from-literal stays in your shell's history; prefer --from-file or --password-stdin");
    }
    for (i, file) in values.files.iter().enumerate() {
        let (name, path) = split(file, "from-file", i)?;
        let place = format!("--from-file #{}", i + 1);
        known(&name, place.clone())?;
        pairs.push((name, read(Path::new(&path), &place)?));
    }
    for (field, secret) in fields {
        if pairs.iter().any(|(name, _)| name == field) {
            continue;
        }
        let value = match (*secret && values.password_stdin, std::io::stdin().is_terminal()) {
            (true, true) => return Err(CliError::Usage("--password-stdin: stdin is a terminal; pipe the value in, or leave the flag out to be asked without echo".into())),
            (true, false) => read_stdin()?,
            (false, true) => prompt(field, *secret)?,
            // Left empty: the server names the field that is missing.
            (false, false) => continue,
        };
        pairs.push((field.to_string(), value));
    }
    Ok(SecretValues::from_fields(credential_type, pairs)?)
}

/// One secret value: from a prompt that does not echo at a terminal, else all of stdin.
pub fn secret_input(label: &str) -> Result<String, CliError> {
    if std::io::stdin().is_terminal() { prompt(label, true) } else { read_stdin() }
}

/// `FIELD=VALUE` of the `i`-th `--flag`; without `=`, refused by position (it may be a value).
fn split(text: &str, flag: &str, i: usize) -> Result<(String, String), CliError> {
    text.split_once('=')
        .filter(|(name, _)| !name.is_empty())
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .ok_or_else(|| CliError::Usage(format!("--{flag} #{}: write FIELD=…", i + 1)))
}

/// A file's text, or stdin's for `-`. A failure names the flag (`place`), not the path: a value
/// given where a path belongs would be repeated otherwise.
pub fn read(path: &Path, place: &str) -> Result<String, CliError> {
    let text = match path == Path::new("-") {
        true => {
            let mut text = String::new();
            std::io::stdin().read_to_string(&mut text).map(|_| text)
        }
        false => std::fs::read_to_string(path),
    };
    text.map_err(|e| CliError::Local(format!("{place}: cannot read the file ({})", e.kind())))
}

/// All of stdin, less the one line ending `echo` or a here-string adds.
pub fn read_stdin() -> Result<String, CliError> {
    let text = read(Path::new("-"), "stdin")?;
    let text = text.strip_suffix('\n').map(|t| t.strip_suffix('\r').unwrap_or(t)).unwrap_or(&text);
    Ok(text.to_string())
}

/// Asks for `label` on stderr and reads a line from the terminal; a secret without echo.
fn prompt(label: &str, secret: bool) -> Result<String, CliError> {
    let echo = Echo::off(secret);
    eprint!("{label}: ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    let read = std::io::stdin().read_line(&mut line);
    drop(echo);
    if secret {
        eprintln!();
    }
    read.map_err(|e| CliError::Local(format!("cannot read {label}: {e}")))?;
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}

/// The terminal's echo, turned off while it lives and back on when it is dropped, even on error;
/// Ctrl-C meanwhile puts it back before the command ends (exit code 130, as a shell reports it),
/// so an interrupted prompt never leaves the terminal silent.
struct Echo {
    saved: Option<libc::termios>,
    interrupt: Option<tokio::task::JoinHandle<()>>,
}

impl Echo {
    fn off(hide: bool) -> Echo {
        let quiet = Echo { saved: None, interrupt: None };
        if !hide {
            return quiet;
        }
        // SAFETY: tcgetattr and tcsetattr read and write a termios for stdin's descriptor; a
        // descriptor that is not a terminal makes them fail, which leaves echo as it was.
        let saved = unsafe {
            let mut saved: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(libc::STDIN_FILENO, &mut saved) != 0 {
                return quiet;
            }
            let mut silent = saved;
            silent.c_lflag &= !libc::ECHO;
            libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &silent);
            saved
        };
        // The prompt blocks this thread; the runtime's other worker watches for Ctrl-C. The
        // handler is in place before this returns, so before the prompt shows.
        let interrupt = tokio::runtime::Handle::try_current().ok().and_then(|runtime| {
            let _entered = runtime.enter();
            let mut interrupted = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()).ok()?;
            Some(runtime.spawn(async move {
                if interrupted.recv().await.is_some() {
                    restore(&saved);
                    eprintln!();
                    std::process::exit(130);
                }
            }))
        });
        Echo { saved: Some(saved), interrupt }
    }
}

fn restore(saved: &libc::termios) {
    // SAFETY: writes back the termios read in `Echo::off`.
    unsafe { libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, saved) };
}

impl Drop for Echo {
    fn drop(&mut self) {
        if let Some(interrupt) = self.interrupt.take() {
            interrupt.abort();
        }
        if let Some(saved) = &self.saved {
            restore(saved);
        }
    }
}
