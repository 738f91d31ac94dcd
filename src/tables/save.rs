//! Writes a frame as CSV (six decimals) or Parquet into a
//! [`PendingFile`] (an atomic file of an `OutputDir`).

use super::polars_err;
use crate::error::Result;
use crate::results::PendingFile;
use polars::prelude::*;

/// Writes `df` as CSV into `f`.
pub fn csv(mut f: PendingFile, df: &mut DataFrame) -> Result<PendingFile> {
    let target = f.target().to_path_buf();
    CsvWriter::new(f.writer())
        .include_header(true)
        .with_float_precision(Some(6))
        .finish(df)
        .map_err(polars_err(&target, "cannot write"))?;
    Ok(f)
}

/// Writes `df` as Parquet into `f`.
pub fn parquet(mut f: PendingFile, df: &mut DataFrame) -> Result<PendingFile> {
    let target = f.target().to_path_buf();
    ParquetWriter::new(f.writer()).finish(df).map_err(polars_err(&target, "cannot write"))?;
    Ok(f)
}
