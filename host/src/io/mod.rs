//! File formats at the host's edge: NIfTI, NRRD and DICOM images, meshes (PLY, OBJ),
//! reports (JSON, CSV). Errors always name the file.

pub mod mesh;
/// NIfTI lives in its own crate so that plugin tools (training, cohort fitting) read
/// images exactly as the host does.
pub use isotherm_nifti as nifti;
pub mod report;
pub mod volume;
/// DICOM and NRRD, like NIfTI, are crates of their own.
pub use isotherm_dicom as dicom;
pub use isotherm_nrrd as nrrd;
