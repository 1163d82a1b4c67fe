//! The client side of SPDY/3.1 framing, as far as the container runtime's streaming server needs
//! it (the protocol `kubectl` before 1.30 speaks, and the only one containerd 1.6 offers besides the
//! v1–v4 WebSockets): opening streams, sending data with or without FIN, answering pings, and
//! reading the server's frames.
//!
//! Header blocks we send are compressed as one zlib stream per connection, sync-flushed after each
//! block, as SPDY requires. The SPDY/3 header dictionary is only needed to *read* header blocks;
//! the streaming server's replies carry none we need, so their blocks are skipped undecoded.

use std::io;

use flate2::{Compress, Compression, FlushCompress};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

const VERSION: u16 = 3;
const SYN_STREAM: u16 = 1;
const SYN_REPLY: u16 = 2;
const RST_STREAM: u16 = 3;
const PING: u16 = 6;
const GOAWAY: u16 = 7;
const FLAG_FIN: u8 = 0x01;
/// The largest data frame we write; the length field allows 16 MiB, runtimes read in 32 KiB.
const MAX_DATA: usize = 32 * 1024;
/// The largest frame we accept: a runtime never sends more than it reads.
const MAX_FRAME: usize = 16 * 1024 * 1024;

/// A frame from the server, as far as a client acts on it.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    Data {
        stream: u32,
        fin: bool,
        payload: Vec<u8>,
    },
    /// The server accepted a stream we opened.
    Reply {
        stream: u32,
        fin: bool,
    },
    /// The server reset a stream (status codes: SPDY/3 §2.6.3).
    Reset {
        stream: u32,
        status: u32,
    },
    Ping {
        id: u32,
    },
    /// The server will accept no more streams; those open finish.
    GoAway,
    /// Frames a client can ignore (SETTINGS, WINDOW_UPDATE, HEADERS, …).
    Other,
}

/// Writes frames; owns the connection's header compressor and stream ids.
pub struct Writer<W> {
    io: W,
    headers: Compress,
    next_stream: u32,
}

impl<W: AsyncWrite + Unpin> Writer<W> {
    pub fn new(io: W) -> Self {
        Self {
            io,
            headers: Compress::new(Compression::default(), true),
            // Client-initiated streams are odd (SPDY/3 §2.3.2).
            next_stream: 1,
        }
    }

    /// Opens a stream carrying `headers` (names lower case); returns its id.
    pub async fn open(&mut self, headers: &[(&str, &str)]) -> io::Result<u32> {
        let stream = self.next_stream;
        self.next_stream += 2;
        let block = self.header_block(headers)?;
        let mut payload = Vec::with_capacity(10 + block.len());
        payload.extend_from_slice(&stream.to_be_bytes());
        payload.extend_from_slice(&0u32.to_be_bytes()); // no associated stream
        payload.extend_from_slice(&[0, 0]); // priority and slot
        payload.extend_from_slice(&block);
        self.control(SYN_STREAM, 0, &payload).await?;
        Ok(stream)
    }

    /// Sends `bytes` on `stream` in frames of at most 32 KiB; `fin` half-closes it after them.
    pub async fn data(&mut self, stream: u32, bytes: &[u8], fin: bool) -> io::Result<()> {
        let mut chunks = bytes.chunks(MAX_DATA).peekable();
        if chunks.peek().is_none() {
            return self.data_frame(stream, &[], fin).await;
        }
        while let Some(chunk) = chunks.next() {
            let last = chunks.peek().is_none();
            self.data_frame(stream, chunk, fin && last).await?;
        }
        Ok(())
    }

    /// Answers a server's ping with the same id.
    pub async fn pong(&mut self, id: u32) -> io::Result<()> {
        self.control(PING, 0, &id.to_be_bytes()).await
    }

    /// Ends the write side of the connection.
    pub async fn shutdown(&mut self) -> io::Result<()> {
        self.io.shutdown().await
    }

    async fn data_frame(&mut self, stream: u32, chunk: &[u8], fin: bool) -> io::Result<()> {
        let mut frame = Vec::with_capacity(8 + chunk.len());
        frame.extend_from_slice(&(stream & 0x7fff_ffff).to_be_bytes());
        frame.extend_from_slice(&flags_and_length(
            if fin { FLAG_FIN } else { 0 },
            chunk.len(),
        ));
        frame.extend_from_slice(chunk);
        self.io.write_all(&frame).await?;
        self.io.flush().await
    }

    async fn control(&mut self, kind: u16, flags: u8, payload: &[u8]) -> io::Result<()> {
        let mut frame = Vec::with_capacity(8 + payload.len());
        frame.extend_from_slice(&(0x8000 | VERSION).to_be_bytes());
        frame.extend_from_slice(&kind.to_be_bytes());
        frame.extend_from_slice(&flags_and_length(flags, payload.len()));
        frame.extend_from_slice(payload);
        self.io.write_all(&frame).await?;
        self.io.flush().await
    }

    /// The name/value block (SPDY/3 §2.6.10), compressed and sync-flushed.
    fn header_block(&mut self, headers: &[(&str, &str)]) -> io::Result<Vec<u8>> {
        let mut plain = Vec::new();
        let count = u32::try_from(headers.len()).map_err(io::Error::other)?;
        plain.extend_from_slice(&count.to_be_bytes());
        for (name, value) in headers {
            for field in [name, value] {
                let length = u32::try_from(field.len()).map_err(io::Error::other)?;
                plain.extend_from_slice(&length.to_be_bytes());
                plain.extend_from_slice(field.as_bytes());
            }
        }
        let mut out = Vec::with_capacity(plain.len() + 64);
        let before = self.headers.total_in();
        // A sync flush may need several calls when the output buffer fills.
        loop {
            out.reserve(256);
            let consumed = usize::try_from(self.headers.total_in() - before).unwrap_or(usize::MAX);
            self.headers
                .compress_vec(&plain[consumed..], &mut out, FlushCompress::Sync)
                .map_err(io::Error::other)?;
            let consumed = usize::try_from(self.headers.total_in() - before).unwrap_or(usize::MAX);
            if consumed == plain.len() && out.len() < out.capacity() {
                return Ok(out);
            }
        }
    }
}

fn flags_and_length(flags: u8, length: usize) -> [u8; 4] {
    // Frames are never longer than MAX_DATA or a header block, both far below 2^24.
    let length = u32::try_from(length).unwrap_or(0) & 0x00ff_ffff;
    (u32::from(flags) << 24 | length).to_be_bytes()
}

/// Reads the next frame; `None` when the server closed the connection between frames.
pub async fn read_frame<R: AsyncRead + Unpin>(io: &mut R) -> io::Result<Option<Frame>> {
    let mut head = [0u8; 8];
    match io.read_exact(&mut head).await {
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let flags = head[4];
    let length = usize::try_from(u32::from_be_bytes([0, head[5], head[6], head[7]]))
        .map_err(io::Error::other)?;
    if length > MAX_FRAME {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("a SPDY frame of {length} bytes"),
        ));
    }
    let mut payload = vec![0u8; length];
    io.read_exact(&mut payload).await?;
    let word = |at: usize| {
        payload
            .get(at..at + 4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "a short SPDY frame"))
    };
    if head[0] & 0x80 == 0 {
        let stream = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
        return Ok(Some(Frame::Data {
            stream,
            fin: flags & FLAG_FIN != 0,
            payload,
        }));
    }
    let frame = match u16::from_be_bytes([head[2], head[3]]) {
        SYN_REPLY => Frame::Reply {
            stream: word(0)? & 0x7fff_ffff,
            fin: flags & FLAG_FIN != 0,
        },
        RST_STREAM => Frame::Reset {
            stream: word(0)? & 0x7fff_ffff,
            status: word(4)?,
        },
        PING => Frame::Ping { id: word(0)? },
        GOAWAY => Frame::GoAway,
        _ => Frame::Other,
    };
    Ok(Some(frame))
}

#[cfg(test)]
mod tests;
