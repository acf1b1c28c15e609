//! The recommendation narrows the novice's spread of achieved margins to the expert's,
//! on 20 generated phantom tumours (error model in `variability`).

use std::path::Path;

use isotherm_planning_core::antenna::Antenna;
use isotherm_planning_core::variability::study;

#[test]
fn the_recommendation_narrows_the_novice_spread_to_the_experts() {
    let a = Antenna::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../assets/antennas/emprint.toml")).unwrap();
    let s = study(&a, 100..300, isotherm_phantom::Size::Demo, 20, 30).unwrap();
    assert_eq!(s.tumours, 20, "20 tumours one zone can cover");
    let arm = |op: &str, rec: bool| s.arms.iter().find(|a| a.operator == op && a.recommended == rec).unwrap();
    let (novice, expert, novice_rec) = (arm("novice", false), arm("expert", false), arm("novice", true));
    for a in &s.arms {
        eprintln!("{} {}: mean {:.2} mm, spread {:.2} mm, {:.0} % reach 5 mm", a.operator, if a.recommended { "with" } else { "without" }, a.mean(), a.spread(), a.reaching_5mm());
        assert_eq!(a.margins.len(), 20 * 30);
    }
    assert!(novice.spread() > 1.3 * expert.spread(), "the novice's spread is wider without: {:.2} vs {:.2}", novice.spread(), expert.spread());
    assert!(novice_rec.spread() <= expert.spread(), "with the recommendation the novice's spread {:.2} mm is the expert's {:.2} mm or less", novice_rec.spread(), expert.spread());
    assert!(novice_rec.reaching_5mm() > novice.reaching_5mm());
}
