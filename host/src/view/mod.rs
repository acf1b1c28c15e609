//! The viewer's logic, free of Bevy (Slicer's "Logic" half): how a slice view maps
//! pixels to world millimetres, how CT and label maps are resliced and coloured,
//! where meshes cross a slice, window/level, the orbit camera's maths, and the
//! educator's live ablation (controls and play clock) with its exercise score. The Bevy app in `app/` is a thin view over
//! this, and the unit tests here need no window.

pub mod ablation;
pub mod camera;
pub mod chart;
pub mod colormap;
pub mod cut;
pub mod exercise;
pub mod slice;
