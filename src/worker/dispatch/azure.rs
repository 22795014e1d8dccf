//! Sending to Azure Monitor's Logs Ingestion API: a token from Entra by
//! client credentials (kept until a minute before it expires, dropped
//! when refused), then the rows to the data collection rule's stream,
//! batches of at most 1 MB, 204 for success.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::Sent;
use super::http::{Attempt, Session};
use crate::domain::outbound::azure;
use crate::domain::outbound::destination::Destination;
use crate::domain::outbound::event::Selection;
use crate::domain::outbound::options::AZURE_AUTHORITY;
use crate::domain::outbound::retry::Verdict;
use crate::store::outbound::{OutboxItem, owner_key};

/// Tokens by destination, with when to stop using them.
#[derive(Default)]
pub struct Tokens {
    by: HashMap<String, (String, Instant)>,
}

fn key(d: &Destination) -> String {
    format!("{}/{}", owner_key(d.tenant.as_ref()), d.id)
}

impl Tokens {
    /// A token for `d`: the one kept, or a new one from Entra.
    async fn get(&mut self, d: &Destination, secrets: &[Vec<u8>]) -> Result<String, Attempt> {
        let k = key(d);
        if let Some((t, until)) = self.by.get(&k)
            && Instant::now() < *until
        {
            return Ok(t.clone());
        }
        let started = Instant::now();
        let Some(o) = &d.settings.azure else {
            return Err(Attempt::failed(
                Verdict::Permanent,
                "azure options are missing".into(),
                started,
            ));
        };
        let authority = o.authority.as_deref().unwrap_or(AZURE_AUTHORITY);
        let url = format!(
            "{}/{}/oauth2/v2.0/token",
            authority.trim_end_matches('/'),
            o.tenant_id
        );
        let session = Session::open(d, &url).await?;
        let mut last = String::from("no client secret");
        for secret in secrets {
            let form = azure::token_request(&o.client_id, String::from_utf8_lossy(secret).trim());
            let headers = [(
                "content-type",
                "application/x-www-form-urlencoded".to_string(),
            )];
            let reply = session
                .post(session.url.clone(), &headers, form.into_bytes(), Utc::now())
                .await?;
            match azure::token_reply(&reply.body) {
                Ok((token, life)) if reply.status == 200 => {
                    let keep = Duration::from_secs(life.saturating_sub(60).max(1));
                    self.by.insert(k, (token.clone(), Instant::now() + keep));
                    return Ok(token);
                }
                Ok(_) => last = format!("Entra token: HTTP {}", reply.status),
                Err(e) => last = format!("Entra token: HTTP {}: {e}", reply.status),
            }
        }
        Err(Attempt::failed(Verdict::Retry, last, started))
    }

    fn forget(&mut self, d: &Destination) {
        self.by.remove(&key(d));
    }
}

/// Sends `items` (in order) to `d`'s stream.
pub async fn send(
    tokens: &mut Tokens,
    d: &Destination,
    items: &[OutboxItem],
    secrets: &[Vec<u8>],
    now: DateTime<Utc>,
) -> Sent {
    let one = |a: Attempt| Sent {
        attempts: vec![a],
        ..Sent::default()
    };
    let (Some(o), crate::domain::outbound::destination::Target::Url(endpoint)) =
        (&d.settings.azure, &d.settings.target)
    else {
        return one(Attempt::failed(
            Verdict::Permanent,
            "azure-logs needs a URL and azure options".into(),
            Instant::now(),
        ));
    };
    let token = match tokens.get(d, secrets).await {
        Ok(t) => t,
        Err(a) => return one(a),
    };
    let url = format!(
        "{}/dataCollectionRules/{}/streams/{}?api-version={}",
        endpoint.trim_end_matches('/'),
        o.dcr_id,
        o.stream,
        azure::API_VERSION
    );
    let session = match Session::open(d, &url).await {
        Ok(s) => s,
        Err(a) => return one(a),
    };
    let sel = Selection {
        mode: d.settings.data_mode,
        fields: d.settings.data_fields.clone(),
    };
    let rows: Vec<Vec<u8>> = items
        .iter()
        .map(|i| azure::row(&i.event, &sel).to_string().into_bytes())
        .collect();
    let headers = [
        ("authorization", format!("Bearer {token}")),
        ("content-type", "application/json".to_string()),
    ];
    let sent =
        super::batches::send(&session, &headers, &rows, azure::MAX_BYTES, join_array, now).await;
    if sent
        .attempts
        .iter()
        .any(|a| matches!(a.status, Some(401 | 403)))
    {
        tokens.forget(d);
    }
    sent
}

/// Rows as a JSON array.
fn join_array(rows: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::with_capacity(rows.iter().map(|r| r.len() + 1).sum::<usize>() + 2);
    out.push(b'[');
    for (i, r) in rows.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(r);
    }
    out.push(b']');
    out
}
