//! A reader that lets only line-structured text through: a line longer than
//! [`MAX_LINE_BYTES`] or a NUL byte (a binary file, `/dev/zero`) ends the
//! read with an error at once, so a trace that is not a CSV file fails
//! quickly and in bounded memory instead of being buffered for ever.

use std::io::{self, Read};

/// Longest line a trace may have (a row of every column with long label
/// lists fits many times over).
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// Wraps a reader, counting lines and checking every byte it passes on.
pub struct TextGuard<R> {
    inner: R,
    /// 1-based line of the next byte.
    line: u64,
    /// Bytes of that line read so far.
    line_bytes: usize,
}

impl<R: Read> TextGuard<R> {
    /// Guards the reads of `inner`, from its first line.
    pub fn new(inner: R) -> Self {
        Self { inner, line: 1, line_bytes: 0 }
    }

    /// The line being read (where a guard error happened).
    pub fn line(&self) -> u64 {
        self.line
    }
}

impl<R: Read> Read for TextGuard<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        for &b in &buf[..n] {
            match b {
                b'\n' => {
                    self.line += 1;
                    self.line_bytes = 0;
                }
                0 => {
                    return Err(io::Error::new(io::ErrorKind::InvalidData, "a NUL byte: this is not a text CSV file"));
                }
                _ => {
                    self.line_bytes += 1;
                    if self.line_bytes > MAX_LINE_BYTES {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            format!("the line is longer than {MAX_LINE_BYTES} bytes: this is not a trace row"),
                        ));
                    }
                }
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(input: &[u8]) -> (io::Result<Vec<u8>>, u64) {
        let mut g = TextGuard::new(input);
        let mut out = Vec::new();
        let r = g.read_to_end(&mut out).map(|_| out);
        (r, g.line())
    }

    #[test]
    fn text_passes_unchanged() {
        let (r, line) = read_all(b"a,b\n1,2\n");
        assert_eq!(r.unwrap(), b"a,b\n1,2\n");
        assert_eq!(line, 3);
    }

    #[test]
    fn a_nul_byte_or_an_endless_line_fails_at_its_line() {
        let (r, line) = read_all(b"a,b\n\0\0");
        assert!(r.unwrap_err().to_string().contains("NUL byte"));
        assert_eq!(line, 2);
        let long = vec![b'x'; MAX_LINE_BYTES + 1];
        let (r, line) = read_all(&long);
        assert!(r.unwrap_err().to_string().contains("longer than 65536 bytes"));
        assert_eq!(line, 1);
    }
}
