//! Helpers shared by the integration tests: temporary directories, running
//! the `offsim` binary, reading the files it writes, decoding plots, and the
//! statistics several checks need.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::{OsStr, OsString};
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// A path inside the crate: `tests/fixtures/...`, `scenarios/...`.
pub fn repo(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

/// A fresh directory under the system temporary directory, removed (with
/// everything in it) when dropped, even when the test fails.
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// A new empty directory whose name includes `suite` and `tag`.
    pub fn new(suite: &str, tag: &str) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("offsim-{suite}-{}-{n}-{tag}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
        TempDir(path)
    }

    /// A path inside the directory.
    pub fn join(&self, p: &str) -> PathBuf {
        self.0.join(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

// ---- running the binary ------------------------------------------------

/// The `offsim` binary as a command, without the variables that change what
/// it does (`CI`, a Slurm array task's), so that a test does not depend on
/// where it runs.
pub fn offsim() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_offsim"));
    for v in ["CI", "SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_MIN", "SLURM_ARRAY_TASK_COUNT"] {
        c.env_remove(v);
    }
    c
}

/// `offsim ARGS`, run to its end.
pub fn run(args: &[impl AsRef<OsStr>]) -> Output {
    offsim().args(args).output().expect("offsim runs")
}

/// Stdout, then stderr, of a run: for messages.
pub fn text(o: &Output) -> String {
    format!("{}\n{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// The stdout of a run that must have succeeded.
pub fn succeeded(o: &Output) -> String {
    assert!(o.status.success(), "{}", text(o));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A run taking longer than this has hung; it is killed and the test fails.
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// What one run of the binary did.
pub struct Outcome {
    pub command: String,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    pub fn describe(&self) -> String {
        format!(
            "`{}` exited with {}\n--- stdout\n{}--- stderr\n{}",
            self.command,
            self.code.map_or_else(|| "a signal (or was killed after hanging)".to_string(), |c| c.to_string()),
            self.stdout,
            self.stderr
        )
    }
}

/// Runs `offsim ARGS` with the working directory `tmp` (so a default
/// `results/` directory would land there), capturing its output in files
/// under `tmp`; kills it after [`TIMEOUT`].
pub fn run_in(tmp: &TempDir, args: &[OsString]) -> Outcome {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let n = RUNS.fetch_add(1, Ordering::Relaxed);
    let (out_path, err_path) = (tmp.join(&format!("run-{n}.stdout")), tmp.join(&format!("run-{n}.stderr")));
    let command = std::iter::once("offsim".to_string())
        .chain(args.iter().map(|a| a.to_string_lossy().into_owned()))
        .collect::<Vec<_>>()
        .join(" ");
    let mut child = offsim()
        .args(args)
        .current_dir(&tmp.0)
        .stdin(Stdio::null())
        .stdout(File::create(&out_path).expect("stdout file"))
        .stderr(File::create(&err_path).expect("stderr file"))
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start `{command}`: {e}"));
    let code = wait_with_timeout(&mut child, TIMEOUT);
    let stdout = fs::read_to_string(&out_path).unwrap_or_default();
    let stderr = fs::read_to_string(&err_path).unwrap_or_default();
    let _ = fs::remove_file(out_path);
    let _ = fs::remove_file(err_path);
    Outcome { command, code, stdout, stderr }
}

/// Waits for `child` at most `timeout`; kills it when it takes longer (a
/// hang). Returns its exit code, `None` if it was killed or died by a signal.
pub fn wait_with_timeout(child: &mut Child, timeout: Duration) -> Option<i32> {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait for offsim") {
            return status.code();
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

// ---- reading what it wrote -----------------------------------------------

/// The records of a CSV file, its header left out.
pub fn rows(path: &Path) -> Vec<csv::StringRecord> {
    csv::Reader::from_path(path).unwrap().records().map(Result::unwrap).collect()
}

/// The header of a CSV file.
pub fn header(path: &Path) -> Vec<String> {
    csv::Reader::from_path(path).unwrap().headers().unwrap().iter().map(String::from).collect()
}

/// A CSV file as rows of cells named by the header.
pub fn table(path: &Path) -> Vec<BTreeMap<String, String>> {
    let header = header(path);
    rows(path).iter().map(|rec| header.iter().cloned().zip(rec.iter().map(String::from)).collect()).collect()
}

/// Every file under `dir` with its contents, hidden ones and those in
/// subdirectories included, by path relative to `dir`.
pub fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap_or_else(|e| panic!("cannot list {}: {e}", d.display())) {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                files.insert(p.strip_prefix(dir).unwrap().to_path_buf(), fs::read(&p).unwrap());
            }
        }
    }
    files
}

/// What a PNG shows.
pub struct Png {
    pub size: (u32, u32),
    /// Distinct colours.
    pub colours: usize,
    /// Fraction of pixels that are not white.
    pub inked: f64,
}

/// Decodes a PNG.
pub fn png_content(path: &Path) -> Png {
    let decoder = png::Decoder::new(File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let samples = info.color_type.samples();
    let pixels: Vec<(u8, u8, u8)> = buf[..info.buffer_size()].chunks(samples).map(|p| (p[0], p[1], p[2])).collect();
    let colours: BTreeSet<_> = pixels.iter().collect();
    let inked = pixels.iter().filter(|&&p| p != (255, 255, 255)).count();
    Png { size: (info.width, info.height), colours: colours.len(), inked: inked as f64 / pixels.len() as f64 }
}

// ---- statistics ------------------------------------------------------------

/// Mean and standard error of the mean.
pub fn mean_se(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, (var / n).sqrt())
}

/// Erlang C: the probability that an arrival waits in M/M/c with offered
/// load `a` = lambda / mu.
pub fn erlang_c(c: u32, a: f64) -> f64 {
    let rho = a / f64::from(c);
    let mut term = 1.0; // a^k / k!
    let mut below = 0.0; // sum of a^k / k! for k < c
    for k in 0..c {
        below += term;
        term *= a / f64::from(k + 1);
    }
    let waiting = term / (1.0 - rho);
    waiting / (below + waiting)
}
