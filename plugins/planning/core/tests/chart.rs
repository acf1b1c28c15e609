//! The calibrated Emprint profile against its vendor chart, simulated as the calibration
//! did (homogeneous liver block, 1 mm): every setting's long axis, short axis and reach
//! past the tip, and the chart's saturating growth (zone volume per kJ falls with time at
//! every power).

use std::path::Path;

use isotherm_planning_core::antenna::Antenna;
use isotherm_planning_core::calibrate::{residuals, simulate_chart};

/// The largest error the calibrated model reaches on this chart (mm): 2 mm was the aim;
/// the short axis at 100 W for 5 min stays 3.3 mm short (see the calibration card).
const TOLERANCE_MM: f64 = 3.5;

#[test]
fn emprint_chart_is_reproduced_and_growth_saturates() {
    let a = Antenna::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../assets/antennas/emprint.toml")).unwrap();
    let c = a.calibration.clone().expect("calibrated");
    let zones = simulate_chart(c.sar, a.frequency_hz, &a.chart, c.criterion, c.grid_mm * 1e-3);
    let res = residuals(&zones, &a.chart);
    for ((e, z), r) in a.chart.iter().zip(&zones).zip(&res) {
        eprintln!("{} W {} min: long {:.1}/{:.1}, short {:.1}/{:.1}, distal {:.1}/{:.1}", e.power_w, e.time_min, z.long_mm, e.long_mm, z.short_mm, e.short_mm, z.distal_mm, e.distal_mm);
        assert!(r.iter().all(|v| v.abs() <= TOLERANCE_MM), "{} W {} min off by {r:?} mm", e.power_w, e.time_min);
    }
    // The stored rms is what this simulation gives.
    let rms = isotherm_planning_core::calibrate::rms(&res);
    assert!((rms - c.rms_mm).abs() < 0.01, "rms {rms:.3} vs the card's {:.3}", c.rms_mm);
    // Saturation: at each power, volume per kJ falls from one time to the next.
    for p in [75.0, 100.0, 150.0] {
        let mut per_kj: Vec<(f64, f64)> = a.chart.iter().zip(&zones).filter(|(e, _)| e.power_w == p).map(|(e, z)| (e.time_min, std::f64::consts::PI / 6.0 * z.long_mm * z.short_mm * z.short_mm / 1e3 / e.energy_kj())).collect();
        per_kj.sort_by(|a, b| a.0.total_cmp(&b.0));
        assert!(per_kj.windows(2).all(|w| w[1].1 < w[0].1), "{p} W: {per_kj:?}");
    }
    // 100 W, 5 -> 10 min: the zone grows (the chart: 37 x 35 -> 42 x 36 mm) by less than its
    // energy (volume per kJ falls, checked above).
    let at = |t: f64| zones[a.chart.iter().position(|e| e.power_w == 100.0 && e.time_min == t).unwrap()];
    let (early, late) = (at(5.0), at(10.0));
    assert!(late.long_mm > early.long_mm && late.short_mm > early.short_mm);
}

#[test]
fn chart_zone_is_the_listed_entry_or_interpolated_between_neighbours() {
    let a = Antenna::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../assets/antennas/emprint.toml")).unwrap();
    let at = |p: f64, t: f64| a.chart.iter().find(|c| c.power_w == p && c.time_min == t).copied().unwrap();
    // Listed: itself.
    assert_eq!(a.chart_zone(100.0, 7.5), Some(at(100.0, 7.5)));
    // Halfway in time at a listed power.
    let mid = a.chart_zone(100.0, 6.25).unwrap();
    assert!((mid.long_mm - 0.5 * (at(100.0, 5.0).long_mm + at(100.0, 7.5).long_mm)).abs() < 1e-9);
    // Between powers: between the two rows' values, at the asked setting.
    let between = a.chart_zone(87.5, 5.0).unwrap();
    assert!((between.short_mm - 0.5 * (at(75.0, 5.0).short_mm + at(100.0, 5.0).short_mm)).abs() < 1e-9);
    assert_eq!((between.power_w, between.time_min), (87.5, 5.0));
    // Outside what the chart brackets: nothing.
    assert_eq!(a.chart_zone(100.0, 2.0), None);
    assert_eq!(a.chart_zone(500.0, 5.0), None);
}
