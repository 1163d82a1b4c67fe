//! A stand-in for the resolvers a node forwards to: a UDP DNS server in a node's network
//! namespace that knows a few names (A records) and answers NXDOMAIN for every other name.

use std::collections::HashMap;
use std::net::{Ipv4Addr, UdpSocket};
use std::os::fd::AsFd as _;

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{RData, Record, RecordType};

use super::lan::NetNs;

/// Serves `names` on `address`:53 inside `netns`, on a thread of its own for the rest of the
/// test process.
pub fn serve(netns: &NetNs, address: &str, names: &[(&str, Ipv4Addr)]) {
    let path = format!("/run/netns/{}", netns.name);
    let address = format!("{address}:53");
    let names: HashMap<String, Ipv4Addr> = names
        .iter()
        .map(|(n, ip)| (format!("{}.", n.to_ascii_lowercase()), *ip))
        .collect();
    let (bound, ready) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        // Only this thread moves into the node's namespace.
        let ns = std::fs::File::open(&path).unwrap();
        nix::sched::setns(ns.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
        let socket = UdpSocket::bind(&address).unwrap();
        bound.send(()).unwrap();
        let mut buffer = [0u8; 1500];
        loop {
            let Ok((n, peer)) = socket.recv_from(&mut buffer) else {
                continue;
            };
            let Ok(query) = Message::from_vec(&buffer[..n]) else {
                continue;
            };
            let mut answer = Message::response(query.metadata.id, query.metadata.op_code);
            answer.metadata.recursion_available = true;
            answer.queries.clone_from(&query.queries);
            let question = &query.queries[0];
            let name = question.name.to_ascii().to_ascii_lowercase();
            match names.get(&name) {
                Some(ip) if question.query_type == RecordType::A => {
                    answer.answers.push(Record::from_rdata(
                        question.name.clone(),
                        60,
                        RData::A(A(*ip)),
                    ));
                }
                Some(_) => {}
                None => answer.metadata.response_code = ResponseCode::NXDomain,
            }
            let _ = socket.send_to(&answer.to_vec().unwrap(), peer);
        }
    });
    ready.recv().unwrap();
}
