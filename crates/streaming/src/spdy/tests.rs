use flate2::{Decompress, FlushDecompress};

use super::*;

/// Splits written bytes into (first word, second word, payload) per frame.
fn frames(mut bytes: &[u8]) -> Vec<(u32, u32, Vec<u8>)> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let first = u32::from_be_bytes(bytes[0..4].try_into().unwrap());
        let second = u32::from_be_bytes(bytes[4..8].try_into().unwrap());
        let length = (second & 0x00ff_ffff) as usize;
        out.push((first, second, bytes[8..8 + length].to_vec()));
        bytes = &bytes[8 + length..];
    }
    out
}

/// Reads a name/value block back the way a server does: one inflater for the connection.
fn inflate(inflater: &mut Decompress, block: &[u8]) -> Vec<(String, String)> {
    let mut plain = Vec::with_capacity(4096);
    inflater
        .decompress_vec(block, &mut plain, FlushDecompress::Sync)
        .unwrap();
    let word = |at: usize| u32::from_be_bytes(plain[at..at + 4].try_into().unwrap()) as usize;
    let mut at = 4;
    let mut pairs = Vec::new();
    for _ in 0..word(0) {
        let mut field = || {
            let length = word(at);
            let text = String::from_utf8(plain[at + 4..at + 4 + length].to_vec()).unwrap();
            at += 4 + length;
            text
        };
        let name = field();
        pairs.push((name, field()));
    }
    pairs
}

#[tokio::test]
async fn streams_are_odd_and_each_header_block_reads_back_on_one_inflater() {
    let mut writer = Writer::new(Vec::new());
    assert_eq!(writer.open(&[("streamtype", "error")]).await.unwrap(), 1);
    assert_eq!(writer.open(&[("streamtype", "stdin")]).await.unwrap(), 3);
    let written = frames(&writer.io);
    assert_eq!(written.len(), 2);
    let mut inflater = Decompress::new(true);
    for ((first, second, payload), (stream, kind)) in
        written.iter().zip([(1, "error"), (3, "stdin")])
    {
        assert_eq!(
            *first, 0x8003_0001,
            "a control frame, version 3, SYN_STREAM"
        );
        assert_eq!(second >> 24, 0, "no flags");
        assert_eq!(
            u32::from_be_bytes(payload[0..4].try_into().unwrap()),
            stream
        );
        assert_eq!(
            inflate(&mut inflater, &payload[10..]),
            [("streamtype".to_string(), kind.to_string())]
        );
    }
}

#[tokio::test]
async fn data_is_cut_in_32_kib_frames_and_fin_rides_on_the_last() {
    let mut writer = Writer::new(Vec::new());
    writer.data(5, &vec![7u8; 70_000], true).await.unwrap();
    writer.data(5, &[], true).await.unwrap();
    let written = frames(&writer.io);
    let sizes: Vec<(u32, usize, u32)> = written
        .iter()
        .map(|(stream, second, payload)| (*stream, payload.len(), second >> 24))
        .collect();
    assert_eq!(
        sizes,
        [
            (5, 32_768, 0),
            (5, 32_768, 0),
            (5, 70_000 - 65_536, 1),
            (5, 0, 1)
        ]
    );
}

#[tokio::test]
async fn the_servers_frames_are_read() {
    let mut wire = Vec::new();
    // DATA on stream 2 with FIN.
    wire.extend_from_slice(&[0, 0, 0, 2, 1, 0, 0, 3, b'a', b'b', b'c']);
    // SYN_REPLY for stream 1 (an opaque header block follows).
    wire.extend_from_slice(&[0x80, 3, 0, 2, 0, 0, 0, 6, 0, 0, 0, 1, 0xde, 0xad]);
    // RST_STREAM 3, status 5 (CANCEL).
    wire.extend_from_slice(&[0x80, 3, 0, 3, 0, 0, 0, 8, 0, 0, 0, 3, 0, 0, 0, 5]);
    // PING 2, WINDOW_UPDATE, GOAWAY.
    wire.extend_from_slice(&[0x80, 3, 0, 6, 0, 0, 0, 4, 0, 0, 0, 2]);
    wire.extend_from_slice(&[0x80, 3, 0, 9, 0, 0, 0, 8, 0, 0, 0, 1, 0, 0, 1, 0]);
    wire.extend_from_slice(&[0x80, 3, 0, 7, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0]);
    let mut io = wire.as_slice();
    let mut read = Vec::new();
    while let Some(frame) = read_frame(&mut io).await.unwrap() {
        read.push(frame);
    }
    assert_eq!(
        read,
        [
            Frame::Data {
                stream: 2,
                fin: true,
                payload: b"abc".to_vec()
            },
            Frame::Reply {
                stream: 1,
                fin: false
            },
            Frame::Reset {
                stream: 3,
                status: 5
            },
            Frame::Ping { id: 2 },
            Frame::Other,
            Frame::GoAway,
        ]
    );
}

#[tokio::test]
async fn a_frame_cut_short_is_an_error_not_the_end() {
    let wire = [0u8, 0, 0, 2, 0, 0, 0, 9, b'a'];
    let error = read_frame(&mut wire.as_slice()).await.unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::UnexpectedEof);
}
