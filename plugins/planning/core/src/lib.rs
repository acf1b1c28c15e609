//! Microwave-ablation planning, free of FFI: the physics (`tissue`, `bioheat`, `damage`,
//! `sar`), antenna profiles (`antenna`) and whole ablations (`ablation`).

pub mod bioheat;
pub mod damage;
pub mod tissue;
