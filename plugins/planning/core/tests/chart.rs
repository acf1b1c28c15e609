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
