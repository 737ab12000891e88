//! What can go wrong: catalogue problems (located, all of them), I/O, stale output.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// One problem in the catalogue, located by schema file and the path inside it.
///
/// Displays as `schema/kinds/refund-success.yaml: fields.amount.type: unknown type `Amout``.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    /// The schema file, relative to the repository root (`schema/kinds/x.yaml`).
    pub file: String,
    /// The path inside the file (`fields.amount.type`); empty for the whole file.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl Problem {
    /// A problem at `path` in `file`.
    pub fn new(file: &str, path: impl Into<String>, message: impl Into<String>) -> Self {
        Problem {
            file: file.to_owned(),
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(f, "{}: {}: {}", self.file, self.path, self.message)
        }
    }
}

/// Why [`generate`](crate::generate) failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// Reading a schema file or reading/writing generated output failed.
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The catalogue has problems; every one found is listed, in file order.
    Catalogue(Vec<Problem>),
    /// Generated code did not parse as Rust: a bug in the generator.
    Render {
        /// The output file being rendered.
        file: String,
        /// The parse error.
        source: syn::Error,
    },
    /// Check mode: generated files differ from what the catalogue gives (or should not exist).
    Stale {
        /// The stale, missing or orphan files, relative to the repository root.
        files: Vec<String>,
    },
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { path, .. } => write!(f, "cannot access {}", path.display()),
            Error::Catalogue(problems) => {
                let n = problems.len();
                write!(
                    f,
                    "the catalogue has {n} problem{}:",
                    if n == 1 { "" } else { "s" }
                )?;
                for p in problems {
                    write!(f, "\n  {p}")?;
                }
                Ok(())
            }
            Error::Render { file, source } => {
                write!(
                    f,
                    "generated code for {file} is not valid Rust (generator bug): {source}"
                )
            }
            Error::Stale { files } => {
                f.write_str("generated code is out of date; run `cargo xtask codegen`:")?;
                for file in files {
                    write!(f, "\n  {file}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            Error::Render { source, .. } => Some(source),
            Error::Catalogue(_) | Error::Stale { .. } => None,
        }
    }
}
