//! File formats at the host's edge: NIfTI and DICOM images, meshes (PLY, OBJ), reports
//! (JSON, CSV). Errors always name the file.

pub mod mesh;
/// NIfTI lives in its own crate so that plugin tools (training, cohort fitting) read
/// images exactly as the host does.
pub use isotherm_nifti as nifti;
pub mod report;
pub mod volume;
/// DICOM, like NIfTI, is its own crate.
pub use isotherm_dicom as dicom;
