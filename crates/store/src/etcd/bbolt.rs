//! Just enough of bbolt's file format to read an etcd snapshot (etcd's backend database) without
//! etcd: the meta pages, then the B+tree of each top-level bucket, in key order. Read-only and
//! bounds-checked throughout: a damaged file is an error, never a panic.
//!
//! Layout (go.etcd.io/bbolt): pages of `page_size` bytes, each with a 16-byte header (id, flags,
//! element count, overflow pages). Pages 0 and 1 are meta pages (the one with the higher
//! transaction id and a valid checksum is current); its root bucket is a B+tree whose leaf
//! values are bucket headers (root page, sequence), the bucket's own tree following inline when
//! the root page is 0. Branch elements are (pos, key size, child page), leaf elements (flags, pos,
//! key size, value size), `pos` counting from the element itself. Integers are little-endian.

const PAGE_HEADER: usize = 16;
const ELEMENT: usize = 16;
/// A bucket's header in its parent's leaf: root page and sequence.
const BUCKET_HEADER: usize = 16;
const BRANCH: u16 = 0x01;
const LEAF: u16 = 0x02;
const META: u16 = 0x04;
const BUCKET_LEAF: u32 = 0x01;
const MAGIC: u32 = 0xED0C_DAED;
const VERSION: u32 = 2;
/// Deeper than any real tree: a cycle in damaged pages ends here.
const MAX_DEPTH: usize = 64;

/// Sees each leaf element of a tree: its flags, key and value.
type Visit<'v> = dyn FnMut(u32, &[u8], &[u8]) -> Result<(), String> + 'v;

/// An open bbolt file, held in memory.
pub struct Db<'a> {
    data: &'a [u8],
    page_size: usize,
    root: u64,
}

impl<'a> Db<'a> {
    pub fn open(data: &'a [u8]) -> Result<Self, String> {
        let meta = |at: usize| -> Result<(u64, usize, u64), String> {
            let m = data
                .get(at + PAGE_HEADER..at + PAGE_HEADER + 64)
                .ok_or("too short for a bbolt file")?;
            if u16_at(data, at + 8)? & META == 0 || u32_at(m, 0)? != MAGIC {
                return Err("not a bbolt database (no meta page)".into());
            }
            if u32_at(m, 4)? != VERSION {
                return Err(format!("unsupported bbolt version {}", u32_at(m, 4)?));
            }
            if fnv64a(&m[..56]) != u64_at(m, 56)? {
                return Err("meta page checksum mismatch".into());
            }
            let page_size = u32_at(m, 8)? as usize;
            Ok((u64_at(m, 48)?, page_size, u64_at(m, 16)?))
        };
        let first = meta(0);
        let page_size = first.as_ref().map_or(4096, |(_, size, _)| *size);
        let second = meta(page_size);
        let (_, page_size, root) = match (first, second) {
            (Ok(a), Ok(b)) => {
                if a.0 >= b.0 {
                    a
                } else {
                    b
                }
            }
            (Ok(m), Err(_)) | (Err(_), Ok(m)) => m,
            (Err(e), Err(_)) => return Err(e),
        };
        if !(512..=1 << 20).contains(&page_size) {
            return Err(format!("implausible page size {page_size}"));
        }
        Ok(Self {
            data,
            page_size,
            root,
        })
    }

    /// Calls `each` with every key and value of top-level bucket `name`, in key order; `false`
    /// if there is no such bucket.
    pub fn for_each(
        &self,
        name: &[u8],
        mut each: impl FnMut(&[u8], &[u8]) -> Result<(), String>,
    ) -> Result<bool, String> {
        let mut header = None;
        self.walk(self.page(self.root)?, 0, &mut |flags, key, value| {
            if key == name && flags & BUCKET_LEAF != 0 {
                header = Some(value.to_vec());
            }
            Ok(())
        })?;
        let Some(header) = header else {
            return Ok(false);
        };
        let root = u64_at(&header, 0)?;
        let page = if root == 0 {
            header
                .get(BUCKET_HEADER..)
                .ok_or("truncated inline bucket")?
        } else {
            self.page(root)?
        };
        self.walk(page, 0, &mut |flags, key, value| {
            if flags & BUCKET_LEAF == 0 {
                each(key, value)?;
            }
            Ok(())
        })?;
        Ok(true)
    }

    /// The bytes of page `id`, its overflow pages included.
    fn page(&self, id: u64) -> Result<&'a [u8], String> {
        let start = usize::try_from(id)
            .ok()
            .and_then(|id| id.checked_mul(self.page_size))
            .ok_or_else(|| format!("page {id} out of range"))?;
        let header = self
            .data
            .get(start..start + PAGE_HEADER)
            .ok_or_else(|| format!("page {id} beyond the end of the file"))?;
        let overflow = u32_at(header, 12)? as usize;
        let len = (overflow + 1) * self.page_size;
        self.data
            .get(start..start + len)
            .ok_or_else(|| format!("page {id} (+{overflow} overflow) beyond the end of the file"))
    }

    /// Visits the leaf elements under `page` in order: (flags, key, value).
    fn walk(&self, page: &[u8], depth: usize, visit: &mut Visit<'_>) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err("tree too deep (a cycle in damaged pages?)".into());
        }
        let flags = u16_at(page, 8)?;
        let count = usize::from(u16_at(page, 10)?);
        for i in 0..count {
            let at = PAGE_HEADER + i * ELEMENT;
            if flags & BRANCH != 0 {
                let child = u64_at(page, at + 8)?;
                self.walk(self.page(child)?, depth + 1, visit)?;
            } else if flags & LEAF != 0 {
                let pos = at + u32_at(page, at + 4)? as usize;
                let key_size = u32_at(page, at + 8)? as usize;
                let value_size = u32_at(page, at + 12)? as usize;
                let key = page
                    .get(pos..pos + key_size)
                    .ok_or("leaf key out of bounds")?;
                let value = page
                    .get(pos + key_size..pos + key_size + value_size)
                    .ok_or("leaf value out of bounds")?;
                visit(u32_at(page, at)?, key, value)?;
            } else {
                return Err(format!("unexpected page type {flags:#x} in a tree"));
            }
        }
        Ok(())
    }
}

fn u16_at(data: &[u8], at: usize) -> Result<u16, String> {
    Ok(u16::from_le_bytes(bytes(data, at)?))
}

fn u32_at(data: &[u8], at: usize) -> Result<u32, String> {
    Ok(u32::from_le_bytes(bytes(data, at)?))
}

fn u64_at(data: &[u8], at: usize) -> Result<u64, String> {
    Ok(u64::from_le_bytes(bytes(data, at)?))
}

fn bytes<const N: usize>(data: &[u8], at: usize) -> Result<[u8; N], String> {
    data.get(at..at + N)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| format!("read of {N} bytes at {at} beyond the end of a page"))
}

/// 64-bit FNV-1a, bbolt's meta page checksum.
fn fnv64a(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}
