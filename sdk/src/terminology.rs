//! Coded concepts for the structures Isotherm labels: what a label's name means in
//! SNOMED CT (or, where DICOM has no concept, Isotherm's declared private scheme). One
//! table for every writer that says it: DICOM SEG segments and SR findings, 3D Slicer's
//! `.seg.nrrd` terminology tags.

/// A coded concept: (value, coding scheme, meaning).
#[derive(Debug, Clone, PartialEq)]
pub struct Code {
    pub value: String,
    pub scheme: String,
    pub meaning: String,
}

impl Code {
    pub fn new(value: &str, scheme: &str, meaning: &str) -> Self {
        Code { value: value.into(), scheme: scheme.into(), meaning: meaning.into() }
    }
}

/// Isotherm's private coding scheme, for concepts DICOM has none for (the ablation
/// zone, the margin shell). Private designators start with "99" and are declared in
/// each file that uses them.
pub const PRIVATE_SCHEME: &str = "99ISOTHERM";

/// What one label is: its segment's label, category, type and anatomic region.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentCode {
    pub label: String,
    pub category: Code,
    pub kind: Code,
    pub region: Option<Code>,
}

/// Coded concepts for the labels Isotherm writes, by their names (the label table's):
/// liver, tumour (or lesion), vessel, ablation zone; anything else is a tissue of
/// unknown kind.
pub fn segment_code(name: &str) -> SegmentCode {
    let lower = name.to_ascii_lowercase();
    let liver = Code::new("10200004", "SCT", "Liver");
    let structure = Code::new("123037004", "SCT", "Anatomical Structure");
    let altered = Code::new("49755003", "SCT", "Morphologically Altered Structure");
    let (category, kind, region) = if lower.contains("tumour") || lower.contains("tumor") || lower.contains("lesion") {
        (altered, Code::new("108369006", "SCT", "Neoplasm"), Some(liver))
    } else if lower.contains("zone") || lower.contains("ablat") {
        (altered, Code::new("ABLATIONZONE", PRIVATE_SCHEME, "Ablation zone"), Some(liver))
    } else if lower.contains("vessel") || lower.contains("vein") {
        (structure, Code::new("59820001", "SCT", "Blood vessel"), Some(liver))
    } else if lower.contains("liver") {
        (structure, liver, None)
    } else {
        (Code::new("85756007", "SCT", "Tissue"), Code::new("85756007", "SCT", "Tissue"), None)
    };
    SegmentCode { label: name.to_string(), category, kind, region }
}
