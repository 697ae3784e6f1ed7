//! Reading an input file whole, within a bound: no file, however large it claims to be or
//! grows while it is read, and nothing that is not a regular file (a FIFO, a device), can
//! make vow wait forever or exhaust memory.

use std::path::Path;

/// The largest input file vow reads (docs/limits.md): a fleet bigger than this comes in several
/// files, and memory stays bounded whatever a file claims to be.
pub const MAX_FILE_BYTES: u64 = 1 << 30;

/// Reads a whole regular file, refusing one over [`MAX_FILE_BYTES`] (read through a bound, so a
/// file that grows while it is read is refused too) and anything that is not a regular file (a
/// FIFO would block, `/dev/zero` never ends).
pub fn read_bounded(path: &Path) -> std::io::Result<Vec<u8>> {
    let file = std::fs::File::open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::other("it is not a regular file"));
    }
    read_sized(file, meta.len())
}

/// Reads everything `r` holds, up to [`MAX_FILE_BYTES`].
pub fn read_all_bounded(r: impl std::io::Read) -> std::io::Result<Vec<u8>> {
    read_sized(r, 0)
}

/// [`read_all_bounded`] of a file that says it holds `size` bytes: the buffer is made that
/// big at once. Without it the bound hides the file's size from `read_to_end`, which then
/// grows its buffer from 32 bytes, a read per doubling (6.7 reads a file, 682,207 reads to plan
/// a 10k upgrade). The size only sizes the buffer: the bound still ends the read.
pub fn read_sized(r: impl std::io::Read, size: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let over = || {
        std::io::Error::other(format!(
            "it is over {} MiB, the limit of an input file",
            MAX_FILE_BYTES >> 20
        ))
    };
    // A file that says it is over the limit is refused before anything is read or reserved.
    if size > MAX_FILE_BYTES {
        return Err(over());
    }
    // One byte over, so the read that finds the end has room and needs no probe. Reserved
    // fallibly: memory that cannot be had is an error naming the file, not an abort.
    let mut bytes = Vec::new();
    bytes.try_reserve_exact(size as usize + 1)?;
    r.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(over());
    }
    // A file cut short after it said its size does not keep the larger buffer.
    if bytes.capacity() > 2 * bytes.len() + 4096 {
        bytes.shrink_to_fit();
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_is_not_read_and_a_file_is_read_through_the_bound() {
        // /dev/zero never ends: reading it whole would exhaust memory.
        let e = read_bounded(Path::new("/dev/zero")).unwrap_err();
        assert!(e.to_string().contains("not a regular file"), "{e}");
        let over = std::io::Read::take(std::io::repeat(b'a'), 4096);
        assert_eq!(read_all_bounded(over).unwrap().len(), 4096);
        // The size a file claims only sizes the buffer: what it holds is read, short or long.
        let over = read_sized(std::io::empty(), MAX_FILE_BYTES + 1).unwrap_err();
        assert!(over.to_string().contains("over 1024 MiB"), "{over}");
        for claimed in [0, 10, 4096, 1 << 20] {
            let held = std::io::Read::take(std::io::repeat(b'a'), 4096);
            assert_eq!(read_sized(held, claimed).unwrap().len(), 4096, "{claimed}");
        }
    }
}
