//! File formats at the host's edge: NIfTI images, meshes (PLY, OBJ), reports (JSON,
//! CSV). Errors always name the file.

pub mod mesh;
pub mod nifti;
pub mod report;
