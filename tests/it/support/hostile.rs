//! The hostile EHR's tools: a listener recording every connection on an address the policy
//! refuses, and every spelling of that address an EHR can hand us. Linux routes all of
//! 127.0.0.0/8 to `lo`, so 127.0.0.2 needs no interface change; the app under test runs with
//! the test seam (`Loopback::TestPublic127001`): 127.0.0.1 public, the rest of 127/8 private.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

/// A listener on `ip` counting accepted connections (even a bare TCP connect counts). It
/// answers with a body a page must never show, so a broken guard is also visible there.
pub struct Recording {
    pub port: u16,
    accepted: Arc<AtomicUsize>,
}

/// What a [`Recording`] listener answers.
pub const LEAKED: &str = "INSTANCE-METADATA-SECRET";

impl Recording {
    pub async fn on(ip: &str) -> Recording {
        let l = TcpListener::bind((ip, 0)).await.expect("bind recorder");
        let port = l.local_addr().expect("addr").port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                let body = format!("{{\"secret\":\"{LEAKED}\"}}");
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = s.write_all(format!("{head}{body}").as_bytes()).await;
            }
        });
        Recording { port, accepted }
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

/// The two recorders: 127.0.0.2 (private under the seam) and one on 127.0.0.1 that only the
/// `0` / `0.0.0.0` spellings reach (a connection to 0.0.0.0 lands on 127.0.0.1).
pub struct Targets {
    pub private: Recording,
    pub zero: Recording,
}

impl Targets {
    pub async fn start() -> Targets {
        Targets {
            private: Recording::on("127.0.0.2").await,
            zero: Recording::on("127.0.0.1").await,
        }
    }

    /// Every spelling of the refused addresses, as `(URL as written, address it means)`, each
    /// with `path` appended.
    pub fn spellings(&self, path: &str) -> Vec<(String, &'static str)> {
        let (p, z) = (self.private.port, self.zero.port);
        [
            (format!("http://2130706434:{p}"), "127.0.0.2"),
            (format!("http://0x7f000002:{p}"), "127.0.0.2"),
            (format!("http://0177.0.0.2:{p}"), "127.0.0.2"),
            (format!("http://127.2:{p}"), "127.0.0.2"),
            (format!("http://127.0.0.2.:{p}"), "127.0.0.2"),
            (format!("http://127.0.0.2:{p}"), "127.0.0.2"),
            (
                format!("http://[::ffff:127.0.0.2]:{p}"),
                "127.0.0.2 (inside ::ffff:127.0.0.2)",
            ),
            (
                format!("http://[::127.0.0.2]:{p}"),
                "127.0.0.2 (inside ::7f00:2)",
            ),
            (
                format!("http://[64:ff9b::7f00:2]:{p}"),
                "127.0.0.2 (inside 64:ff9b::7f00:2)",
            ),
            (
                format!("http://[2002:7f00:2::]:{p}"),
                "127.0.0.2 (inside 2002:7f00:2::)",
            ),
            (format!("http://0:{z}"), "0.0.0.0"),
            (format!("http://0.0.0.0:{z}"), "0.0.0.0"),
        ]
        .into_iter()
        .map(|(u, meant)| (u + path, meant))
        .collect()
    }

    /// No connection reached either recorder.
    pub fn assert_untouched(&self, case: &str) {
        assert_eq!(
            (self.private.accepted(), self.zero.accepted()),
            (0, 0),
            "{case}: a refused address was contacted"
        );
    }
}
