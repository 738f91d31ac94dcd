//! Streams `tasks.csv` and `utilisation.csv` rows to their files as the run
//! produces them.
//!
//! `tasks.csv` columns: task_id, device, device_class, priority, placement,
//! node, arrival_ms, start_ms, finish_ms, wait_ms, upload_ms, startup_ms,
//! exec_ms, download_ms, latency_ms, deadline_ms, deadline_met, end_reason,
//! energy_j, warmup. Times are exact milliseconds since the start of the
//! run; `start_ms` is when the task's own work started executing (empty if
//! it never did); `deadline_ms` is absolute.

use super::atomic::PendingFile;
use super::ms;
use crate::error::{Error, Result};
use crate::metrics::{SampleRow, TaskRecord};
use crate::policy::Placement;
use crate::sim::Sink;
use std::io::Write;

/// Header of `tasks.csv`.
pub const TASKS_HEADER: &str = "task_id,device,device_class,priority,placement,node,arrival_ms,start_ms,finish_ms,\
wait_ms,upload_ms,startup_ms,exec_ms,download_ms,latency_ms,deadline_ms,deadline_met,end_reason,energy_j,warmup";

/// Header of `utilisation.csv`.
pub const UTILISATION_HEADER: &str = "time_s,kind,group,name,utilisation,power_w";

/// Writes rows to the per-task and utilisation files (each optional).
pub struct CsvSink {
    tasks: Option<PendingFile>,
    utilisation: Option<PendingFile>,
}

fn fail(f: &PendingFile, e: std::io::Error) -> Error {
    Error::io(f.target(), "cannot write", e)
}

impl CsvSink {
    /// A sink over the given files; writes their headers.
    pub fn new(mut tasks: Option<PendingFile>, mut utilisation: Option<PendingFile>) -> Result<Self> {
        for (file, header) in [(&mut tasks, TASKS_HEADER), (&mut utilisation, UTILISATION_HEADER)] {
            if let Some(f) = file {
                writeln!(f.writer(), "{header}").map_err(|e| fail(f, e))?;
            }
        }
        Ok(Self { tasks, utilisation })
    }

    /// The files, for finishing.
    pub fn into_files(self) -> (Option<PendingFile>, Option<PendingFile>) {
        (self.tasks, self.utilisation)
    }
}

impl Sink for CsvSink {
    fn task(&mut self, r: &TaskRecord<'_>) -> Result<()> {
        let Some(f) = &mut self.tasks else { return Ok(()) };
        let placement = match r.placement {
            Placement::Local => "local",
            Placement::Offload(_) => "offload",
        };
        let opt_ms = |t: Option<crate::engine::SimTime>| t.map(|t| ms(t.as_nanos())).unwrap_or_default();
        let met = match r.deadline_met {
            Some(true) => "true",
            Some(false) => "false",
            None => "",
        };
        let p = r.phases;
        writeln!(
            f.writer(),
            "{},{}-{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{:.9},{}",
            r.id,
            r.device_class,
            r.device_index,
            r.device_class,
            r.priority,
            placement,
            r.node.unwrap_or(""),
            ms(r.arrival.as_nanos()),
            opt_ms(r.exec_start),
            ms(r.end.as_nanos()),
            ms(p[0]),
            ms(p[1]),
            ms(p[2]),
            ms(p[3]),
            ms(p[4]),
            ms(r.end.since(r.arrival)),
            opt_ms(r.deadline),
            met,
            r.reason.as_str(),
            r.energy_j,
            u8::from(r.in_warmup),
        )
        .map_err(|e| fail(f, e))
    }

    fn sample(&mut self, r: &SampleRow<'_>) -> Result<()> {
        let Some(f) = &mut self.utilisation else { return Ok(()) };
        let w = f.writer();
        let result = match r.index {
            Some(i) => writeln!(
                w,
                "{:.6},{},{},{}-{},{:.6},{:.6}",
                r.time.as_secs_f64(),
                r.kind,
                r.group,
                r.name,
                i,
                r.utilisation,
                r.power_w
            ),
            None => writeln!(
                w,
                "{:.6},{},{},{},{:.6},{:.6}",
                r.time.as_secs_f64(),
                r.kind,
                r.group,
                r.name,
                r.utilisation,
                r.power_w
            ),
        };
        result.map_err(|e| fail(f, e))
    }
}
