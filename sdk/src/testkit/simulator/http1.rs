//! A minimal HTTP/1.1 client for the simulator: one POST per connection (`Connection: close`)
//! over a tokio `TcpStream`, plain `http://` only. Enough to play WeChat Pay against a
//! merchant's endpoint on loopback or a test network, without an HTTP client dependency.

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use super::SimulatorError;
use crate::testkit::SignedRequest;

/// Largest answer read (a notification reply is a few hundred bytes).
const MAX_REPLY: usize = 1 << 20;

/// The merchant's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpReply {
    /// The status code.
    pub status: u16,
    /// The body (de-chunked).
    pub body: Vec<u8>,
}

/// `http://HOST[:PORT][/PATH]`, split.
pub(super) struct Target {
    authority: String,
    path: String,
}

impl Target {
    pub(super) fn parse(url: &str) -> Result<Target, SimulatorError> {
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| SimulatorError::Url(url.to_owned()))?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if authority.is_empty() {
            return Err(SimulatorError::Url(url.to_owned()));
        }
        let authority = if authority
            .rsplit_once(':')
            .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
        {
            authority.to_owned()
        } else {
            format!("{authority}:80")
        };
        Ok(Target {
            authority,
            path: path.to_owned(),
        })
    }
}

/// POSTs `request` to `url` and reads the whole answer.
pub(super) async fn post(url: &str, request: &SignedRequest) -> Result<HttpReply, String> {
    let target = Target::parse(url).map_err(|e| e.to_string())?;
    let mut stream = TcpStream::connect(&target.authority)
        .await
        .map_err(|e| format!("connect {}: {e}", target.authority))?;
    let mut head = format!(
        "POST {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: Mozilla/4.0\r\nConnection: close\r\nContent-Length: {}\r\n",
        target.path,
        target.authority,
        request.body.len()
    );
    for (name, value) in &request.headers {
        if let Ok(v) = value.to_str() {
            head.push_str(&format!("{name}: {v}\r\n"));
        }
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(&request.body);
    stream
        .write_all(&bytes)
        .await
        .map_err(|e| format!("send: {e}"))?;
    let mut reply = Vec::new();
    (&mut stream)
        .take(MAX_REPLY as u64)
        .read_to_end(&mut reply)
        .await
        .map_err(|e| format!("read: {e}"))?;
    parse_reply(&reply)
}

fn parse_reply(raw: &[u8]) -> Result<HttpReply, String> {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no complete HTTP answer")?;
    let head = String::from_utf8_lossy(&raw[..end]);
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or("no HTTP status line")?;
    let chunked = lines.any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    let body = &raw[end + 4..];
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_vec()
    };
    Ok(HttpReply { status, body })
}

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(i) = raw.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&raw[..i])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next().unwrap_or("").trim(), 16).ok())
            .unwrap_or(0);
        raw = &raw[i + 2..];
        if size == 0 || raw.len() < size {
            break;
        }
        out.extend_from_slice(&raw[..size]);
        raw = raw.get(size + 2..).unwrap_or_default();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_read_plain_and_chunked() {
        let plain = parse_reply(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n").unwrap();
        assert_eq!((plain.status, plain.body.len()), (204, 0));
        let chunked = parse_reply(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
        )
        .unwrap();
        assert_eq!(chunked.body, b"abcde");
        assert!(parse_reply(b"HTTP/1.1 200").is_err());
    }

    #[test]
    fn urls_are_http_only() {
        assert!(Target::parse("https://x/").is_err());
        let t = Target::parse("http://127.0.0.1:9/notify").unwrap();
        assert_eq!(
            (t.authority.as_str(), t.path.as_str()),
            ("127.0.0.1:9", "/notify")
        );
        assert_eq!(Target::parse("http://h").unwrap().authority, "h:80");
    }
}
