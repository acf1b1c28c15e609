//! Measurement tables out as DICOM SR (TID 1500) over a SEG's segments, read back by two
//! independent readers (highdicom 0.28.2 and dcmqi 1.5.7's tid1500reader, installed
//! pinned by scripts/dicom-oracle.sh): the same numbers, codes and segment references;
//! dciodvfy finds no error. Bad groups are refused, naming the row.

use std::path::{Path, PathBuf};

use isotherm_dicom::seg::{SourceSeries, WrittenSeg, write_seg};
use isotherm_dicom::sr::{Measurement, MeasurementGroup, measurement_concept, ucum, write_measurement_report};
use isotherm_dicom::write::{new_identifiers, write_series};
use isotherm_dicom::{Policy, read_volume};
use isotherm_sdk::abi::{Geometry, LabelEntry, LabelMap, Volume};

fn measurement(column: &str, unit: &str, value: f64) -> Measurement {
    let (concept, derivation) = measurement_concept(column).unwrap();
    Measurement { concept, derivation, unit: ucum(unit).unwrap(), value }
}

struct Case {
    dir: PathBuf,
    source: isotherm_dicom::DicomVolume,
    seg: WrittenSeg,
}

fn case(name: &str) -> Case {
    let dir = std::env::temp_dir().join(format!("isotherm-sr-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let geometry =
        Geometry { dims: [16, 12, 4], spacing: [0.8, 0.8, 2.0], origin: [10.0, -20.0, 5.0], direction: [-1.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0, 1.0] };
    let ids = new_identifiers(&format!("sr test {name}"), "SR-1", "source CT");
    write_series(&Volume::from_i16(geometry, vec![60; geometry.len()]), &dir.join("ct"), &ids).unwrap();
    let source = read_volume(&dir.join("ct"), None, Policy::Refuse).unwrap();
    let labels: Vec<u16> = (0..geometry.len()).map(|n| [0, 1, 2][geometry.ijk(n)[0] as usize % 3]).collect();
    let map = LabelMap::new(geometry, labels, vec![LabelEntry::new(1, "tumour 1", [230, 85, 13, 255]), LabelEntry::new(2, "tumour 2", [49, 130, 189, 255])]);
    let seg = write_seg(
        &dir.join("tumours.seg.dcm"),
        &map,
        &SourceSeries { identifiers: &source.identifiers, slice_uids: Some(&source.sop_instance_uids) },
        "Isotherm tumours",
    )
    .unwrap();
    Case { dir, source, seg }
}

fn read_back(sr: &Path) -> serde_json::Value {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let python = std::process::Command::new("bash").arg(root.join("scripts/dicom-oracle.sh")).arg("--python").output().unwrap();
    assert!(python.status.success(), "{}", String::from_utf8_lossy(&python.stderr));
    let python = String::from_utf8(python.stdout).unwrap().trim().to_string();
    let json_path = sr.with_extension("json");
    let o = std::process::Command::new(&python).arg(root.join("dicom/tests/sr_read.py")).arg(sr).arg(&json_path).output().unwrap();
    assert!(o.status.success(), "the SR did not read back: {}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap()
}

#[test]
fn a_margin_table_reads_back_in_highdicom_and_dcmqi() {
    let c = case("margins");
    let groups = vec![
        MeasurementGroup {
            tracking_id: "tumour 1".into(),
            label_value: 1,
            measurements: vec![measurement("signed MAM", "mm", 3.25), measurement("tumour volume", "ml", 4.5), measurement("shell ablated", "%", 87.5)],
        },
        MeasurementGroup {
            tracking_id: "tumour 2".into(),
            label_value: 2,
            measurements: vec![measurement("signed MAM", "mm", -1.5), measurement("uncovered tumour", "ml", 0.125)],
        },
    ];
    let sr = c.dir.join("margins.sr.dcm");
    write_measurement_report(
        &sr,
        &SourceSeries { identifiers: &c.source.identifiers, slice_uids: Some(&c.source.sop_instance_uids) },
        &c.seg,
        &groups,
        "Isotherm margins",
    )
    .unwrap();
    let read = read_back(&sr);

    // highdicom: the groups, their segments and every number with its codes.
    let hd = read["highdicom"]["groups"].as_array().unwrap();
    assert_eq!(hd.len(), 2);
    for (g, ours) in hd.iter().zip(&groups) {
        assert_eq!(g["tracking_id"], ours.tracking_id.as_str());
        assert_eq!(g["segments"], serde_json::json!([ours.label_value]), "segment n holds label n here");
        assert_eq!(g["source_series"], c.source.identifiers.series_instance_uid.as_str());
        assert_eq!(g["seg_uid"], c.seg.sop_instance_uid.as_str());
        assert_eq!(g["finding"], "108369006", "a tumour is a neoplasm");
        assert_eq!(g["finding_sites"], serde_json::json!(["10200004"]), "in the liver");
        let m = g["measurements"].as_array().unwrap();
        assert_eq!(m.len(), ours.measurements.len());
        for (m, o) in m.iter().zip(&ours.measurements) {
            assert_eq!(m["concept"], serde_json::json!([o.concept.value, o.concept.scheme]));
            assert_eq!(m["value"].as_f64().unwrap(), o.value);
            assert_eq!(m["unit"], o.unit.value.as_str());
            assert_eq!(m["derivation"].as_str(), o.derivation.as_ref().map(|d| d.value.as_str()));
        }
    }
    // The minimal ablative margin is a distance, derived as a minimum, in mm.
    assert_eq!(hd[0]["measurements"][0]["concept"], serde_json::json!(["121206", "DCM"]));
    assert_eq!(hd[0]["measurements"][0]["derivation"], "255605001");

    // dcmqi's tid1500reader, an independent implementation (DCMTK's SR classes).
    let dq = &read["dcmqi"];
    assert_eq!(dq["compositeContext"], serde_json::json!([c.seg.sop_instance_uid]));
    assert_eq!(dq["imageLibrary"].as_array().unwrap().len(), c.source.sop_instance_uids.len(), "the CT slices are in the evidence");
    let groups_dq = dq["Measurements"].as_array().unwrap();
    assert_eq!(groups_dq.len(), 2);
    for (g, ours) in groups_dq.iter().zip(&groups) {
        assert_eq!(g["TrackingIdentifier"], ours.tracking_id.as_str());
        assert_eq!(g["ReferencedSegment"], ours.label_value as u64);
        assert_eq!(g["SourceSeriesForImageSegmentation"], c.source.identifiers.series_instance_uid.as_str());
        for (m, o) in g["measurementItems"].as_array().unwrap().iter().zip(&ours.measurements) {
            assert_eq!(m["quantity"]["CodeValue"], o.concept.value.as_str());
            assert_eq!(m["value"].as_str().unwrap().parse::<f64>().unwrap(), o.value);
            assert_eq!(m["units"]["CodeValue"], o.unit.value.as_str());
        }
    }

    // dciodvfy: no errors; warnings only about the (declared) private coding scheme.
    let o = std::process::Command::new("dciodvfy").arg(&sr).output().expect("dciodvfy (Debian's dicom3tools; scripts/test.sh installs it)");
    let report = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert!(!report.contains("Error"), "dciodvfy:\n{report}");
    assert!(report.lines().all(|l| !l.starts_with("Warning") || l.contains("99ISOTHERM")), "dciodvfy:\n{report}");
}

#[test]
fn rows_that_are_not_segments_or_not_numbers_are_refused() {
    let c = case("bad");
    let source = SourceSeries { identifiers: &c.source.identifiers, slice_uids: None };
    let sr = c.dir.join("bad.sr.dcm");
    let stray = vec![MeasurementGroup { tracking_id: "tumour 7".into(), label_value: 7, measurements: vec![measurement("volume", "ml", 1.0)] }];
    let e = write_measurement_report(&sr, &source, &c.seg, &stray, "t").unwrap_err();
    assert!(e.to_string().contains("tumour 7: label 7 is not a segment"), "{e}");
    let nan = vec![MeasurementGroup { tracking_id: "tumour 1".into(), label_value: 1, measurements: vec![measurement("signed MAM", "mm", f64::NAN)] }];
    let e = write_measurement_report(&sr, &source, &c.seg, &nan, "t").unwrap_err();
    assert!(e.to_string().contains("tumour 1: Distance is NaN"), "{e}");
    assert!(!sr.exists(), "nothing is written for a refused report");
}

#[test]
fn columns_map_onto_concepts() {
    assert!(measurement_concept("centroid x").is_none(), "positions are not measurements");
    assert!(measurement_concept("tumour").is_none());
    let (c, d) = measurement_concept("mean HU").unwrap();
    assert_eq!((c.value.as_str(), d.unwrap().value.as_str()), ("112031", "373098007"));
    let (c, _) = measurement_concept("energy delivered to tissue (total)").unwrap();
    assert_eq!((c.value.as_str(), c.scheme.as_str()), ("ENERGYDELIVEREDT", "99ISOTHERM"), "an unknown column gets a private code, at most 16 characters");
    assert_eq!(ucum("HU").unwrap().value, "[hnsf'U]");
    assert!(ucum("furlongs").is_none());
}

#[test]
fn a_table_becomes_groups_over_the_label_map_its_rows_name() {
    use isotherm_dicom::sr::groups_from_table;
    use isotherm_sdk::abi::{Cell, Table};
    let g = Geometry { dims: [2, 1, 1], spacing: [1.0; 3], origin: [0.0; 3], direction: [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0] };
    let tumours = LabelMap::new(g, vec![3, 5], vec![LabelEntry::new(3, "tumour 1", [0; 4]), LabelEntry::new(5, "tumour 2", [0; 4])]);
    let cols = ["tumour", "MAM", "signed MAM", "class", "tumour volume", "centroid x"];
    let units = ["", "", "mm", "", "ml", "mm"];
    let row = |id: i64, mam: f64| {
        vec![Cell::Integer(id), Cell::Text("x".into()), Cell::Number(mam), Cell::Text("0-5 mm".into()), Cell::Number(2.0), Cell::Number(9.0)].into()
    };
    let table = Table {
        name: "margins".into(),
        columns: cols.iter().map(|&c| c.into()).collect(),
        units: units.iter().map(|&c| c.into()).collect(),
        rows: vec![row(1, 2.5), row(2, -0.5)].into(),
    };
    let groups = groups_from_table(&table, &tumours).unwrap();
    assert_eq!(
        groups.iter().map(|g| (g.tracking_id.as_str(), g.label_value)).collect::<Vec<_>>(),
        [("tumour 1", 3), ("tumour 2", 5)],
        "rows find their labels by name, not by value"
    );
    let concepts: Vec<&str> = groups[1].measurements.iter().map(|m| m.concept.value.as_str()).collect();
    assert_eq!(concepts, ["121206", "118565006"], "text and position columns are left out");
    assert_eq!(groups[1].measurements[0].value, -0.5);
    let lesions = LabelMap::new(g, vec![1, 0], vec![LabelEntry::new(1, "lesion 1", [0; 4])]);
    assert!(groups_from_table(&table, &lesions).is_none(), "a margin table is not about a lesion map");
}
