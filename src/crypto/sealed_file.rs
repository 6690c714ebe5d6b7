//! Files sealed at rest with the key ring, written and read as a stream: the plaintext is cut
//! into chunks, each sealed (AES-256-GCM through `KeyRing::seal`) with its file id, index and
//! a last-chunk flag as associated data, so chunks cannot be reordered, swapped between files
//! or cut off at the end without the reader noticing. A frame is `len (u32 BE) | last (u8) |
//! sealed chunk`.

use super::secret_box::{CryptoError, KeyRing};

/// Plaintext bytes per chunk.
pub const CHUNK: usize = 64 * 1024;
const HEADER: usize = 5;
/// The largest frame a reader accepts (a chunk plus key id, nonce and tag).
const MAX_FRAME: usize = CHUNK * 2 + 64;

fn context(file_id: &str, index: u64, last: bool) -> Vec<u8> {
    let mut c = b"mfagate sealed file v1|".to_vec();
    c.extend_from_slice(file_id.as_bytes());
    c.extend_from_slice(&index.to_be_bytes());
    c.push(u8::from(last));
    c
}

fn frame(keys: &KeyRing, file_id: &str, index: u64, last: bool, plain: &[u8]) -> Vec<u8> {
    let sealed = keys.seal(plain, &context(file_id, index, last));
    let mut out = Vec::with_capacity(HEADER + sealed.len());
    out.extend_from_slice(&(sealed.len() as u32).to_be_bytes());
    out.push(u8::from(last));
    out.extend_from_slice(&sealed);
    out
}

/// Seals a stream of bytes; the caller writes the frames it returns.
pub struct Sealer<'k> {
    keys: &'k KeyRing,
    file_id: String,
    index: u64,
    buffer: Vec<u8>,
}

impl<'k> Sealer<'k> {
    pub fn new(keys: &'k KeyRing, file_id: &str) -> Self {
        Self {
            keys,
            file_id: file_id.to_string(),
            index: 0,
            buffer: Vec::with_capacity(CHUNK),
        }
    }

    /// Adds `data`; returns a frame to write once a chunk is full. Data is never split
    /// across chunks, so a line pushed whole stays whole in one chunk.
    pub fn push(&mut self, data: &[u8]) -> Option<Vec<u8>> {
        let out = (!self.buffer.is_empty() && self.buffer.len() + data.len() > CHUNK)
            .then(|| self.seal(false));
        self.buffer.extend_from_slice(data);
        out
    }

    /// The last frame (possibly of an empty chunk: an empty file still ends properly).
    pub fn finish(mut self) -> Vec<u8> {
        self.seal(true)
    }

    fn seal(&mut self, last: bool) -> Vec<u8> {
        let f = frame(self.keys, &self.file_id, self.index, last, &self.buffer);
        self.index += 1;
        self.buffer.clear();
        f
    }
}

/// Opens a sealed file frame by frame. `K` is a borrowed or shared key ring (a stream being
/// sent keeps an `Arc`).
pub struct Opener<K> {
    keys: K,
    file_id: String,
    index: u64,
    done: bool,
}

/// What a frame header says: the sealed length and whether it is the last.
pub fn header(bytes: [u8; HEADER]) -> Result<(usize, bool), CryptoError> {
    let len = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
    match (len <= MAX_FRAME, bytes[4]) {
        (true, 0) => Ok((len, false)),
        (true, 1) => Ok((len, true)),
        _ => Err(CryptoError::Malformed),
    }
}

pub const HEADER_LEN: usize = HEADER;

impl<K: std::ops::Deref<Target = KeyRing>> Opener<K> {
    pub fn new(keys: K, file_id: &str) -> Self {
        Self {
            keys,
            file_id: file_id.to_string(),
            index: 0,
            done: false,
        }
    }

    /// Whether no frame has been opened yet.
    pub fn at_start(&self) -> bool {
        self.index == 0
    }

    /// The plaintext of the next frame (its header already read with `header`).
    pub fn open(&mut self, last: bool, sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
        if self.done {
            return Err(CryptoError::Malformed);
        }
        let plain = self
            .keys
            .open(sealed, &context(&self.file_id, self.index, last))?;
        self.index += 1;
        self.done = last;
        Ok(plain)
    }

    /// Whether the last frame was read: a file that ends before it was cut off.
    pub fn complete(&self) -> bool {
        self.done
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open_all(keys: &KeyRing, id: &str, file: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let (mut rest, mut out, mut opener) = (file, Vec::new(), Opener::new(keys, id));
        while !rest.is_empty() {
            let head: [u8; HEADER] = rest
                .get(..HEADER)
                .ok_or(CryptoError::Malformed)?
                .try_into()
                .unwrap();
            let (len, last) = header(head)?;
            let sealed = rest
                .get(HEADER..HEADER + len)
                .ok_or(CryptoError::Malformed)?;
            out.extend(opener.open(last, sealed)?);
            rest = &rest[HEADER + len..];
        }
        opener
            .complete()
            .then_some(out)
            .ok_or(CryptoError::Malformed)
    }

    fn sealed(keys: &KeyRing, id: &str, lines: usize) -> (Vec<u8>, Vec<u8>) {
        let (mut sealer, mut file, mut plain) = (Sealer::new(keys, id), Vec::new(), Vec::new());
        for i in 0..lines {
            let line = format!("{{\"event\":{i},\"pad\":\"{}\"}}\n", "x".repeat(i % 300));
            plain.extend_from_slice(line.as_bytes());
            file.extend(sealer.push(line.as_bytes()).unwrap_or_default());
        }
        file.extend(sealer.finish());
        (file, plain)
    }

    #[test]
    fn a_stream_of_many_chunks_opens_to_exactly_what_was_sealed() {
        let keys = KeyRing::new(&[vec![7; 32]]);
        let (file, plain) = sealed(&keys, "e1", 2_000);
        assert!(file.len() > 2 * CHUNK, "several chunks");
        assert!(
            !file.windows(9).any(|w| w == b"\"event\":1"),
            "no plaintext at rest"
        );
        assert_eq!(open_all(&keys, "e1", &file).unwrap(), plain);
        let (empty, _) = sealed(&keys, "e2", 0);
        assert_eq!(open_all(&keys, "e2", &empty).unwrap(), b"");
    }

    #[test]
    fn a_cut_swapped_or_foreign_file_does_not_open() {
        let keys = KeyRing::new(&[vec![7; 32]]);
        let (file, _) = sealed(&keys, "e1", 2_000);
        let (len, _) = header(file[..HEADER].try_into().unwrap()).unwrap();
        let first_frame = HEADER + len;
        // Cut after the first chunk: no last frame.
        assert!(open_all(&keys, "e1", &file[..first_frame]).is_err());
        // Another file's id.
        assert!(open_all(&keys, "e9", &file).is_err());
        // Claiming the first chunk is the last.
        let mut forged = file[..first_frame].to_vec();
        forged[4] = 1;
        assert!(open_all(&keys, "e1", &forged).is_err());
        // Another key.
        assert!(open_all(&KeyRing::new(&[vec![8; 32]]), "e1", &file).is_err());
    }
}
