//! The antenna choices come from the profiles under `assets/antennas/`: adding an antenna
//! is adding its TOML file (and pinning it in `plugin.toml`), no code.

fn main() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/antennas");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut ids: Vec<String> = std::fs::read_dir(&dir)
        .map(|d| d.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|e| e == "toml")).filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned())).collect())
        .unwrap_or_default();
    ids.sort();
    // The default first.
    if let Some(i) = ids.iter().position(|s| s == "emprint") {
        let e = ids.remove(i);
        ids.insert(0, e);
    }
    let out = std::path::Path::new(&std::env::var("OUT_DIR").unwrap()).join("antennas.rs");
    std::fs::write(out, format!("/// The shipped antenna profiles (file stems under assets/antennas/).\npub const ANTENNAS: &[&str] = &{ids:?};\n")).unwrap();
}
