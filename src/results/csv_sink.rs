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
use crate::error::{Error, Result};
use crate::metrics::Sink;
use crate::metrics::{SampleRow, TaskRecord};
use crate::policy::Placement;
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
    /// One row, rebuilt for every task without allocating.
    line: Vec<u8>,
}

fn fail(f: &PendingFile, e: std::io::Error) -> Error {
    Error::io(f.target(), "cannot write", e)
}

/// Appends the decimal digits of `v`.
fn push_u64(line: &mut Vec<u8>, mut v: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    line.extend_from_slice(&digits[i..]);
}

/// Appends nanoseconds as exact milliseconds with six decimals, then a comma.
fn push_ms(line: &mut Vec<u8>, ns: u64) {
    push_u64(line, ns / 1_000_000);
    let frac = ns % 1_000_000;
    line.push(b'.');
    let mut digits = [b'0'; 6];
    let mut f = frac;
    for d in digits.iter_mut().rev() {
        *d = b'0' + (f % 10) as u8;
        f /= 10;
    }
    line.extend_from_slice(&digits);
    line.push(b',');
}

/// Appends `v` as `format!("{v:.9}")` would (exact value rounded half to
/// even at nine decimals), without the formatting machinery: the value's
/// exact binary fraction is scaled by 10^9 in 128-bit integers. Values the
/// fast path does not cover (negative, huge, not finite) take `format!`'s.
fn push_f64_9(line: &mut Vec<u8>, v: f64) {
    const SCALE: u128 = 1_000_000_000;
    if !(0.0..1e15).contains(&v) || v.is_sign_negative() {
        write!(line, "{v:.9}").expect("writing to a Vec cannot fail");
        return;
    }
    let bits = v.to_bits();
    let exp_bits = ((bits >> 52) & 0x7ff) as i32;
    let frac = u128::from(bits & ((1 << 52) - 1));
    let (mantissa, exp) = if exp_bits == 0 { (frac, -1074) } else { (frac | (1 << 52), exp_bits - 1075) };
    // v * 10^9 = mantissa * 10^9 / 2^shift, with mantissa * 10^9 < 2^83 and
    // shift > 0 since v < 1e15 < 2^52.
    let scaled = mantissa * SCALE;
    let shift = (-exp) as u32;
    let n = if shift >= 128 {
        0 // below half a unit of the ninth decimal
    } else {
        let (q, r, half) = (scaled >> shift, scaled & ((1 << shift) - 1), 1u128 << (shift - 1));
        if r > half || (r == half && q & 1 == 1) { q + 1 } else { q }
    };
    push_u64(line, (n / SCALE) as u64);
    line.push(b'.');
    let mut digits = [b'0'; 9];
    let mut f = (n % SCALE) as u64;
    for d in digits.iter_mut().rev() {
        *d = b'0' + (f % 10) as u8;
        f /= 10;
    }
    line.extend_from_slice(&digits);
}

fn push_field(line: &mut Vec<u8>, s: &str) {
    line.extend_from_slice(s.as_bytes());
    line.push(b',');
}

impl CsvSink {
    /// A sink over the given files; writes their headers.
    pub fn new(mut tasks: Option<PendingFile>, mut utilisation: Option<PendingFile>) -> Result<Self> {
        for (file, header) in [(&mut tasks, TASKS_HEADER), (&mut utilisation, UTILISATION_HEADER)] {
            if let Some(f) = file {
                writeln!(f.writer(), "{header}").map_err(|e| fail(f, e))?;
            }
        }
        Ok(Self { tasks, utilisation, line: Vec::with_capacity(512) })
    }

    /// The files, for finishing.
    pub fn into_files(self) -> (Option<PendingFile>, Option<PendingFile>) {
        (self.tasks, self.utilisation)
    }
}

impl Sink for CsvSink {
    fn task(&mut self, r: &TaskRecord<'_>) -> Result<()> {
        let Some(f) = &mut self.tasks else { return Ok(()) };
        let line = &mut self.line;
        line.clear();
        push_u64(line, r.id);
        line.push(b',');
        line.extend_from_slice(r.device_class.as_bytes());
        line.push(b'-');
        push_u64(line, u64::from(r.device_index));
        line.push(b',');
        push_field(line, r.device_class);
        push_u64(line, u64::from(r.priority));
        line.push(b',');
        push_field(line, if matches!(r.placement, Placement::Local) { "local" } else { "offload" });
        push_field(line, r.node.unwrap_or(""));
        push_ms(line, r.arrival.as_nanos());
        match r.exec_start {
            Some(t) => push_ms(line, t.as_nanos()),
            None => line.push(b','),
        }
        push_ms(line, r.end.as_nanos());
        for p in r.phases {
            push_ms(line, p);
        }
        push_ms(line, r.end.since(r.arrival));
        match r.deadline {
            Some(t) => push_ms(line, t.as_nanos()),
            None => line.push(b','),
        }
        push_field(
            line,
            match r.deadline_met {
                Some(true) => "true",
                Some(false) => "false",
                None => "",
            },
        );
        push_field(line, r.reason.as_str());
        push_f64_9(line, r.energy_j);
        line.extend_from_slice(if r.in_warmup { b",1\n" } else { b",0\n" });
        f.writer().write_all(line).map_err(|e| fail(f, e))
    }

    fn sample(&mut self, r: &SampleRow<'_>) -> Result<()> {
        let Some(f) = &mut self.utilisation else { return Ok(()) };
        let w = f.writer();
        // One row per entity and interval: far rarer than task rows.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_formatted_exactly() {
        let mut line = Vec::new();
        push_u64(&mut line, 0);
        line.push(b' ');
        push_u64(&mut line, u64::MAX);
        line.push(b' ');
        push_ms(&mut line, 1_234_567_891);
        push_ms(&mut line, 5);
        assert_eq!(String::from_utf8(line).unwrap(), "0 18446744073709551615 1234.567891,0.000005,");
    }

    #[test]
    fn nine_decimals_match_the_standard_formatting() {
        let check = |v: f64| {
            let mut line = Vec::new();
            push_f64_9(&mut line, v);
            assert_eq!(String::from_utf8(line).unwrap(), format!("{v:.9}"), "{v:e} ({:#x})", v.to_bits());
        };
        // Exact ties at the tenth decimal (odd multiples of 2^-10, 2^-11, ...)
        // round half to even; then edge cases and random values of every scale.
        for k in 0..5_000u32 {
            for shift in [10, 11, 12, 20] {
                check(f64::from(2 * k + 1) / f64::from(1u32 << shift));
            }
        }
        for v in [0.0, -0.0, 5e-10, 4.9999999999e-10, 1e-300, f64::MIN_POSITIVE, 5e-324, 0.1, 1.0, 999.9999999995] {
            check(v);
        }
        for v in [1e15, 1e20, -1.5, f64::NAN, f64::INFINITY] {
            check(v);
        }
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let scale = 10f64.powi((x % 26) as i32 - 12);
            check((x >> 11) as f64 / (1u64 << 53) as f64 * scale);
        }
    }
}
