//! Compact binary forms of entries and changes for the L2 (Redis values and pub/sub
//! messages). Little-endian, versioned by a magic prefix; anything unreadable is a miss.

use std::sync::Arc;

use crate::{Change, ChangeKind, Dependency, Entry, Span};

const ENTRY_MAGIC: &[u8; 4] = b"TAE1";
const CHANGES_MAGIC: &[u8; 4] = b"TAC1";

struct Writer(Vec<u8>);

impl Writer {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn i64(&mut self, v: i64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn bytes(&mut self, b: &[u8]) {
        self.u32(b.len() as u32);
        self.0.extend_from_slice(b);
    }
    fn span(&mut self, s: &Span) {
        self.i64(s.start);
        self.i64(s.end);
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Some(a)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn i64(&mut self) -> Option<i64> {
        self.take(8)
            .map(|b| i64::from_le_bytes(b.try_into().expect("8 bytes")))
    }
    fn u32(&mut self) -> Option<u32> {
        self.take(4)
            .map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")))
    }
    fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = self.u32()? as usize;
        self.take(n)
    }
    fn string(&mut self) -> Option<String> {
        String::from_utf8(self.bytes()?.to_vec()).ok()
    }
    fn span(&mut self) -> Option<Span> {
        Some(Span::new(self.i64()?, self.i64()?))
    }
}

pub(crate) fn encode_entry(e: &Entry) -> Vec<u8> {
    let mut w = Writer(Vec::with_capacity(e.body.len() + 64 + e.deps.len() * 24));
    w.0.extend_from_slice(ENTRY_MAGIC);
    w.i64(e.seq());
    w.u8(u8::from(e.closed));
    w.u32(e.deps.len() as u32);
    for d in &e.deps {
        match d {
            Dependency::Bars { instrument, span } => {
                w.u8(0);
                w.i64(*instrument);
                w.span(span);
            }
            Dependency::Root { root, span } => {
                w.u8(1);
                w.bytes(root.as_bytes());
                w.span(span);
            }
            Dependency::Factors { instrument } => {
                w.u8(2);
                w.i64(*instrument);
            }
        }
    }
    w.bytes(e.etag.as_bytes());
    w.bytes(&e.body);
    w.0
}

pub(crate) fn decode_entry(b: &[u8]) -> Option<Entry> {
    let mut r = Reader(b);
    if r.take(4)? != ENTRY_MAGIC {
        return None;
    }
    let seq = r.i64()?;
    let closed = r.u8()? != 0;
    let n = r.u32()? as usize;
    let mut deps = Vec::with_capacity(n.min(4096));
    for _ in 0..n {
        deps.push(match r.u8()? {
            0 => Dependency::Bars {
                instrument: r.i64()?,
                span: r.span()?,
            },
            1 => Dependency::Root {
                root: r.string()?,
                span: r.span()?,
            },
            2 => Dependency::Factors {
                instrument: r.i64()?,
            },
            _ => return None,
        });
    }
    let etag = r.string()?;
    let body: Arc<[u8]> = r.bytes()?.into();
    r.0.is_empty()
        .then(|| Entry::from_parts(body, etag, deps, closed, seq))
}

pub(crate) fn encode_changes(changes: &[Change]) -> Vec<u8> {
    let mut w = Writer(Vec::with_capacity(8 + changes.len() * 40));
    w.0.extend_from_slice(CHANGES_MAGIC);
    w.u32(changes.len() as u32);
    for c in changes {
        w.i64(c.seq);
        w.i64(c.instrument);
        w.bytes(c.root.as_deref().unwrap_or("").as_bytes());
        w.u8(match c.kind {
            ChangeKind::Bars => 0,
            ChangeKind::Factors => 1,
            ChangeKind::Instrument => 2,
        });
        w.span(&c.span);
    }
    w.0
}

pub(crate) fn decode_changes(b: &[u8]) -> Option<Vec<Change>> {
    let mut r = Reader(b);
    if r.take(4)? != CHANGES_MAGIC {
        return None;
    }
    let n = r.u32()? as usize;
    let mut out = Vec::with_capacity(n.min(4096));
    for _ in 0..n {
        let seq = r.i64()?;
        let instrument = r.i64()?;
        let root = r.string()?;
        let kind = match r.u8()? {
            0 => ChangeKind::Bars,
            1 => ChangeKind::Factors,
            2 => ChangeKind::Instrument,
            _ => return None,
        };
        out.push(Change {
            seq,
            instrument,
            root: (!root.is_empty()).then_some(root),
            kind,
            span: r.span()?,
        });
    }
    r.0.is_empty().then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_and_changes_round_trip_and_garbage_is_refused() {
        let e = Entry::new(
            b"{\"a\":1}".to_vec(),
            vec![
                Dependency::Bars {
                    instrument: 3,
                    span: Span::new(-5, 9),
                },
                Dependency::Root {
                    root: "ES".into(),
                    span: Span::ALL,
                },
                Dependency::Factors { instrument: 4 },
            ],
            true,
        );
        e.seq.store(42, std::sync::atomic::Ordering::Relaxed);
        let back = decode_entry(&encode_entry(&e)).unwrap();
        assert_eq!(back.body(), e.body());
        assert_eq!(back.etag(), e.etag());
        assert_eq!(back.dependencies(), e.dependencies());
        assert_eq!((back.seq(), back.closed()), (42, true));
        let mut bytes = encode_entry(&e);
        bytes.pop();
        assert!(decode_entry(&bytes).is_none());
        assert!(decode_entry(b"nonsense").is_none());

        let changes = vec![
            Change {
                seq: 1,
                instrument: 2,
                root: None,
                kind: ChangeKind::Bars,
                span: Span::new(1, 2),
            },
            Change {
                seq: 2,
                instrument: 3,
                root: Some("CL".into()),
                kind: ChangeKind::Instrument,
                span: Span::ALL,
            },
        ];
        assert_eq!(decode_changes(&encode_changes(&changes)).unwrap(), changes);
        assert!(decode_changes(&encode_changes(&changes)[..10]).is_none());
    }
}
