//! Microwave-ablation planning, free of FFI: the physics (`tissue`, `bioheat`, `damage`,
//! `sar`), antenna profiles (`antenna`), whole ablations (`ablation`) and the zone's
//! chart-style axes (`zone`).

pub mod ablation;
pub mod anatomy;
pub mod antenna;
pub mod bioheat;
pub mod calibrate;
pub mod damage;
pub mod plan;
pub mod recommend;
pub mod sar;
pub mod tissue;
pub mod trajectory;
pub mod variability;
pub mod vec3;
pub mod zone;
