//! Fetching a feed: only from the job-board hosts an operator allows, within a short time,
//! and with one error for every way a fetch can fail, so the import cannot be used to learn
//! which ports of which hosts refuse, close, hang or answer.

use std::time::Duration;

use reqwest::Url;

use super::{ImportError, MAX_FEED_BYTES};

/// The public APIs of the boards we import from: Greenhouse's Job Board API and Lever's
/// postings API (its US and EU hosts).
pub const JOB_BOARD_HOSTS: [&str; 3] = [
    "boards-api.greenhouse.io",
    "api.lever.co",
    "api.eu.lever.co",
];

/// Where a feed may come from and how long fetching it may take.
#[derive(Debug, Clone)]
pub struct FetchPolicy {
    /// `host` allows that host on its scheme's default port; `host:port` that port only.
    pub allowed_hosts: Vec<String>,
    /// For connecting and for the whole answer.
    pub timeout: Duration,
}

impl Default for FetchPolicy {
    fn default() -> Self {
        Self {
            allowed_hosts: JOB_BOARD_HOSTS.iter().map(|h| h.to_string()).collect(),
            timeout: Duration::from_secs(10),
        }
    }
}

impl FetchPolicy {
    /// Whether `url` is http(s) on an allowed host and port.
    pub fn allows(&self, url: &Url) -> bool {
        if !matches!(url.scheme(), "http" | "https") {
            return false;
        }
        let Some(host) = url.host_str() else {
            return false;
        };
        let host = host.to_ascii_lowercase();
        let named = match url.port() {
            // `port()` is `None` for the scheme's default port.
            None => host,
            Some(port) => format!("{host}:{port}"),
        };
        self.allowed_hosts
            .iter()
            .any(|allowed| allowed.trim().eq_ignore_ascii_case(&named))
    }

    /// The feed at `location`. Every failure after the host check is the same
    /// [`ImportError::Unreachable`]; the cause is logged here, never answered.
    #[tracing::instrument(name = "fetch_feed", skip_all, fields(host = tracing::field::Empty))]
    pub async fn fetch(&self, location: &str) -> Result<Vec<u8>, ImportError> {
        let parsed = Url::parse(location).ok();
        if let Some(host) = parsed.as_ref().and_then(Url::host_str) {
            tracing::Span::current().record("host", host);
        }
        let Some(url) = parsed.filter(|url| self.allows(url)) else {
            return Err(ImportError::HostNotAllowed {
                hosts: self.allowed_hosts.join(", "),
            });
        };
        match self.get(url).await {
            Ok(bytes) => Ok(bytes),
            Err(cause) => {
                tracing::warn!(%location, %cause, "feed fetch failed");
                Err(ImportError::Unreachable)
            }
        }
    }

    async fn get(&self, url: Url) -> Result<Vec<u8>, String> {
        let policy = self.clone();
        // A redirect may lead only where a first request could have gone.
        let redirects = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() < 5 && policy.allows(attempt.url()) {
                attempt.follow()
            } else {
                attempt.stop()
            }
        });
        let client = reqwest::Client::builder()
            .redirect(redirects)
            .connect_timeout(self.timeout)
            .timeout(self.timeout)
            .build()
            .map_err(|e| e.to_string())?;
        let mut response = client.get(url).send().await.map_err(|e| e.to_string())?;
        if !response.status().is_success() {
            return Err(format!("answered {}", response.status()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| e.to_string())? {
            if body.len() + chunk.len() > MAX_FEED_BYTES {
                return Err("the feed is larger than 64 MiB".into());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::TcpListener;

    use super::*;

    fn policy(hosts: &[&str]) -> FetchPolicy {
        FetchPolicy {
            allowed_hosts: hosts.iter().map(|h| h.to_string()).collect(),
            timeout: Duration::from_millis(300),
        }
    }

    #[test]
    fn only_listed_hosts_on_their_listed_ports_are_allowed() {
        let boards = FetchPolicy::default();
        let cases = [
            (
                "https://boards-api.greenhouse.io/v1/boards/acme/jobs?content=true",
                true,
            ),
            ("https://BOARDS-API.greenhouse.io/v1/boards/acme/jobs", true),
            ("https://api.lever.co/v0/postings/acme?mode=json", true),
            ("https://api.eu.lever.co/v0/postings/acme", true),
            (
                "https://boards-api.greenhouse.io:8443/v1/boards/acme/jobs",
                false,
            ),
            ("https://boards-api.greenhouse.io.evil.example/v1", false),
            ("https://evil.example/?boards-api.greenhouse.io", false),
            ("https://boards-api.greenhouse.io@127.0.0.1/", false),
            ("http://127.0.0.1/", false),
            ("http://localhost:5432/", false),
            ("http://[::1]:8080/", false),
            ("http://169.254.169.254/latest/meta-data/", false),
            ("file:///etc/passwd", false),
            ("ftp://api.lever.co/", false),
        ];
        for (url, allowed) in cases {
            assert_eq!(
                boards.allows(&Url::parse(url).expect(url)),
                allowed,
                "{url}"
            );
        }
        let stub = policy(&["127.0.0.1:8123"]);
        assert!(stub.allows(&Url::parse("http://127.0.0.1:8123/feed").expect("url")));
        assert!(!stub.allows(&Url::parse("http://127.0.0.1:8124/feed").expect("url")));
        assert!(!stub.allows(&Url::parse("http://127.0.0.1/feed").expect("url")));
    }

    /// A loopback port that answers `response` to each connection (or, with `None`, accepts
    /// and says nothing), and its address.
    fn stub(response: Option<&'static str>) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr").to_string();
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for mut stream in listener.incoming().flatten() {
                let mut request = [0u8; 4096];
                let _ = stream.read(&mut request);
                match response {
                    Some(text) => {
                        let _ = stream.write_all(text.as_bytes());
                    }
                    None => held.push(stream),
                }
            }
        });
        addr
    }

    fn closed_port() -> String {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").to_string()
    }

    #[tokio::test]
    async fn an_allowed_stub_serves_its_feed() {
        let addr = stub(Some(
            "HTTP/1.1 200 OK\r\ncontent-length: 11\r\nconnection: close\r\n\r\n{\"jobs\":[]}",
        ));
        let bytes = policy(&[&addr])
            .fetch(&format!("http://{addr}/feed"))
            .await
            .expect("fetched");
        assert_eq!(bytes, b"{\"jobs\":[]}");
    }

    #[tokio::test]
    async fn a_host_not_listed_is_refused_without_being_contacted() {
        let listed = stub(Some("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"));
        let policy = policy(&[&listed]);
        let mut messages = Vec::new();
        for addr in [
            stub(Some("HTTP/1.1 200 OK\r\n\r\n")),
            stub(None),
            closed_port(),
        ] {
            let error = policy
                .fetch(&format!("http://{addr}/feed"))
                .await
                .expect_err("not allowed");
            assert!(
                matches!(error, ImportError::HostNotAllowed { .. }),
                "{error}"
            );
            messages.push(error.to_string());
        }
        messages.dedup();
        assert_eq!(messages.len(), 1, "{messages:?}");
        // It names only what is allowed.
        assert!(
            messages[0].ends_with(&format!("hosts {listed}")),
            "{}",
            messages[0]
        );
    }

    #[tokio::test]
    async fn refused_closed_hung_and_failing_hosts_all_fail_alike() {
        let targets = [
            closed_port(),
            stub(Some("")),
            stub(None),
            stub(Some(
                "HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\n\r\n",
            )),
            stub(Some(
                "HTTP/1.1 302 Found\r\nlocation: http://127.0.0.1:1/\r\ncontent-length: 0\r\n\r\n",
            )),
        ];
        let policy = policy(&targets.iter().map(String::as_str).collect::<Vec<_>>());
        for addr in &targets {
            let started = std::time::Instant::now();
            let error = policy
                .fetch(&format!("http://{addr}/feed"))
                .await
                .expect_err("unreachable");
            assert!(matches!(error, ImportError::Unreachable), "{addr}: {error}");
            assert_eq!(error.to_string(), ImportError::Unreachable.to_string());
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "{addr} took too long"
            );
        }
    }
}
