//! A loopback HTTP server that answers canned responses in order and records requests:
//! for behaviour moto cannot show (throttling, unimplemented operations, stalls, truncated
//! bodies, connection resets).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// Marker header of a [`Reply::truncated`] answer: the Content-Length to claim.
const CLAIM_LENGTH: &str = "x-fixture-claim-length";
/// Marker header of a [`Reply::reset`] answer.
const RESET: &str = "x-fixture-reset";
/// Marker header of a [`Reply::stall`] answer.
const STALL: &str = "x-fixture-stall";

/// One canned HTTP answer.
#[derive(Clone, Debug)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: String,
}

impl Reply {
    /// A JSON reply.
    pub fn json(status: u16, body: &str) -> Reply {
        Reply {
            status,
            headers: vec![("Content-Type".into(), "application/x-amz-json-1.1".into())],
            body: body.into(),
        }
    }

    /// An AWS JSON-protocol error: HTTP 400 with its type in `x-amzn-errortype`.
    pub fn error(error_type: &str, message: &str) -> Reply {
        Reply {
            status: 400,
            headers: vec![("x-amzn-errortype".into(), error_type.into())],
            body: serde_json::json!({ "Message": message }).to_string(),
        }
    }

    /// What sso-admin answers GetPermissionsBoundaryForPermissionSet for a set without one.
    pub fn no_boundary() -> Reply {
        Reply::error(
            "ResourceNotFoundException",
            "Could not find PermissionsBoundary",
        )
    }

    /// A JSON reply that claims `claimed` bytes of body (more than `body`), sends `body` and
    /// closes the connection: a body cut short.
    pub fn truncated(status: u16, body: &str, claimed: usize) -> Reply {
        assert!(
            claimed > body.len(),
            "a truncated reply claims more than it sends"
        );
        let mut reply = Reply::json(status, body);
        reply
            .headers
            .push((CLAIM_LENGTH.into(), claimed.to_string()));
        reply
    }

    /// No answer: the connection is reset (RST) once the request's headers have arrived (the
    /// request is recorded without its body, which is never read).
    pub fn reset() -> Reply {
        Reply {
            status: 0,
            headers: vec![(RESET.into(), "1".into())],
            body: String::new(),
        }
    }

    /// No answer ever: the request is recorded and the connection held open (a stalled
    /// server, counting the requests it stalls).
    pub fn stall() -> Reply {
        Reply {
            status: 0,
            headers: vec![(STALL.into(), "1".into())],
            body: String::new(),
        }
    }

    fn marker(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A request as the fixture saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    /// Request line, e.g. `POST / HTTP/1.1`.
    pub line: String,
    /// Headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: String,
}

impl Seen {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The running fixture.
pub struct Fixture {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// Requests seen so far.
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

impl Fixture {
    /// Starts a fixture answering `replies` in order; the last one repeats.
    pub fn start(replies: Vec<Reply>) -> Fixture {
        let mut index = 0;
        Fixture::serve(move |_| {
            let reply = replies[index.min(replies.len() - 1)].clone();
            index += 1;
            reply
        })
    }

    /// Starts a fixture choosing each reply by the operation of the request (the part of
    /// `X-Amz-Target` after the dot), for commands that send requests in parallel.
    pub fn routed(answer: impl Fn(&str) -> Reply + Send + 'static) -> Fixture {
        Fixture::serve(move |seen| {
            let target = seen.header("x-amz-target").unwrap_or("");
            answer(target.rsplit('.').next().unwrap_or(target))
        })
    }

    fn serve(mut choose: impl FnMut(&Seen) -> Reply + Send + 'static) -> Fixture {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind fixture");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let seen_by_server = seen.clone();
        thread::spawn(move || {
            let mut held = Vec::new();
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                answer(stream, &seen_by_server, &mut choose, &mut held);
            }
        });
        Fixture { url, seen }
    }

    /// A port that accepts connections and never answers (a stalled server).
    pub fn black_hole() -> String {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind black hole");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        thread::spawn(move || {
            let mut held = Vec::new();
            for stream in listener.incoming().flatten() {
                held.push(stream);
            }
        });
        url
    }

    /// The requests seen.
    pub fn requests(&self) -> Vec<Seen> {
        self.seen.lock().expect("lock").clone()
    }
}

/// The bytes of a request's line and headers, up to and including the blank line, read
/// without consuming them (so a [`Reply::reset`] can close with data unread, which makes the
/// kernel send RST); `None` when the client went away first.
fn peek_head(stream: &TcpStream) -> Option<Vec<u8>> {
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let n = stream.peek(&mut buffer).ok()?;
        if n == 0 {
            return None;
        }
        if let Some(end) = buffer[..n].windows(4).position(|w| w == b"\r\n\r\n") {
            return Some(buffer[..end + 4].to_vec());
        }
        if n == buffer.len() {
            return None;
        }
        // More is on its way: peek returns at once while anything is queued.
        thread::sleep(Duration::from_millis(1));
    }
}

fn answer(
    mut stream: TcpStream,
    seen: &Mutex<Vec<Seen>>,
    choose: &mut impl FnMut(&Seen) -> Reply,
    held: &mut Vec<TcpStream>,
) -> Option<()> {
    let head = peek_head(&stream)?;
    let text = String::from_utf8_lossy(&head);
    let mut lines = text.split("\r\n");
    let line = lines.next().unwrap_or("").to_string();
    let mut headers = Vec::new();
    let mut length = 0usize;
    for header in lines.take_while(|h| !h.is_empty()) {
        if let Some((k, v)) = header.split_once(':') {
            let k = k.trim().to_ascii_lowercase();
            let v = v.trim().to_string();
            if k == "content-length" {
                length = v.parse().unwrap_or(0);
            }
            headers.push((k, v));
        }
    }
    let mut request = Seen {
        line,
        headers,
        body: String::new(),
    };
    // Replies are chosen by request line and headers (the body is not read yet).
    let reply = choose(&request);
    if reply.marker(RESET).is_some() {
        seen.lock().ok()?.push(request);
        // Closing with the request still unread in the socket makes the kernel send RST.
        drop(stream);
        return Some(());
    }
    if reply.marker(STALL).is_some() {
        seen.lock().ok()?.push(request);
        held.push(stream);
        return Some(());
    }
    let mut consumed = vec![0u8; head.len()];
    stream.read_exact(&mut consumed).ok()?;
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).ok()?;
    request.body = String::from_utf8_lossy(&body).into_owned();
    // Record before answering: the client may exit as soon as it has the answer.
    seen.lock().ok()?.push(request);
    let claimed = reply
        .marker(CLAIM_LENGTH)
        .and_then(|v| v.parse().ok())
        .unwrap_or(reply.body.len());
    let mut response = format!(
        "HTTP/1.1 {} X\r\nContent-Length: {claimed}\r\nConnection: close\r\n",
        reply.status,
    );
    for (k, v) in reply
        .headers
        .iter()
        .filter(|(k, _)| !k.starts_with("x-fixture-"))
    {
        response.push_str(&format!("{k}: {v}\r\n"));
    }
    response.push_str("\r\n");
    response.push_str(&reply.body);
    stream.write_all(response.as_bytes()).ok()?;
    // A truncated reply ends here: the connection closes with the body short.
    stream.flush().ok()
}

/// How a [`Gate`] answers a request itself: given its operation and body, a reply, or `None`
/// to forward it.
type Answer = dyn Fn(&str, &str) -> Option<Reply> + Send + Sync;

/// A loopback proxy in front of a real endpoint (moto): while open it forwards every
/// request and its answer unchanged; while shut it answers `shut` instead and forwards
/// nothing. For failures that must begin at a chosen moment (a cache table that breaks
/// between a write and its invalidation).
pub struct Gate {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    shut: Arc<Mutex<Option<Reply>>>,
    /// The `X-Amz-Target` operation of every request, and whether it was forwarded.
    pub seen: Arc<Mutex<Vec<(String, bool)>>>,
}

impl Gate {
    /// An open gate in front of `upstream` (`http://host:port`).
    pub fn open(upstream: &str) -> Gate {
        Gate::intercepting(upstream, |_, _| None)
    }

    /// An open gate in front of `upstream` that answers itself the requests `answer` has a
    /// reply for (given the operation and the body): for operations moto lacks or answers
    /// unlike AWS, in a world moto serves otherwise.
    pub fn intercepting(
        upstream: &str,
        answer: impl Fn(&str, &str) -> Option<Reply> + Send + Sync + 'static,
    ) -> Gate {
        let answer: Arc<Answer> = Arc::new(answer);
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind gate");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let shut: Arc<Mutex<Option<Reply>>> = Arc::new(Mutex::new(None));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (shut_by_server, seen_by_server) = (shut.clone(), seen.clone());
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let shut = shut_by_server.lock().expect("lock").clone();
                let seen = seen_by_server.clone();
                let upstream = upstream.clone();
                let answer = answer.clone();
                thread::spawn(move || pass(stream, &upstream, shut, &*answer, &seen));
            }
        });
        Gate { url, shut, seen }
    }

    /// From now on, answers `reply` to every request.
    pub fn shut(&self, reply: Reply) {
        *self.shut.lock().expect("lock") = Some(reply);
    }

    /// From now on, forwards every request again.
    pub fn reopen(&self) {
        *self.shut.lock().expect("lock") = None;
    }

    /// The operations seen so far, and whether each was forwarded.
    pub fn operations(&self) -> Vec<(String, bool)> {
        self.seen.lock().expect("lock").clone()
    }
}

/// One request through a [`Gate`]: read whole, then forwarded (with `Connection: close`,
/// the answer relayed until the endpoint closes) or answered with `shut`.
fn pass(
    mut stream: TcpStream,
    upstream: &str,
    shut: Option<Reply>,
    answer: &Answer,
    seen: &Mutex<Vec<(String, bool)>>,
) -> Option<()> {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let head = peek_head(&stream)?;
    let mut consumed = vec![0u8; head.len()];
    stream.read_exact(&mut consumed).ok()?;
    let text = String::from_utf8_lossy(&head).into_owned();
    let mut length = 0usize;
    let mut target = String::new();
    let mut forwarded_head = String::new();
    for (i, line) in text.split("\r\n").enumerate() {
        if line.is_empty() {
            continue;
        }
        let name = line
            .split_once(':')
            .map(|(k, _)| k.trim().to_ascii_lowercase());
        match name.as_deref() {
            Some("content-length") if i > 0 => {
                length = line.split_once(':')?.1.trim().parse().unwrap_or(0);
            }
            Some("x-amz-target") if i > 0 => {
                let value = line.split_once(':')?.1.trim();
                target = value.rsplit('.').next().unwrap_or(value).to_string();
            }
            Some("connection") if i > 0 => continue,
            _ => {}
        }
        forwarded_head.push_str(line);
        forwarded_head.push_str("\r\n");
    }
    forwarded_head.push_str("Connection: close\r\n\r\n");
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).ok()?;
    let shut = shut.or_else(|| answer(&target, &String::from_utf8_lossy(&body)));
    seen.lock().ok()?.push((target, shut.is_none()));
    let answer = match shut {
        Some(reply) => {
            let mut response = format!(
                "HTTP/1.1 {} X\r\nContent-Length: {}\r\nConnection: close\r\n",
                reply.status,
                reply.body.len()
            );
            for (k, v) in &reply.headers {
                response.push_str(&format!("{k}: {v}\r\n"));
            }
            response.push_str("\r\n");
            response.push_str(&reply.body);
            response.into_bytes()
        }
        None => {
            let mut up = TcpStream::connect(upstream).ok()?;
            up.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
            up.write_all(forwarded_head.as_bytes()).ok()?;
            up.write_all(&body).ok()?;
            let mut answer = Vec::new();
            up.read_to_end(&mut answer).ok()?;
            answer
        }
    };
    stream.write_all(&answer).ok()?;
    stream.flush().ok()
}

/// A loopback proxy in front of another HTTP server (moto) that holds back every answer
/// until [`Holdback::open`]: a reply that is slow to arrive, deterministically. Requests are
/// forwarded at once; answers are returned, in full, once the gate is open.
pub struct Holdback {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    open: Arc<(Mutex<bool>, std::sync::Condvar)>,
    /// How many requests reached the gate so far.
    pub arrived: Arc<std::sync::atomic::AtomicUsize>,
}

impl Holdback {
    /// A closed gate in front of `upstream` (`http://host:port`).
    pub fn start(upstream: &str) -> Holdback {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind gate");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let open = Arc::new((Mutex::new(false), std::sync::Condvar::new()));
        let arrived = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (gate, count) = (open.clone(), arrived.clone());
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (gate, count, upstream) = (gate.clone(), count.clone(), upstream.clone());
                thread::spawn(move || {
                    let _ = hold_back(stream, &upstream, &gate, &count);
                });
            }
        });
        Holdback { url, open, arrived }
    }

    /// Lets every answer held so far, and every later one, through.
    pub fn open(&self) {
        let (open, changed) = &*self.open;
        *open.lock().expect("gate") = true;
        changed.notify_all();
    }

    /// Waits (up to `limit`) until `n` requests have reached the gate.
    pub fn wait_for(&self, n: usize, limit: Duration) {
        let started = std::time::Instant::now();
        while self.arrived.load(std::sync::atomic::Ordering::SeqCst) < n {
            assert!(started.elapsed() < limit, "no request reached the gate");
            thread::sleep(Duration::from_millis(10));
        }
    }
}

/// Forwards one request to `upstream`, holds its whole answer until the gate opens, then
/// returns it.
fn hold_back(
    mut client: TcpStream,
    upstream: &str,
    gate: &(Mutex<bool>, std::sync::Condvar),
    arrived: &std::sync::atomic::AtomicUsize,
) -> Option<()> {
    let head = peek_head(&client)?;
    let text = String::from_utf8_lossy(&head).to_ascii_lowercase();
    let length: usize = text
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    let mut request = vec![0u8; head.len() + length];
    client.read_exact(&mut request).ok()?;
    arrived.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let mut server = TcpStream::connect(upstream).ok()?;
    server.write_all(&request).ok()?;
    let mut answer = Vec::new();
    server.read_to_end(&mut answer).ok()?;
    let (open, changed) = gate;
    let mut is_open = open.lock().ok()?;
    while !*is_open {
        is_open = changed.wait(is_open).ok()?;
    }
    drop(is_open);
    client.write_all(&answer).ok()?;
    client.flush().ok()
}
