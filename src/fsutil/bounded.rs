//! Bounded reads of what the user names (a policy file, standard input, a token file) or
//! the system provides: never more than a ceiling that fits the purpose, so `/dev/zero` or a
//! runaway pipe is an error at the ceiling, not a process that eats the machine's memory.
//! Links are followed and pipes waited on here: the user chose the source.

use std::io::{self, Read};
use std::path::Path;

/// Reads all of `reader`, refusing more than `ceiling` bytes (an
/// [`io::ErrorKind::FileTooLarge`] error saying the ceiling).
pub(crate) fn read_at_most(reader: impl Read, ceiling: u64) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    reader
        .take(ceiling.saturating_add(1))
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > ceiling {
        return Err(io::Error::new(
            io::ErrorKind::FileTooLarge,
            format!("larger than {} (the limit)", size(ceiling)),
        ));
    }
    Ok(bytes)
}

/// [`read_at_most`] of the file at `path`.
pub(crate) fn read_file_at_most(path: &Path, ceiling: u64) -> io::Result<Vec<u8>> {
    read_at_most(std::fs::File::open(path)?, ceiling)
}

/// [`read_file_at_most`] as text; not UTF-8 is an [`io::ErrorKind::InvalidData`] error.
pub(crate) fn read_text_at_most(path: &Path, ceiling: u64) -> io::Result<String> {
    String::from_utf8(read_file_at_most(path, ceiling)?)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "not UTF-8 text"))
}

/// The text the user named by `path`, `-` being standard input: at most `ceiling` bytes of
/// UTF-8, a leading byte-order mark dropped (spreadsheets write one).
pub(crate) fn read_input_text(path: &str, ceiling: u64) -> io::Result<String> {
    let bytes = if path == "-" {
        read_at_most(io::stdin(), ceiling)?
    } else {
        read_file_at_most(Path::new(path), ceiling)?
    };
    let text = String::from_utf8(bytes)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "not UTF-8 text"))?;
    Ok(match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_string(),
        None => text,
    })
}

/// `32 KiB`, `16 MiB` or `300 bytes`.
fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{} KiB", b >> 10),
        b => format!("{b} bytes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_up_to_the_ceiling_and_refuses_more() {
        assert_eq!(read_at_most(&b"abc"[..], 3).unwrap(), b"abc");
        let e = read_at_most(&b"abcd"[..], 3).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::FileTooLarge);
        assert_eq!(e.to_string(), "larger than 3 bytes (the limit)");
        let zero = std::fs::File::open("/dev/zero").unwrap();
        let e = read_at_most(zero, 32 * 1024).unwrap_err();
        assert_eq!(e.to_string(), "larger than 32 KiB (the limit)");
    }
}
