//! A fuzz pass over files nobody on this project wrote (pydicom 3.0.2's and
//! pydicom-data 1.0.0's test files up to 64 KB, installed pinned by
//! scripts/dicom-oracle.sh; 184 files, every transfer syntax they hold): each
//! file as it is, truncated, with flipped bytes and with length fields blown up, through
//! every reader the host calls (series scan, volume read, SEG read). Each may succeed or
//! fail, but never panic or abort: a hostile file must not take the viewer down.

use std::path::{Path, PathBuf};

use isotherm_dicom::{Policy, read_volume, seg, series};

fn corpus() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let python = std::process::Command::new("bash").arg(root.join("scripts/dicom-oracle.sh")).arg("--python").output().unwrap();
    assert!(python.status.success(), "{}", String::from_utf8_lossy(&python.stderr));
    let python = String::from_utf8(python.stdout).unwrap().trim().to_string();
    let o = std::process::Command::new(&python)
        .args(["-c", "import os, pydicom, data_store; print(os.path.join(os.path.dirname(pydicom.__file__), 'data', 'test_files')); print(os.path.join(os.path.dirname(data_store.__file__), 'data'))"])
        .output()
        .unwrap();
    let mut files = Vec::new();
    let mut stack: Vec<PathBuf> = String::from_utf8(o.stdout).unwrap().lines().map(PathBuf::from).collect();
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if e.metadata().is_ok_and(|m| m.len() <= 64 << 10) && !p.extension().is_some_and(|x| x == "py" || x == "pyc" || x == "json" || x == "txt") {
                files.push(p);
            }
        }
    }
    files.sort();
    files
}

/// xorshift64*: deterministic mutations, the same every run.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn mutants(bytes: &[u8], rng: &mut Rng) -> Vec<Vec<u8>> {
    let n = bytes.len();
    let mut out = vec![bytes.to_vec()];
    for cut in [200, n / 2, n.saturating_sub(7)] {
        out.push(bytes[..cut.min(n)].to_vec());
    }
    for round in 0..6 {
        let mut m = bytes.to_vec();
        // Most structure is in the first few KB (meta, header, sequence lengths).
        let span = if round % 2 == 0 { n.min(4096) } else { n };
        for _ in 0..(1 + rng.below(12)) {
            let at = rng.below(span);
            m[at] ^= 1 << rng.below(8);
        }
        out.push(m);
    }
    for _ in 0..2 {
        // A length field (or anything) set to 0xFFFF_FFFE: huge allocations, undefined lengths.
        let mut m = bytes.to_vec();
        let at = 132 + rng.below(n.saturating_sub(136).min(4096));
        if at + 4 <= n {
            m[at..at + 4].copy_from_slice(&[0xFE, 0xFF, 0xFF, 0xFF]);
        }
        out.push(m);
    }
    out
}

#[test]
fn no_reader_panics_on_the_mutated_corpus() {
    let files = corpus();
    assert!(files.len() > 150, "the corpus has {} files", files.len());
    let dir = std::env::temp_dir().join(format!("isotherm-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut rng = Rng(0x1507_4E12_2026);
    let (mut reads, mut read_ok, mut panics) = (0usize, 0usize, Vec::new());
    for (f, file) in files.iter().enumerate() {
        let bytes = std::fs::read(file).unwrap();
        for (m, mutant) in mutants(&bytes, &mut rng).iter().enumerate() {
            let p = dir.join(format!("{f}-{m}.dcm"));
            std::fs::write(&p, mutant).unwrap();
            let started = std::time::Instant::now();
            let outcome = std::panic::catch_unwind(|| {
                let found = series::find(std::slice::from_ref(&p)).map(|f| series::listing(&f));
                let volume = read_volume(&p, None, Policy::Resample).map(|v| v.volume.geometry.len());
                let segmentation = seg::read_seg(&p).map(|s| s.labels.labels.len());
                // Errors name the file.
                for e in [found.err(), volume.as_ref().err().cloned(), segmentation.err()].into_iter().flatten() {
                    assert!(e.to_string().contains(p.file_name().unwrap().to_str().unwrap()) || e.to_string().contains(&*dir.to_string_lossy()), "an error that names no file: {e}");
                }
                volume.is_ok()
            });
            reads += 1;
            if started.elapsed().as_secs_f64() > 0.3 {
                eprintln!("slow: {} mutant {m}: {:.2} s", file.display(), started.elapsed().as_secs_f64());
            }
            match outcome {
                Ok(ok) => read_ok += ok as usize,
                Err(_) => panics.push(format!("{} mutant {m}", file.display())),
            }
            let _ = std::fs::remove_file(&p);
        }
    }
    eprintln!("{reads} mutated files, {read_ok} read as volumes, {} panics", panics.len());
    assert!(panics.is_empty(), "readers panicked on:\n{}", panics.join("\n"));
    assert!(read_ok > 50, "the unmutated images should read: {read_ok}");
}
