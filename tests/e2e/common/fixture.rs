//! A loopback HTTP server that answers canned responses in order and records requests:
//! for behaviour moto cannot show (throttling, unimplemented operations, stalls).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;

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
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                answer(stream, &seen_by_server, &mut choose);
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

fn answer(
    stream: TcpStream,
    seen: &Mutex<Vec<Seen>>,
    choose: &mut impl FnMut(&Seen) -> Reply,
) -> Option<()> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut headers = Vec::new();
    let mut length = 0usize;
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).ok()?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((k, v)) = header.split_once(':') {
            let k = k.trim().to_ascii_lowercase();
            let v = v.trim().to_string();
            if k == "content-length" {
                length = v.parse().unwrap_or(0);
            }
            headers.push((k, v));
        }
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).ok()?;
    let request = Seen {
        line: line.trim_end().to_string(),
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    let reply = choose(&request);
    // Record before answering: the client may exit as soon as it has the answer.
    seen.lock().ok()?.push(request);
    let mut stream = stream;
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
    stream.write_all(response.as_bytes()).ok()
}
