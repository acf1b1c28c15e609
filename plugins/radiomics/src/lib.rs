//! Radiomics: IBSI-compliant image features, validated on the IBSI digital phantom.
//!
//! Implemented so far: intensity statistics, intensity histogram, intensity-volume
//! histogram, local intensity peaks, GLCM, GLRLM, GLSZM, GLDZM, NGTDM and NGLDM with
//! the IBSI aggregations. Morphology, the plugin wrapper and the prognosis model follow.

pub mod features;
