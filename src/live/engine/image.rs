//! The worker image, built from offsim's own executable without a registry.
//!
//! The image is `FROM scratch`: it holds the executable as `/offsim` and,
//! when the executable is dynamically linked, exactly the files the dynamic
//! loader needs to start it in an empty filesystem. Those are found by
//! reading the ELF file: its `PT_INTERP` program header names the loader,
//! and the `DT_NEEDED` entries of its dynamic section (and, recursively, of
//! each library's) name the shared libraries, which are looked up in the
//! standard library directories and copied (symlinks followed) to the same
//! paths in the image. A static executable is copied alone.
//!
//! The image has no name resolution (`/etc` is empty): workers are given IP
//! addresses only.

use super::docker::{MANAGED_LABEL, WORKER_USER};
use crate::error::{Error, Result};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Directories searched, in this order, for a library named by `DT_NEEDED`.
const LIBRARY_DIRS: [&str; 6] =
    ["/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib"];

/// Path of the executable inside the image.
const IMAGE_EXECUTABLE: &str = "offsim";

/// A worker image, ready to be built by the engine
/// ([`super::docker::Engine::ensure_image`]).
#[derive(Clone, Debug)]
pub struct WorkerImage {
    /// Image reference, `offsim-worker:<version>-<content hash>` unless
    /// replaced with [`WorkerImage::with_tag`].
    pub tag: String,
    /// The build context: an uncompressed tar archive holding the
    /// `Dockerfile` and, under `rootfs/`, the image's files.
    pub context: Vec<u8>,
}

impl WorkerImage {
    /// The image for `exe` (normally [`std::env::current_exe`]).
    ///
    /// The tag carries the first 12 hex digits of the SHA-256 of the build
    /// context, so a rebuilt executable gets a new image and an unchanged one
    /// reuses the image already built.
    pub fn from_executable(exe: &Path) -> Result<WorkerImage> {
        let files = image_files(exe)?;
        let context = build_context(&files)?;
        let digest = Sha256::digest(&context);
        let hash: String = digest.iter().take(6).map(|byte| format!("{byte:02x}")).collect();
        Ok(WorkerImage { tag: format!("offsim-worker:{}-{hash}", env!("CARGO_PKG_VERSION")), context })
    }

    /// The same image under another reference.
    pub fn with_tag(self, tag: String) -> WorkerImage {
        WorkerImage { tag, ..self }
    }
}

/// The files of the image, by path inside the image (no leading `/`).
fn image_files(exe: &Path) -> Result<BTreeMap<String, Vec<u8>>> {
    let bytes = read(exe)?;
    let elf = Elf::parse(&bytes, exe)?;
    let mut files = BTreeMap::new();
    let mut seen = BTreeSet::new();
    if let Some(interp) = &elf.interp {
        let loader = read(Path::new(interp))?;
        files.insert(interp.trim_start_matches('/').to_string(), loader);
        // A dependency on the loader's own name is satisfied by the loader.
        seen.extend(Path::new(interp).file_name().map(|name| name.to_string_lossy().into_owned()));
    }
    let mut pending = elf.needed.clone();
    while let Some(name) = pending.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        let (path, contents, library) = find_library(&name, elf.machine, exe)?;
        pending.extend(library.needed);
        files.insert(path.to_string_lossy().trim_start_matches('/').to_string(), contents);
    }
    files.insert(IMAGE_EXECUTABLE.to_string(), bytes);
    Ok(files)
}

/// Where the library `name` (a soname, or a path if it holds a `/`) is, its
/// contents, and what it needs in turn. Candidates of another architecture
/// are skipped, as the loader would.
fn find_library(name: &str, machine: u16, exe: &Path) -> Result<(PathBuf, Vec<u8>, Elf)> {
    let candidates: Vec<PathBuf> = if name.contains('/') {
        vec![PathBuf::from(name)]
    } else {
        LIBRARY_DIRS.iter().map(|dir| Path::new(dir).join(name)).collect()
    };
    for path in candidates {
        if !path.is_file() {
            continue;
        }
        let contents = read(&path)?;
        if let Ok(library) = Elf::parse(&contents, &path)
            && library.machine == machine
        {
            return Ok((path, contents, library));
        }
    }
    Err(Error::Live(format!(
        "{} needs the shared library {name}, found in none of {}: install it, or build offsim as a static \
         executable (e.g. for the x86_64-unknown-linux-musl target)",
        exe.display(),
        LIBRARY_DIRS.join(", ")
    )))
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::io(path, "reading a file for the worker image", e))
}

/// The build context: the `Dockerfile`, then every file under `rootfs/`.
/// Headers are fixed (owner root, time 0) and paths sorted, so equal files
/// give an equal archive. The labels come first, so every image a build
/// makes carries them, even one left by a build interrupted after its
/// first step (`offsim live --cleanup` finds it by them).
fn build_context(files: &BTreeMap<String, Vec<u8>>) -> Result<Vec<u8>> {
    let dockerfile = format!(
        "FROM scratch\nLABEL {MANAGED_LABEL}=\"true\" io.offsim.version=\"{}\"\nCOPY rootfs/ /\nUSER {WORKER_USER}\n\
         ENTRYPOINT [\"/{IMAGE_EXECUTABLE}\"]\n",
        env!("CARGO_PKG_VERSION")
    );
    let mut archive = tar::Builder::new(Vec::new());
    let entries = std::iter::once(("Dockerfile".to_string(), dockerfile.as_bytes(), 0o644))
        .chain(files.iter().map(|(path, bytes)| (format!("rootfs/{path}"), bytes.as_slice(), 0o755)));
    for (path, bytes, mode) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_size(bytes.len() as u64);
        header.set_mode(mode);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(0);
        archive.append_data(&mut header, &path, bytes).map_err(context_error)?;
    }
    archive.into_inner().map_err(context_error)
}

fn context_error(e: std::io::Error) -> Error {
    Error::Live(format!("cannot assemble the worker image's build context: {e}"))
}

/// What the loader needs to start an ELF file.
#[derive(Debug)]
struct Elf {
    /// `e_machine`: the architecture.
    machine: u16,
    /// `PT_INTERP`: the dynamic loader's path, if dynamically linked.
    interp: Option<String>,
    /// `DT_NEEDED`: the libraries it needs directly.
    needed: Vec<String>,
}

const PT_LOAD: u32 = 1;
const PT_DYNAMIC: u32 = 2;
const PT_INTERP: u32 = 3;
const DT_NULL: u64 = 0;
const DT_NEEDED: u64 = 1;
const DT_STRTAB: u64 = 5;

/// One program header's fields used here.
struct Segment {
    kind: u32,
    offset: u64,
    vaddr: u64,
    filesz: u64,
}

impl Elf {
    /// Parses a 64-bit little-endian ELF file (`path` names it in errors).
    fn parse(bytes: &[u8], path: &Path) -> Result<Elf> {
        let bad = |what: &str| {
            Error::Live(format!(
                "{}: {what}; the worker image is built from a 64-bit little-endian ELF executable of offsim",
                path.display()
            ))
        };
        if bytes.get(..4) != Some(b"\x7fELF".as_slice()) {
            return Err(bad("not an ELF file"));
        }
        if bytes.get(4) != Some(&2) || bytes.get(5) != Some(&1) {
            return Err(bad("not a 64-bit little-endian ELF file"));
        }
        let truncated = || bad("truncated or malformed ELF file");
        let machine = u16_at(bytes, 0x12).ok_or_else(truncated)?;
        let phoff = u64_at(bytes, 0x20).ok_or_else(truncated)?;
        let phentsize = u64::from(u16_at(bytes, 0x36).ok_or_else(truncated)?);
        let phnum = u64::from(u16_at(bytes, 0x38).ok_or_else(truncated)?);
        let segments = (0..phnum)
            .map(|i| {
                let at = phoff.checked_add(i * phentsize)?;
                Some(Segment {
                    kind: u32_at(bytes, at)?,
                    offset: u64_at(bytes, at.checked_add(0x08)?)?,
                    vaddr: u64_at(bytes, at.checked_add(0x10)?)?,
                    filesz: u64_at(bytes, at.checked_add(0x20)?)?,
                })
            })
            .collect::<Option<Vec<_>>>()
            .ok_or_else(truncated)?;
        let mut elf = Elf { machine, interp: None, needed: Vec::new() };
        if let Some(segment) = segments.iter().find(|s| s.kind == PT_INTERP) {
            let text = slice(bytes, segment.offset, segment.filesz).ok_or_else(truncated)?;
            elf.interp = Some(c_string(text).ok_or_else(truncated)?);
        }
        let Some(dynamic) = segments.iter().find(|s| s.kind == PT_DYNAMIC) else {
            return Ok(elf);
        };
        let entries = slice(bytes, dynamic.offset, dynamic.filesz).ok_or_else(truncated)?;
        let mut strtab = None;
        let mut needed = Vec::new();
        for entry in entries.chunks_exact(16) {
            let tag = u64_at(entry, 0).ok_or_else(truncated)?;
            let value = u64_at(entry, 8).ok_or_else(truncated)?;
            match tag {
                DT_NULL => break,
                DT_NEEDED => needed.push(value),
                DT_STRTAB => strtab = Some(value),
                _ => {}
            }
        }
        if needed.is_empty() {
            return Ok(elf);
        }
        // DT_STRTAB is a virtual address: map it to a file offset through
        // the loadable segment that contains it.
        let strtab = strtab
            .and_then(|addr| {
                segments
                    .iter()
                    .find(|s| s.kind == PT_LOAD && s.vaddr <= addr && addr - s.vaddr < s.filesz)
                    .map(|s| addr - s.vaddr + s.offset)
            })
            .ok_or_else(|| bad("dynamic section without a loadable string table"))?;
        for name in needed {
            let text = strtab.checked_add(name).and_then(|at| bytes.get(usize::try_from(at).ok()?..));
            elf.needed.push(text.and_then(c_string).ok_or_else(truncated)?);
        }
        Ok(elf)
    }
}

fn slice(bytes: &[u8], offset: u64, len: u64) -> Option<&[u8]> {
    let start = usize::try_from(offset).ok()?;
    bytes.get(start..start.checked_add(usize::try_from(len).ok()?)?)
}

/// The NUL-terminated UTF-8 string at the start of `bytes`.
fn c_string(bytes: &[u8]) -> Option<String> {
    let end = bytes.iter().position(|&b| b == 0)?;
    String::from_utf8(bytes[..end].to_vec()).ok()
}

fn u16_at(bytes: &[u8], at: u64) -> Option<u16> {
    Some(u16::from_le_bytes(slice(bytes, at, 2)?.try_into().ok()?))
}

fn u32_at(bytes: &[u8], at: u64) -> Option<u32> {
    Some(u32::from_le_bytes(slice(bytes, at, 4)?.try_into().ok()?))
}

fn u64_at(bytes: &[u8], at: u64) -> Option<u64> {
    Some(u64::from_le_bytes(slice(bytes, at, 8)?.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Paths and sizes of the archive's entries.
    fn entries(context: &[u8]) -> BTreeMap<String, u64> {
        let mut archive = tar::Archive::new(context);
        archive
            .entries()
            .unwrap()
            .map(|entry| {
                let entry = entry.unwrap();
                (entry.path().unwrap().to_string_lossy().into_owned(), entry.size())
            })
            .collect()
    }

    #[test]
    fn the_test_executable_brings_its_loader_and_libraries() {
        let exe = std::env::current_exe().unwrap();
        let elf = Elf::parse(&std::fs::read(&exe).unwrap(), &exe).unwrap();
        let image = WorkerImage::from_executable(&exe).unwrap();
        let entries = entries(&image.context);
        assert_eq!(entries["rootfs/offsim"], std::fs::metadata(&exe).unwrap().len());
        assert!(entries.contains_key("Dockerfile"));
        match &elf.interp {
            Some(interp) => {
                assert!(entries.contains_key(&format!("rootfs{interp}")), "{entries:?}");
                assert!(elf.needed.iter().any(|n| n.starts_with("libc.so")), "{:?}", elf.needed);
                assert!(entries.keys().any(|path| path.ends_with("/libc.so.6")), "{entries:?}");
            }
            None => assert_eq!(entries.len(), 2, "{entries:?}"),
        }
        // Deterministic: the same executable gives the same context and tag.
        let again = WorkerImage::from_executable(&exe).unwrap();
        assert_eq!(again.context, image.context);
        let tag = image.tag.strip_prefix(concat!("offsim-worker:", env!("CARGO_PKG_VERSION"), "-")).unwrap();
        assert!(tag.len() == 12 && tag.bytes().all(|b| b.is_ascii_hexdigit()), "{}", image.tag);
        assert_eq!(again.with_tag("x:y".into()).tag, "x:y");
    }

    #[test]
    fn the_dockerfile_is_scratch_non_root_with_the_executable_as_entrypoint() {
        let mut files = BTreeMap::new();
        files.insert("offsim".to_string(), vec![1, 2, 3]);
        let context = build_context(&files).unwrap();
        let mut archive = tar::Archive::new(context.as_slice());
        let mut dockerfile = String::new();
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            if entry.path().unwrap() == Path::new("Dockerfile") {
                std::io::Read::read_to_string(&mut entry, &mut dockerfile).unwrap();
            }
        }
        assert!(dockerfile.starts_with("FROM scratch\nLABEL io.offsim.managed=\"true\""), "labels first: {dockerfile}");
        assert!(dockerfile.contains("USER 65534:65534\n"), "{dockerfile}");
        assert!(dockerfile.contains("ENTRYPOINT [\"/offsim\"]\n"), "{dockerfile}");
        assert!(dockerfile.contains("io.offsim.managed=\"true\""), "{dockerfile}");
    }

    #[test]
    fn other_files_are_refused_clearly() {
        let path = Path::new("x");
        let message = |bytes: &[u8]| Elf::parse(bytes, path).unwrap_err().to_string();
        assert!(message(b"#!/bin/sh\n").contains("not an ELF file"));
        let mut elf32 = b"\x7fELF\x01\x01\x01".to_vec();
        elf32.resize(64, 0);
        assert!(message(&elf32).contains("not a 64-bit little-endian ELF file"));
        let mut truncated = b"\x7fELF\x02\x01\x01".to_vec();
        truncated.resize(20, 0);
        assert!(message(&truncated).contains("truncated"));
        let missing = WorkerImage::from_executable(Path::new("/nonexistent/offsim")).unwrap_err();
        assert!(missing.to_string().contains("/nonexistent/offsim"), "{missing}");
    }
}
