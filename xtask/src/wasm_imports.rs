//! Reads a wasm module's import section. Just enough of the binary format
//! (https://webassembly.github.io/spec/core/binary/modules.html) to list
//! what a module needs from its host; a crate for this would cost more build
//! time than these lines.

use anyhow::{bail, Context, Result};

#[derive(Debug, PartialEq, Eq)]
pub struct Import {
    pub module: String,
    pub name: String,
    pub kind: &'static str,
}

const IMPORT_SECTION: u8 = 2;
const EXPORT_SECTION: u8 = 7;

pub fn parse(bytes: &[u8]) -> Result<Vec<Import>> {
    match section(bytes, IMPORT_SECTION)? {
        Some(body) => imports(&mut Reader {
            bytes: body,
            pos: 0,
        }),
        None => Ok(Vec::new()),
    }
}

/// The names a module exports (a proxy-wasm module must export
/// `_initialize`, or the host never learns its root context).
pub fn exports(bytes: &[u8]) -> Result<Vec<String>> {
    let Some(body) = section(bytes, EXPORT_SECTION)? else {
        return Ok(Vec::new());
    };
    let mut r = Reader {
        bytes: body,
        pos: 0,
    };
    let count = r.leb()?;
    let mut out = Vec::new();
    for _ in 0..count {
        out.push(r.name()?);
        r.byte()?; // kind
        r.leb()?; // index
    }
    Ok(out)
}

fn section(bytes: &[u8], wanted: u8) -> Result<Option<&[u8]>> {
    let mut r = Reader { bytes, pos: 0 };
    if r.take(8)? != b"\0asm\x01\0\0\0" {
        bail!("not a wasm module (bad magic or version)");
    }
    while r.pos < bytes.len() {
        let id = r.byte()?;
        let size = r.leb()? as usize;
        let body = r.take(size)?;
        if id == wanted {
            return Ok(Some(body));
        }
    }
    Ok(None)
}

fn imports(r: &mut Reader) -> Result<Vec<Import>> {
    let count = r.leb()?;
    let mut out = Vec::new();
    for _ in 0..count {
        let module = r.name()?;
        let name = r.name()?;
        let kind = match r.byte()? {
            0 => {
                r.leb()?; // type index
                "func"
            }
            1 => {
                r.byte()?; // reference type
                r.limits()?;
                "table"
            }
            2 => {
                r.limits()?;
                "memory"
            }
            3 => {
                r.byte()?; // value type
                r.byte()?; // mutability
                "global"
            }
            4 => {
                r.byte()?; // attribute
                r.leb()?; // type index
                "tag"
            }
            other => bail!("unknown import kind {other:#x} for {module}.{name}"),
        };
        out.push(Import { module, name, kind });
    }
    Ok(out)
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|end| *end <= self.bytes.len());
        let slice = end
            .and_then(|end| self.bytes.get(self.pos..end))
            .context("truncated wasm module")?;
        self.pos += n;
        Ok(slice)
    }

    fn byte(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    /// Unsigned LEB128, wide enough for memory64 limits.
    fn leb(&mut self) -> Result<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        bail!("LEB128 number too long")
    }

    fn name(&mut self) -> Result<String> {
        let len = self.leb()? as usize;
        Ok(String::from_utf8_lossy(self.take(len)?).into_owned())
    }

    fn limits(&mut self) -> Result<()> {
        let flags = self.byte()?;
        self.leb()?; // minimum
        if flags & 1 != 0 {
            self.leb()?; // maximum
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> Vec<u8> {
        let mut v = vec![s.len() as u8];
        v.extend_from_slice(s.as_bytes());
        v
    }

    #[test]
    fn lists_imports_after_other_sections() {
        let mut imports = vec![3];
        imports.extend(name("wasi_snapshot_preview1"));
        imports.extend(name("fd_write"));
        imports.extend([0, 0x81, 0x01]); // func, type index 129 (two-byte LEB)
        imports.extend(name("env"));
        imports.extend(name("memory"));
        imports.extend([2, 1, 1, 0x80, 0x02]); // memory, min 1, max 256
        imports.extend(name("env"));
        imports.extend(name("g"));
        imports.extend([3, 0x7f, 1]); // global i32 mut
        let mut module = b"\0asm\x01\0\0\0".to_vec();
        module.extend([1, 4, 1, 0x60, 0, 0]); // type section: one () -> ()
        module.extend([IMPORT_SECTION, imports.len() as u8]);
        module.extend(imports);
        module.extend([0, 3, 1, b'x', 0]); // trailing custom section

        let got = parse(&module).unwrap();
        let got: Vec<_> = got
            .iter()
            .map(|i| (i.module.as_str(), i.name.as_str(), i.kind))
            .collect();
        assert_eq!(
            got,
            [
                ("wasi_snapshot_preview1", "fd_write", "func"),
                ("env", "memory", "memory"),
                ("env", "g", "global"),
            ]
        );
    }

    #[test]
    fn rejects_garbage_and_truncation() {
        assert!(parse(b"not wasm").is_err());
        let mut module = b"\0asm\x01\0\0\0".to_vec();
        module.extend([IMPORT_SECTION, 10, 1]);
        assert!(parse(&module).is_err());
    }

    #[test]
    fn lists_exports() {
        let mut section = vec![2];
        section.extend(name("_initialize"));
        section.extend([0, 5]); // func 5
        section.extend(name("memory"));
        section.extend([2, 0]); // memory 0
        let mut module = b"\0asm\x01\0\0\0".to_vec();
        module.extend([EXPORT_SECTION, section.len() as u8]);
        module.extend(section);
        assert_eq!(exports(&module).unwrap(), ["_initialize", "memory"]);
    }

    #[test]
    fn module_without_imports() {
        assert_eq!(parse(b"\0asm\x01\0\0\0").unwrap(), []);
    }
}
