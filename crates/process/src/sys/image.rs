//! The identity of the running executable: its ELF build-id, read from the loaded
//! image's `PT_NOTE` segments (`dl_iterate_phdr`), or, for a binary linked without
//! one, a digest of `/proc/self/exe` (the running file) computed once.
//!
//! A `Spawn` or `Forkserver` child is a fresh exec of an executable; before it runs a
//! target named by code offsets (see [`entry`](super::entry)), it must be the very
//! binary its parent runs, or the offsets point into foreign code. Two builds of one
//! program (or two programs linking skein-process) have different build-ids: the
//! linker hashes the whole output. A copy of the same file has the same one.

use std::fmt;
use std::hash::Hasher;
use std::io::Read;
use std::sync::OnceLock;

/// `NT_GNU_BUILD_ID`.
const NT_GNU_BUILD_ID: u32 = 3;
/// The most bytes of an identity kept (a SHA-1 build-id has 20, a digest 16).
const MAX: usize = 32;
/// [`ImageId::encode`]'s length.
pub(crate) const ENCODED_LEN: usize = 2 + MAX;

/// Which kind of identity an [`ImageId`] holds.
const KIND_BUILD_ID: u8 = 1;
const KIND_DIGEST: u8 = 2;

/// An executable's identity (see the module docs).
#[derive(Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct ImageId {
    kind: u8,
    len: u8,
    bytes: [u8; MAX],
}

impl ImageId {
    fn new(kind: u8, id: &[u8]) -> ImageId {
        let len = id.len().min(MAX);
        let mut bytes = [0u8; MAX];
        bytes[..len].copy_from_slice(&id[..len]);
        ImageId {
            kind,
            len: len as u8,
            bytes,
        }
    }

    /// A fixed-size encoding, for the bootstrap preamble and the forkserver's hello.
    pub(crate) fn encode(&self) -> [u8; ENCODED_LEN] {
        let mut out = [0u8; ENCODED_LEN];
        out[0] = self.kind;
        out[1] = self.len;
        out[2..].copy_from_slice(&self.bytes);
        out
    }

    /// A 64-bit tag of this identity (its kind and first bytes), small enough to ride with
    /// every [`FnRef`](crate::FnRef); two different executables' tags differ unless their
    /// build-ids share their first seven bytes.
    pub(crate) fn tag(&self) -> u64 {
        let mut t = [0u8; 8];
        t[0] = self.kind;
        t[1..].copy_from_slice(&self.bytes[..7]);
        u64::from_le_bytes(t)
    }

    /// The inverse of [`encode`](ImageId::encode); any bytes decode (a foreign
    /// program's are then simply a different identity).
    pub(crate) fn decode(b: &[u8; ENCODED_LEN]) -> ImageId {
        let mut bytes = [0u8; MAX];
        bytes.copy_from_slice(&b[2..]);
        ImageId {
            kind: b[0],
            len: b[1].min(MAX as u8),
            bytes,
        }
    }
}

impl fmt::Display for ImageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            KIND_BUILD_ID => f.write_str("build-id ")?,
            KIND_DIGEST => f.write_str("digest ")?,
            _ => f.write_str("unknown identity ")?,
        }
        for b in &self.bytes[..self.len as usize] {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for ImageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// This process's executable identity, computed on first use.
pub(crate) fn own() -> &'static ImageId {
    static OWN: OnceLock<ImageId> = OnceLock::new();
    OWN.get_or_init(|| {
        build_id()
            .map(|id| ImageId::new(KIND_BUILD_ID, &id))
            .unwrap_or_else(|| ImageId::new(KIND_DIGEST, &digest_of_exe()))
    })
}

/// The build-id of the main program (the first object `dl_iterate_phdr` reports).
fn build_id() -> Option<Vec<u8>> {
    let mut found: Option<Vec<u8>> = None;
    // SAFETY: the callback only reads the program headers and the loaded segments
    // they describe, for the duration of the call; `data` is our `found`, which
    // outlives the call.
    unsafe {
        libc::dl_iterate_phdr(
            Some(main_program_build_id),
            (&mut found as *mut Option<Vec<u8>>).cast(),
        );
    }
    found
}

/// `dl_iterate_phdr`'s callback: looks at the first object only (the main program)
/// and stores its build-id in `data`, an `Option<Vec<u8>>`.
unsafe extern "C" fn main_program_build_id(
    info: *mut libc::dl_phdr_info,
    _size: libc::size_t,
    data: *mut libc::c_void,
) -> libc::c_int {
    // SAFETY: the loader passes a valid `dl_phdr_info` for the call, and `data` is the
    // `Option<Vec<u8>>` that `build_id` passed.
    let (info, found) = unsafe { (&*info, &mut *data.cast::<Option<Vec<u8>>>()) };
    if info.dlpi_phdr.is_null() {
        return 1;
    }
    // SAFETY: `dlpi_phdr` points at `dlpi_phnum` program headers of the loaded object.
    let phdrs = unsafe { std::slice::from_raw_parts(info.dlpi_phdr, info.dlpi_phnum as usize) };
    for ph in phdrs.iter().filter(|ph| ph.p_type == libc::PT_NOTE) {
        let start = (info.dlpi_addr as usize).wrapping_add(ph.p_vaddr as usize);
        // SAFETY: a PT_NOTE segment of a loaded object is mapped readable at its
        // load address for `p_memsz` bytes, for as long as the object stays loaded
        // (the main program: the whole process).
        let notes = unsafe { std::slice::from_raw_parts(start as *const u8, ph.p_memsz as usize) };
        let align = if ph.p_align == 8 { 8 } else { 4 };
        if let Some(id) = find_build_id(notes, align) {
            *found = Some(id.to_vec());
            return 1;
        }
    }
    1 // the main program comes first: stop after it
}

/// Parses ELF notes (`namesz`, `descsz`, `type`, name, descriptor; each padded to
/// `align`) and returns the GNU build-id's descriptor.
fn find_build_id(mut notes: &[u8], align: usize) -> Option<&[u8]> {
    let pad = |n: usize| n.div_ceil(align) * align;
    while notes.len() >= 12 {
        let word = |i: usize| u32::from_ne_bytes(notes[i * 4..i * 4 + 4].try_into().unwrap());
        let (namesz, descsz, kind) = (word(0) as usize, word(1) as usize, word(2));
        let name_end = 12 + namesz;
        let desc_start = pad(name_end);
        let desc_end = desc_start.checked_add(descsz)?;
        if desc_end > notes.len() {
            return None;
        }
        if kind == NT_GNU_BUILD_ID && &notes[12..name_end] == b"GNU\0" && descsz > 0 {
            return Some(&notes[desc_start..desc_end]);
        }
        notes = notes.get(pad(desc_end)..)?;
    }
    None
}

/// A 128-bit digest of the running file (`/proc/self/exe`), for a binary without a
/// build-id: two SipHash passes with different keys. Empty if the file cannot be read
/// (then every such process looks alike, as before this check existed).
fn digest_of_exe() -> Vec<u8> {
    let Ok(mut file) = std::fs::File::open("/proc/self/exe") else {
        return Vec::new();
    };
    #[allow(deprecated)] // SipHasher: stable keys, the same in every process
    let (mut a, mut b) = (
        std::hash::SipHasher::new_with_keys(0x736b_6569_6e31, 1),
        std::hash::SipHasher::new_with_keys(0x736b_6569_6e32, 2),
    );
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                a.write(&buf[..n]);
                b.write(&buf[..n]);
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return Vec::new(),
        }
    }
    let mut out = a.finish().to_le_bytes().to_vec();
    out.extend_from_slice(&b.finish().to_le_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_identity_is_stable_and_round_trips() {
        let id = own();
        assert_eq!(*id, *own(), "computed once");
        // Rust on Linux links with the C compiler, which asks for a build-id on every
        // common distribution; without one we would fall back to the digest.
        let shown = id.to_string();
        assert!(shown.starts_with("build-id ") || shown.starts_with("digest "));
        assert!(id.len > 0);
        assert_eq!(ImageId::decode(&id.encode()), *id);
    }

    #[test]
    fn notes_are_parsed_with_padding() {
        let mut notes = Vec::new();
        // An ABI-tag note first (name "GNU\0", 16-byte descriptor, type 1).
        for w in [4u32, 16, 1] {
            notes.extend_from_slice(&w.to_ne_bytes());
        }
        notes.extend_from_slice(b"GNU\0");
        notes.extend_from_slice(&[0u8; 16]);
        // Then a build-id with a 5-byte name ("GNUX\0" is not ours) and the real one.
        for w in [5u32, 4, 3] {
            notes.extend_from_slice(&w.to_ne_bytes());
        }
        notes.extend_from_slice(b"GNUX\0\0\0\0");
        notes.extend_from_slice(&[9u8; 4]);
        for w in [4u32, 3, 3] {
            notes.extend_from_slice(&w.to_ne_bytes());
        }
        notes.extend_from_slice(b"GNU\0");
        notes.extend_from_slice(&[1, 2, 3, 0]);
        assert_eq!(find_build_id(&notes, 4), Some(&[1u8, 2, 3][..]));
        assert_eq!(find_build_id(&notes[..notes.len() - 4], 4), None);
    }

    #[test]
    fn different_identities_show_differently() {
        let a = ImageId::new(KIND_BUILD_ID, &[0xab, 0xcd]);
        let b = ImageId::new(KIND_DIGEST, &[0xab, 0xcd]);
        assert_ne!(a, b);
        assert_eq!(a.to_string(), "build-id abcd");
        assert_eq!(b.to_string(), "digest abcd");
    }
}
