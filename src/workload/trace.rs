//! Replaying a task trace: a CSV file with one row per task, read row by row
//! (see docs/trace-format.md).
//!
//! Columns (header required, any order): `task_id`, `arrival_ms`, `device`,
//! `work_mcycles` are required; `input_kb`, `output_kb`, `memory_mb`,
//! `image`, `priority`, `deadline_ms`, `node_selector`, `tolerations` are
//! optional (0 / none when absent or empty; the last two are `;`-separated
//! names). Rows must be sorted by `arrival_ms`, and `task_id`s must increase
//! strictly, which lets duplicates be caught without remembering every id.

use super::text::TextGuard;
use crate::engine::{SimTime, nanos_from_millis};
use crate::error::{Error, Result, clip_lines, excerpt};
use crate::model::{TaskAttrs, World};
use crate::scenario::bounds::MAX_STAGE_S;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;

/// Every column a trace may have, required ones first.
pub const TRACE_COLUMNS: [&str; 12] = [
    "task_id",
    "arrival_ms",
    "device",
    "work_mcycles",
    "input_kb",
    "output_kb",
    "memory_mb",
    "image",
    "priority",
    "deadline_ms",
    "node_selector",
    "tolerations",
];
const REQUIRED: usize = 4;

/// Largest number a trace field may hold, in the field's unit: 10^12 ms is
/// 31 years of simulated time, 10^12 kB a petabyte. Larger values would
/// overflow the nanosecond clock or byte counters. Each row's work and
/// messages must also take at most a year (`scenario::bounds`) on the
/// slowest processor and link of the run.
pub const MAX_VALUE: f64 = 1e12;

/// One task of the trace.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct TraceRow {
    /// The row's `task_id`.
    pub id: u64,
    /// When the task arrives (`arrival_ms`, rounded to the nanosecond).
    pub arrival: SimTime,
    /// Index of the device named in the row.
    pub device: u32,
    /// The task's work, sizes, image, priority, deadline and constraint set.
    pub attrs: TaskAttrs,
}

/// Reads a trace row by row, checking each row as it comes.
pub struct TraceReader {
    file: String,
    reader: csv::Reader<TextGuard<BufReader<File>>>,
    record: csv::StringRecord,
    columns: [Option<usize>; 12],
    /// Reused for the `;`-separated label lists.
    selector: Vec<String>,
    tolerations: Vec<String>,
    previous: Option<(SimTime, u64)>,
    /// The slowest processor (Hz) and link (bit/s) of the world, found at
    /// the first row.
    slowest: Option<(f64, f64)>,
}

impl TraceReader {
    /// Opens `path` and checks its header.
    pub fn open(path: &Path) -> Result<Self> {
        let file = path.display().to_string();
        let f = File::open(path).map_err(|e| Error::io(path, "cannot open trace", e))?;
        let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(TextGuard::new(BufReader::new(f)));
        let header = match reader.headers() {
            Ok(h) => h.clone(),
            Err(e) => {
                let (line, message) = match e.kind() {
                    csv::ErrorKind::Io(io) => (reader.get_ref().line(), io.to_string()),
                    _ => (1, format!("cannot read the header: {e}")),
                };
                return Err(Error::Trace { file, line, message });
            }
        };
        let mut columns = [None; 12];
        for (i, h) in header.iter().enumerate() {
            match TRACE_COLUMNS.iter().position(|c| *c == h) {
                Some(c) if columns[c].is_some() => {
                    let h = excerpt(h);
                    return Err(Error::Trace { file, line: 1, message: format!("column `{h}` appears twice") });
                }
                Some(c) => columns[c] = Some(i),
                None => {
                    return Err(Error::Trace {
                        file,
                        line: 1,
                        message: format!(
                            "unknown column `{}`; expected columns: {}",
                            excerpt(h),
                            TRACE_COLUMNS.join(", ")
                        ),
                    });
                }
            }
        }
        if let Some(missing) = (0..REQUIRED).find(|&c| columns[c].is_none()) {
            return Err(Error::Trace {
                file,
                line: 1,
                message: format!("missing required column `{}`", TRACE_COLUMNS[missing]),
            });
        }
        Ok(Self {
            file,
            reader,
            record: csv::StringRecord::new(),
            columns,
            selector: Vec::new(),
            tolerations: Vec::new(),
            previous: None,
            slowest: None,
        })
    }

    /// The next row, checked against `world`; `None` at the end of the file.
    pub fn next_row(&mut self, world: &mut World) -> Result<Option<TraceRow>> {
        let more = match self.reader.read_record(&mut self.record) {
            Ok(more) => more,
            Err(e) => {
                let (line, message) = match e.kind() {
                    csv::ErrorKind::Io(io) => (self.reader.get_ref().line(), io.to_string()),
                    _ => (e.position().map_or(0, |p| p.line()), format!("malformed CSV: {e}")),
                };
                return Err(Error::Trace { file: self.file.clone(), line, message: clip_lines(&message) });
            }
        };
        if !more {
            return Ok(None);
        }
        let line = self.record.position().map_or(0, |p| p.line());
        let fail = |message: String| Error::Trace { file: self.file.clone(), line, message };
        let field = |c: usize| self.columns[c].and_then(|i| self.record.get(i)).filter(|s| !s.is_empty());
        let number = |c: usize, required: bool| -> Result<f64> {
            match field(c) {
                None if required => Err(fail(format!("`{}` is empty; expected a number", TRACE_COLUMNS[c]))),
                None => Ok(0.0),
                Some(s) => match s.parse::<f64>() {
                    Ok(v) if v.is_finite() && (0.0..=MAX_VALUE).contains(&v) => Ok(v),
                    _ => {
                        let s = excerpt(s);
                        Err(fail(format!("`{}` is `{s}`; expected a number from 0 to {MAX_VALUE:e}", TRACE_COLUMNS[c])))
                    }
                },
            }
        };
        let id_text = field(0).unwrap_or("");
        let id: u64 = id_text
            .parse()
            .map_err(|_| fail(format!("`task_id` is `{}`; expected a non-negative integer", excerpt(id_text))))?;
        let arrival = SimTime(nanos_from_millis(number(1, true)?));
        let device_name = field(2).unwrap_or("");
        let device = world.device_by_name(device_name).ok_or_else(|| {
            let classes: Vec<String> =
                world.classes.iter().map(|c| format!("{}-0..{}-{}", c.name, c.name, c.count - 1)).collect();
            fail(format!("unknown device `{}`; expected one of: {}", excerpt(device_name), classes.join(", ")))
        })?;
        let work = number(3, true)?;
        let image = match field(7) {
            None => None,
            Some(name) => Some(world.images.iter().position(|i| i.name == name).ok_or_else(|| {
                let names: Vec<&str> = world.images.iter().map(|i| i.name.as_str()).collect();
                fail(format!("unknown image `{}`; expected one of: {}", excerpt(name), names.join(", ")))
            })? as u16),
        };
        let priority = match field(8) {
            None => 0,
            Some(s) => s
                .parse::<u8>()
                .map_err(|_| fail(format!("`priority` is `{}`; expected an integer 0..=255", excerpt(s))))?,
        };
        let deadline_ns = match field(9) {
            None => None,
            Some(_) => {
                let d = number(9, true)?;
                if d <= 0.0 {
                    return Err(fail("`deadline_ms` must be > 0".into()));
                }
                Some(nanos_from_millis(d))
            }
        };
        if let Some((prev_arrival, prev_id)) = self.previous {
            if arrival < prev_arrival {
                return Err(fail(format!(
                    "rows are not sorted: arrival_ms {} comes after {}; sort the trace by arrival_ms",
                    arrival.as_nanos() as f64 / 1e6,
                    prev_arrival.as_nanos() as f64 / 1e6
                )));
            }
            if id <= prev_id {
                return Err(fail(format!(
                    "task_id {id} is not greater than the previous row's {prev_id}: ids must be unique and increasing"
                )));
            }
        }
        let mut lists = [std::mem::take(&mut self.selector), std::mem::take(&mut self.tolerations)];
        for (list, column) in lists.iter_mut().zip([10, 11]) {
            list.clear();
            for label in field(column).unwrap_or("").split(';').map(str::trim).filter(|l| !l.is_empty()) {
                let valid = label.starts_with(|c: char| c.is_ascii_alphabetic())
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
                if !valid {
                    return Err(fail(format!(
                        "`{}` has `{}`; expected `;`-separated names (a letter, then letters, digits, `-`, `_`)",
                        TRACE_COLUMNS[column],
                        excerpt(label)
                    )));
                }
                list.push(label.to_string());
            }
        }
        let constraint = world
            .constraints
            .intern(&lists[0], &lists[1])
            .ok_or_else(|| fail("more than 65,536 distinct node_selector/tolerations pairs".into()))?;
        [self.selector, self.tolerations] = lists;
        self.previous = Some((arrival, id));
        let (slowest_hz, slowest_bps) = *self.slowest.get_or_insert_with(|| slowest(world));
        let stage = |column: usize, seconds: f64, on: String| -> Result<()> {
            if seconds <= MAX_STAGE_S {
                return Ok(());
            }
            Err(fail(format!(
                "`{}` takes {seconds:.3e} s {on}; at most {MAX_STAGE_S:.5e} s (one year) is supported",
                TRACE_COLUMNS[column]
            )))
        };
        stage(3, work * 1e6 / slowest_hz, format!("on the slowest processor ({} GHz)", slowest_hz / 1e9))?;
        let (input_kb, output_kb) = (number(4, false)?, number(5, false)?);
        for (column, kb) in [(4, input_kb), (5, output_kb)] {
            stage(column, kb * 8e3 / slowest_bps, format!("on the slowest link ({} Mbps)", slowest_bps / 1e6))?;
        }
        let attrs = TaskAttrs {
            work_cycles: work * 1e6,
            input_bytes: (input_kb * 1e3).round() as u64,
            output_bytes: (output_kb * 1e3).round() as u64,
            memory_bytes: (number(6, false)? * 1e6).round() as u64,
            image,
            priority,
            deadline_ns,
            constraint,
        };
        Ok(Some(TraceRow { id, arrival, device, attrs }))
    }
}

/// The slowest processor (Hz) and link (bit/s) of `world`.
fn slowest(world: &World) -> (f64, f64) {
    let hz = world.classes.iter().map(|c| c.speed_hz).chain(world.nodes.iter().map(|n| n.speed_hz));
    let bps = world.links.iter().map(|l| l.params().bandwidth_bps);
    (hz.fold(f64::INFINITY, f64::min), bps.fold(f64::INFINITY, f64::min))
}
