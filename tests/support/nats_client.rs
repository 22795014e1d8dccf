//! A raw NATS client with given credentials, and what the server tells it
//! (permission violations, disconnection): how the tests see what a
//! credential may not do.

use std::path::Path;
use std::time::Duration;

use tokio::sync::mpsc;

/// A client with `creds` and the inbox prefix `inbox`, and its events.
pub async fn raw(
    url: &str,
    creds: &Path,
    inbox: &str,
) -> (async_nats::Client, mpsc::UnboundedReceiver<String>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let client = async_nats::ConnectOptions::with_credentials_file(creds)
        .await
        .unwrap()
        .custom_inbox_prefix(inbox)
        .event_callback(move |e| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(e.to_string());
            }
        })
        .connect(url)
        .await
        .unwrap();
    (client, rx)
}

/// Waits (10 s at most) for an event that contains `want`.
pub async fn told(rx: &mut mpsc::UnboundedReceiver<String>, want: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let e = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .unwrap_or_else(|_| panic!("not told {want:?} within 10 s"))
            .expect("events");
        if e.contains(want) {
            return;
        }
    }
}
