//! The WebSocket sub-protocols clients offer for exec and attach, and how each one frames a
//! channel's data and reports how the process ended. The versions differ only at the edges:
//!
//! - `channel.k8s.io`, `v2.channel.k8s.io`, `v3.channel.k8s.io`: binary messages; the error
//!   channel carries a failure's message as plain text and nothing on success.
//! - `v4.channel.k8s.io`: the error channel carries a `metav1.Status` as JSON (success, or
//!   `NonZeroExitCode` with the exit code as a cause) — what clients read exit codes from.
//! - `v5.channel.k8s.io`: v4, plus the `[255, c]` message that closes channel `c` (stdin's end).
//! - `base64.channel.k8s.io`, `v4.base64.channel.k8s.io`: text messages, the channel as an ASCII
//!   digit and the data base64-encoded, for clients that cannot send binary messages.
//!
//! Clients may send either message type whatever the protocol: the Python client sends a `str`
//! written to stdin as a text message, the channel byte first, also over v4 and v5.

use axum::extract::ws::Message;
use axum::http::HeaderMap;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// The channel number that, in v5, announces that the next byte's channel is closed.
const CLOSE: u8 = 255;

/// One WebSocket sub-protocol of exec and attach.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    V1,
    V1Base64,
    V2,
    V3,
    V4,
    V4Base64,
    V5,
}

/// What a client's message asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Inbound {
    /// Data for a channel (stdin, or a terminal size on the resize channel).
    Data { channel: u8, data: Vec<u8> },
    /// v5: the client will send no more on `channel`.
    Close { channel: u8 },
}

impl Protocol {
    const ALL: [Self; 7] = [
        Self::V1,
        Self::V1Base64,
        Self::V2,
        Self::V3,
        Self::V4,
        Self::V4Base64,
        Self::V5,
    ];

    /// The name a client offers in `Sec-WebSocket-Protocol`.
    pub fn name(self) -> &'static str {
        match self {
            Self::V1 => "channel.k8s.io",
            Self::V1Base64 => "base64.channel.k8s.io",
            Self::V2 => "v2.channel.k8s.io",
            Self::V3 => "v3.channel.k8s.io",
            Self::V4 => "v4.channel.k8s.io",
            Self::V4Base64 => "v4.base64.channel.k8s.io",
            Self::V5 => "v5.channel.k8s.io",
        }
    }

    /// The first protocol the client offers that we speak: the client's order decides, as in
    /// Kubernetes' WebSocket server. `None` when the request is no WebSocket upgrade or offers
    /// none of ours.
    pub fn negotiate(headers: &HeaderMap) -> Option<Self> {
        crate::websocket_offers(headers)
            .find_map(|offered| Self::ALL.into_iter().find(|p| p.name() == offered))
    }

    fn base64(self) -> bool {
        matches!(self, Self::V1Base64 | Self::V4Base64)
    }

    /// Whether the error channel carries the `Status` as JSON (v4 on) rather than its message.
    fn status_as_json(self) -> bool {
        matches!(self, Self::V4 | Self::V4Base64 | Self::V5)
    }

    /// The message carrying `data` on `channel`.
    pub fn encode(self, channel: u8, data: &[u8]) -> Message {
        if self.base64() {
            let mut text = String::with_capacity(1 + data.len().div_ceil(3) * 4);
            text.push(char::from(b'0' + channel));
            STANDARD.encode_string(data, &mut text);
            Message::Text(text.into())
        } else {
            let mut frame = Vec::with_capacity(data.len() + 1);
            frame.push(channel);
            frame.extend_from_slice(data);
            Message::Binary(frame.into())
        }
    }

    /// What a client's text or binary `message` asks for; `None` for anything else, an empty
    /// message, or data that does not decode.
    pub fn decode(self, message: &Message) -> Option<Inbound> {
        let bytes: &[u8] = match message {
            Message::Binary(data) => data,
            Message::Text(text) => text.as_bytes(),
            _ => return None,
        };
        let (&first, rest) = bytes.split_first()?;
        if self == Self::V5 && first == CLOSE {
            return rest.first().map(|&channel| Inbound::Close { channel });
        }
        if self.base64() {
            let channel = first.checked_sub(b'0')?;
            let data = STANDARD.decode(rest).ok()?;
            return Some(Inbound::Data { channel, data });
        }
        Some(Inbound::Data {
            channel: first,
            data: rest.to_vec(),
        })
    }

    /// What the error channel carries when the runtime ends the session with `status` (the
    /// `Status` JSON of its v4 stream): the JSON itself from v4 on; before, the message of a
    /// failure and nothing for success.
    pub fn status(self, status: &[u8]) -> Option<Vec<u8>> {
        if self.status_as_json() {
            return Some(status.to_vec());
        }
        let Ok(parsed) = serde_json::from_slice::<serde_json::Value>(status) else {
            // Not a Status: the runtime spoke plainly, and so do we.
            return Some(status.to_vec()).filter(|s| !s.is_empty());
        };
        if parsed["status"] == "Success" {
            return None;
        }
        let message = parsed["message"].as_str().unwrap_or("unknown error");
        Some(message.as_bytes().to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderValue, header};

    fn offering(protocols: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        for offered in protocols {
            headers.append(
                header::SEC_WEBSOCKET_PROTOCOL,
                HeaderValue::from_str(offered).unwrap(),
            );
        }
        headers
    }

    #[test]
    fn the_clients_first_known_offer_wins() {
        let python = offering(&["v5.channel.k8s.io,v4.channel.k8s.io"]);
        assert_eq!(Protocol::negotiate(&python), Some(Protocol::V5));
        let older = offering(&["v4.channel.k8s.io, v5.channel.k8s.io"]);
        assert_eq!(Protocol::negotiate(&older), Some(Protocol::V4));
        let unknown_first = offering(&["v9.channel.k8s.io", "base64.channel.k8s.io"]);
        assert_eq!(
            Protocol::negotiate(&unknown_first),
            Some(Protocol::V1Base64)
        );
        assert_eq!(Protocol::negotiate(&offering(&["x"])), None);
        let mut spdy = offering(&["v4.channel.k8s.io"]);
        spdy.insert(header::UPGRADE, HeaderValue::from_static("SPDY/3.1"));
        assert_eq!(Protocol::negotiate(&spdy), None);
        for protocol in Protocol::ALL {
            let offered = offering(&[protocol.name()]);
            assert_eq!(Protocol::negotiate(&offered), Some(protocol));
        }
    }

    #[test]
    fn binary_protocols_take_text_and_binary_messages() {
        let expected = Inbound::Data {
            channel: 0,
            data: b"ls\n".to_vec(),
        };
        let text = Message::Text("\u{0}ls\n".into());
        let binary = Message::Binary(b"\x00ls\n".to_vec().into());
        for protocol in [Protocol::V1, Protocol::V4, Protocol::V5] {
            assert_eq!(protocol.decode(&text).as_ref(), Some(&expected));
            assert_eq!(protocol.decode(&binary).as_ref(), Some(&expected));
        }
        assert_eq!(Protocol::V5.decode(&Message::Binary(vec![].into())), None);
    }

    #[test]
    fn only_v5_closes_channels() {
        let close = Message::Binary(vec![255, 0].into());
        assert_eq!(
            Protocol::V5.decode(&close),
            Some(Inbound::Close { channel: 0 })
        );
        assert_eq!(
            Protocol::V4.decode(&close),
            Some(Inbound::Data {
                channel: 255,
                data: vec![0]
            })
        );
    }

    #[test]
    fn base64_protocols_use_digits_and_base64_both_ways() {
        let out = Protocol::V1Base64.encode(1, b"hi\n");
        assert_eq!(out, Message::Text("1aGkK".into()));
        let inbound = Protocol::V4Base64.decode(&Message::Text("0ZWNobyBoaQo=".into()));
        assert_eq!(
            inbound,
            Some(Inbound::Data {
                channel: 0,
                data: b"echo hi\n".to_vec()
            })
        );
        let not_base64 = Message::Text("0***".into());
        assert_eq!(Protocol::V1Base64.decode(&not_base64), None);
        assert_eq!(
            Protocol::V4.encode(2, b"x"),
            Message::Binary(vec![2, b'x'].into())
        );
    }

    #[test]
    fn the_status_is_json_from_v4_on_and_a_message_before() {
        let failed = br#"{"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: exit status 3","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}}"#;
        let succeeded = br#"{"metadata":{},"status":"Success"}"#;
        for protocol in [Protocol::V4, Protocol::V4Base64, Protocol::V5] {
            assert_eq!(protocol.status(failed).as_deref(), Some(&failed[..]));
            assert_eq!(protocol.status(succeeded).as_deref(), Some(&succeeded[..]));
        }
        for protocol in [Protocol::V1, Protocol::V1Base64, Protocol::V2, Protocol::V3] {
            assert_eq!(
                protocol.status(failed).as_deref(),
                Some(&b"command terminated with non-zero exit code: exit status 3"[..])
            );
            assert_eq!(protocol.status(succeeded), None);
        }
    }
}
