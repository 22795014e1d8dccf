//! The fast path for samples: `COPY … FROM STDIN` straight into the
//! tables, in one transaction per batch half.
//!
//! COPY cannot skip rows that are already stored, so it is tried first and
//! only for batches of new samples, which is nearly every batch. A batch
//! that holds a redelivered sample (after a crash or a failed write) fails
//! with a unique violation, is rolled back whole, and goes the slow path
//! (`INSERT … ON CONFLICT DO NOTHING`) instead.

use std::fmt::Write as _;

use sqlx::{Connection, PgPool};

use crate::store::{MetricRow, SignalRow, StoreError, to_ms};

/// COPY's text format: tab-separated, `\N` for NULL, with backslash,
/// tab, newline and carriage return escaped.
fn field(out: &mut String, text: &str) {
    if !text
        .bytes()
        .any(|b| matches!(b, b'\\' | b'\t' | b'\n' | b'\r'))
    {
        out.push_str(text);
        return;
    }
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
}

fn metrics_text(rows: &[MetricRow]) -> String {
    let mut out = String::with_capacity(rows.len() * 96);
    for r in rows {
        field(&mut out, r.tenant.as_str());
        out.push('\t');
        field(&mut out, &r.msg_id);
        out.push('\t');
        field(&mut out, r.device.as_str());
        let _ = writeln!(
            out,
            "\t{}\t{}\t{}\t{}\t{}",
            to_ms(r.ts),
            r.cpu_pct,
            r.mem_pct,
            i64::try_from(r.rx_bps).unwrap_or(i64::MAX),
            i64::try_from(r.tx_bps).unwrap_or(i64::MAX)
        );
    }
    out
}

fn signals_text(rows: &[SignalRow]) -> String {
    let mut out = String::with_capacity(rows.len() * 96);
    for r in rows {
        field(&mut out, r.tenant.as_str());
        out.push('\t');
        field(&mut out, &r.msg_id);
        out.push('\t');
        field(&mut out, r.device.as_str());
        out.push('\t');
        field(&mut out, r.peer.as_str());
        let _ = write!(out, "\t{}\t{}\t", to_ms(r.ts), r.rssi_dbm);
        match r.snr_db {
            Some(v) => {
                let _ = writeln!(out, "{v}");
            }
            None => out.push_str("\\N\n"),
        }
    }
    out
}

/// Copies the samples in one transaction. `Ok(None)` when one of them is
/// already stored: nothing was written, use the slow path.
pub(super) async fn copy_samples(
    pool: &PgPool,
    metrics: &[MetricRow],
    signals: &[SignalRow],
) -> Result<Option<u64>, StoreError> {
    let mut conn = pool.acquire().await?;
    let mut tx = conn.begin().await?;
    let mut copied = 0;
    let jobs = [
        (
            "COPY metric_samples (tenant_id, msg_id, device_id, ts, cpu_pct, mem_pct, rx_bps, tx_bps) FROM STDIN",
            (!metrics.is_empty()).then(|| metrics_text(metrics)),
        ),
        (
            "COPY signal_samples (tenant_id, msg_id, device_id, peer_id, ts, rssi_dbm, snr_db) FROM STDIN",
            (!signals.is_empty()).then(|| signals_text(signals)),
        ),
    ];
    for (sql, text) in jobs {
        let Some(text) = text else { continue };
        let result = async {
            let mut copy = tx.copy_in_raw(sql).await?;
            copy.send(text.into_bytes()).await?;
            copy.finish().await
        }
        .await;
        match result {
            Ok(n) => copied += n,
            Err(e) if is_unique_violation(&e) => return Ok(None),
            Err(e) => return Err(e.into()),
        }
    }
    match tx.commit().await {
        Ok(()) => Ok(Some(copied)),
        Err(e) if is_unique_violation(&e) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .and_then(|d| d.code())
        .is_some_and(|c| c == "23505")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_escaped_for_copy() {
        let mut out = String::new();
        field(&mut out, "plain-id");
        assert_eq!(out, "plain-id");
        out.clear();
        field(&mut out, "a\tb\\c\nd\re");
        assert_eq!(out, "a\\tb\\\\c\\nd\\re");
    }
}
