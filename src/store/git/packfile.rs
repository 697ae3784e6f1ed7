//! Writing a packfile and its index (version 2) from objects held in memory, as `git
//! index-pack` would leave them, without libgit2's pack builder. The builder compresses every
//! object at zlib's default level and then hands the pack to libgit2's indexer, which inflates
//! and hashes every object again to make the index: for a 10,000-instance wave that was most of
//! the git store's own CPU (BENCHMARKS.md, "Apply, round five"). Here each object is compressed
//! once, at zlib's fastest level (the push re-sends these bytes as they are), and the index is
//! written from what is known already: each object's id, offset and CRC-32.
//!
//! Crash safety: the pack and then its index are each written to a temporary file and renamed
//! into place; git and libgit2 see a pack only through its index, so a kill leaves either no
//! pack, an unused pack without an index (harmless), or both whole.

use crate::error::{Error, Result};
use git2::{ObjectType, Oid};
use sha1::{Digest, Sha1};
use std::path::Path;

/// One object of the pack: its id, kind and bytes (as git hashes them, without the header).
#[cfg(test)]
pub(super) struct Object<'a> {
    pub id: Oid,
    pub kind: ObjectType,
    pub data: &'a [u8],
}

/// Where an object went in the pack.
struct Entry {
    id: [u8; 20],
    offset: u64,
    crc: u32,
}

/// The pack type code of an object kind (a tag or a commit here is unexpected but valid).
fn type_code(kind: ObjectType) -> Result<u8> {
    match kind {
        ObjectType::Commit => Ok(1),
        ObjectType::Tree => Ok(2),
        ObjectType::Blob => Ok(3),
        ObjectType::Tag => Ok(4),
        other => Err(Error::Git(format!(
            "cannot pack an object of kind {other}; report this as a bug"
        ))),
    }
}

/// An object's header in a pack: its type and its size, seven bits a byte after the first four.
fn header(code: u8, size: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(10);
    let mut rest = size >> 4;
    // The low four bits of the size go with the type; `as u8` keeps bits already masked.
    let mut byte = (code << 4) | (size & 0x0f) as u8;
    while rest > 0 {
        out.push(byte | 0x80);
        byte = (rest & 0x7f) as u8;
        rest >>= 7;
    }
    out.push(byte);
    out
}

/// An object as it goes into a pack: its header and deflated bytes, with their CRC-32.
pub(super) struct Compressed {
    id: [u8; 20],
    bytes: Vec<u8>,
    crc: u32,
}

thread_local! {
    /// Each thread's deflate stream, reset for every object: making a new one per object
    /// allocated and cleared zlib's window and hash tables (some 256 KiB) for files of a few
    /// KiB, half of the compression's time. A reset stream deflates exactly as a new one.
    static DEFLATE: std::cell::RefCell<flate2::Compress> =
        std::cell::RefCell::new(flate2::Compress::new(flate2::Compression::fast(), true));
}

/// An object's entry in a pack: its header, then its bytes deflated at zlib's fastest level.
pub(super) fn compress(id: Oid, kind: ObjectType, data: &[u8]) -> Result<Compressed> {
    let mut bytes = header(type_code(kind)?, data.len());
    // Deflated data is rarely larger than half of a rendered YAML file.
    bytes.reserve(data.len() / 2 + 64);
    DEFLATE.with_borrow_mut(|z| deflate(z, data, &mut bytes))?;
    let mut crc = flate2::Crc::new();
    crc.update(&bytes);
    let mut raw = [0u8; 20];
    raw.copy_from_slice(id.as_bytes());
    Ok(Compressed {
        id: raw,
        bytes,
        crc: crc.sum(),
    })
}

/// Deflates `data` whole (a zlib stream) onto the end of `out`.
fn deflate(z: &mut flate2::Compress, data: &[u8], out: &mut Vec<u8>) -> Result<()> {
    z.reset();
    loop {
        let done = usize::try_from(z.total_in()).unwrap_or(usize::MAX);
        let rest = data.get(done..).unwrap_or_default();
        match z.compress_vec(rest, out, flate2::FlushCompress::Finish) {
            Ok(flate2::Status::StreamEnd) => return Ok(()),
            // Out of room: more, and on.
            Ok(_) => out.reserve(out.capacity().max(64)),
            Err(e) => return Err(Error::Git(format!("cannot compress an object: {e}"))),
        }
    }
}

/// Writes `objects` as one pack and its index into `pack_dir`, named by the pack's checksum
/// as git names packs. Returns that name's hash (hex). Nothing is written for no objects.
#[cfg(test)]
pub(super) fn write(pack_dir: &Path, objects: &[Object<'_>]) -> Result<Option<String>> {
    let mut pack = Writer::new();
    for obj in objects {
        pack.add(obj.id, obj.kind, obj.data)?;
    }
    pack.finish(pack_dir)
}

/// A pack being built in memory, one object at a time: each is compressed as it is added, so
/// memory holds the compressed pack, not the objects (a wave's blobs are handed over one by
/// one and dropped by the caller; see `super::pack`).
pub(super) struct Writer {
    pack: Vec<u8>,
    entries: Vec<Entry>,
}

impl Writer {
    pub(super) fn new() -> Writer {
        let mut pack = Vec::new();
        pack.extend_from_slice(b"PACK");
        pack.extend_from_slice(&2u32.to_be_bytes());
        // The object count, filled in by `finish` once known.
        pack.extend_from_slice(&0u32.to_be_bytes());
        Writer {
            pack,
            entries: Vec::new(),
        }
    }

    /// The bytes of the pack so far (compressed).
    pub(super) fn len(&self) -> usize {
        self.pack.len()
    }

    /// Appends one object: its header, then its bytes deflated at zlib's fastest level.
    pub(super) fn add(&mut self, id: Oid, kind: ObjectType, data: &[u8]) -> Result<()> {
        self.append(compress(id, kind, data)?);
        Ok(())
    }

    /// Appends an object compressed already ([`compress`], which any thread may run).
    pub(super) fn append(&mut self, object: Compressed) {
        let offset = self.pack.len() as u64;
        self.pack.extend_from_slice(&object.bytes);
        self.entries.push(Entry {
            id: object.id,
            offset,
            crc: object.crc,
        });
    }

    /// Writes the pack and its index into `pack_dir`, named by the pack's checksum as git names
    /// packs, and returns that name's hash (hex). Nothing is written for no objects.
    pub(super) fn finish(mut self, pack_dir: &Path) -> Result<Option<String>> {
        if self.entries.is_empty() {
            return Ok(None);
        }
        let count = u32::try_from(self.entries.len()).map_err(|_| {
            Error::Git("too many objects for one pack; report this as a bug".into())
        })?;
        if let Some(slot) = self.pack.get_mut(8..12) {
            slot.copy_from_slice(&count.to_be_bytes());
        }
        let checksum: [u8; 20] = Sha1::digest(&self.pack).into();
        self.pack.extend_from_slice(&checksum);
        let index = index(&mut self.entries, &checksum);
        let name = hex(&checksum);
        let base = pack_dir.join(format!("pack-{name}"));
        crate::store::write::atomic_write(&base.with_extension("pack"), &self.pack)?;
        crate::store::write::atomic_write(&base.with_extension("idx"), &index)?;
        Ok(Some(name))
    }
}

/// The id git gives a blob of `bytes`: the SHA-1 of `blob <size>\0` and the bytes (plain
/// SHA-1, as git computes ids; libgit2's collision-detecting SHA-1 is several times slower).
pub(super) fn blob_id(bytes: &[u8]) -> Result<Oid> {
    let mut h = Sha1::new();
    h.update(format!("blob {}\0", bytes.len()).as_bytes());
    h.update(bytes);
    let digest: [u8; 20] = h.finalize().into();
    Ok(Oid::from_bytes(&digest)?)
}

/// The version 2 index of a pack: fan-out table, sorted ids, CRCs, offsets (those past 2 GiB
/// in a table of their own), the pack's checksum and the index's own.
fn index(entries: &mut [Entry], pack_checksum: &[u8; 20]) -> Vec<u8> {
    entries.sort_by_key(|a| a.id);
    let mut out = Vec::with_capacity(1072 + entries.len() * 28);
    out.extend_from_slice(&[0xff, b't', b'O', b'c']);
    out.extend_from_slice(&2u32.to_be_bytes());
    let mut fanout = [0u32; 256];
    for e in entries.iter() {
        let first = e.id.first().copied().unwrap_or_default();
        if let Some(slot) = fanout.get_mut(usize::from(first)) {
            *slot += 1;
        }
    }
    let mut total = 0u32;
    for slot in fanout {
        total += slot;
        out.extend_from_slice(&total.to_be_bytes());
    }
    for e in entries.iter() {
        out.extend_from_slice(&e.id);
    }
    for e in entries.iter() {
        out.extend_from_slice(&e.crc.to_be_bytes());
    }
    let mut large = Vec::new();
    for e in entries.iter() {
        let small = match u32::try_from(e.offset) {
            Ok(o) if o < 0x8000_0000 => o,
            _ => {
                large.push(e.offset);
                0x8000_0000 | (large.len() as u32 - 1)
            }
        };
        out.extend_from_slice(&small.to_be_bytes());
    }
    for o in large {
        out.extend_from_slice(&o.to_be_bytes());
    }
    out.extend_from_slice(pack_checksum);
    let own: [u8; 20] = Sha1::digest(&out).into();
    out.extend_from_slice(&own);
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pack written here is one libgit2 and git read back: every object, as it was.
    #[test]
    fn git_reads_the_pack_back() {
        let dir = tempfile::tempdir().unwrap();
        let repo = git2::Repository::init_bare(dir.path()).unwrap();
        let big = "a line of a rendered file\n".repeat(2000);
        let blobs: Vec<Vec<u8>> = vec![b"small".to_vec(), big.into_bytes(), Vec::new()];
        let mut objects = Vec::new();
        for b in &blobs {
            let id = Oid::hash_object(ObjectType::Blob, b).unwrap();
            objects.push(Object {
                id,
                kind: ObjectType::Blob,
                data: b,
            });
        }
        let pack_dir = dir.path().join("objects").join("pack");
        let name = write(&pack_dir, &objects).unwrap().unwrap();
        assert!(pack_dir.join(format!("pack-{name}.idx")).is_file());
        let odb = repo.odb().unwrap();
        odb.refresh().unwrap();
        for (o, b) in objects.iter().zip(&blobs) {
            assert_eq!(odb.read(o.id).unwrap().data(), b.as_slice());
        }
        let fsck = std::process::Command::new("git")
            .arg("--git-dir")
            .arg(dir.path())
            .args(["verify-pack", "-v"])
            .arg(pack_dir.join(format!("pack-{name}.idx")))
            .output();
        if let Ok(out) = fsck {
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }

    /// vow's blob ids are the ids git gives the same bytes (plain SHA-1 of header and bytes).
    #[test]
    fn blob_ids_are_gits() {
        let big = "kind: ConfigMap\n".repeat(5000);
        for bytes in [&b""[..], b"x", big.as_bytes()] {
            let want = Oid::hash_object(ObjectType::Blob, bytes).unwrap();
            assert_eq!(blob_id(bytes).unwrap(), want);
        }
    }

    /// A reused stream deflates every object as a new stream would (the same bytes), large
    /// after small and small after large.
    #[test]
    fn a_reset_stream_deflates_as_a_new_one() {
        use std::io::Write as _;
        let big = "spec:\n  replicas: 3\n".repeat(40_000);
        for data in [&b"small"[..], big.as_bytes(), b"", b"x", big.as_bytes()] {
            let got = compress(Oid::ZERO_SHA1, ObjectType::Blob, data).unwrap();
            let mut want = header(3, data.len());
            let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
            z.write_all(data).unwrap();
            want.extend_from_slice(&z.finish().unwrap());
            assert_eq!(got.bytes, want, "{} bytes", data.len());
        }
    }

    #[test]
    fn headers_carry_type_and_size() {
        assert_eq!(header(3, 5), vec![0x35]);
        assert_eq!(header(3, 16), vec![0xb0, 0x01]);
        assert_eq!(header(2, 0x1234), vec![0xa4, 0xa3, 0x02]);
    }

    #[test]
    fn nothing_is_written_for_no_objects() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(write(dir.path(), &[]).unwrap(), None);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
